import { describe, expect, it } from 'vitest';
import { hasRevocable, parseExchangeResponse } from '../../../client/credentials.ts';

const base = { request_id: 'r', role: 'deploy', expires_at: '2030-01-01T00:00:00Z' };

describe('parseExchangeResponse', () => {
  it('accepts the five documented types; a secret without env uses its name', () => {
    const credentials = [
      { type: 'aws', access_key_id: 'a', secret_access_key: 'b', session_token: 'c', region: 'us-east-1' },
      { type: 'azure', access_token: 'x', tenant_id: 't' },
      { type: 'gcp', access_token: 'y' },
      { type: 'github', token: 'z', repositories: ['web'], permissions: { contents: 'read' } },
      { type: 'secret', name: 'DB', value: 'v', version: 2 },
    ];
    const r = parseExchangeResponse({ ...base, credentials });
    expect(r.ok && r.response.credentials.at(-1)).toEqual({ type: 'secret', name: 'DB', env: 'DB', value: 'v', version: 2 });
    expect(r.ok && r.response.unknown_types).toEqual([]);
  });

  it('treats null as an absent optional field (a GCP grant without impersonation)', () => {
    const r = parseExchangeResponse({
      ...base,
      credentials: [{ type: 'gcp', access_token: 'y', expires_at: 't', service_account: null, project_id: null }],
    });
    expect(r.ok && r.response.credentials).toEqual([{ type: 'gcp', access_token: 'y', expires_at: 't' }]);
    expect(parseExchangeResponse({ ...base, credentials: [{ type: 'gcp', access_token: null }] })).toEqual({
      ok: false,
      reason: 'credentials[0] (gcp): "access_token" is missing or not a string',
    });
  });

  it('keeps unknown types aside instead of failing (a newer broker)', () => {
    const r = parseExchangeResponse({ ...base, credentials: [{ type: 'ssh', key: 'k' }] });
    expect(r.ok && r.response).toMatchObject({ credentials: [], unknown_types: ['ssh'] });
  });

  it.each([
    [null, 'the body is not a JSON object'],
    [[], 'the body is not a JSON object'],
    [{ ...base, request_id: 1, credentials: [] }, '"request_id" is missing or not a string'],
    [{ ...base }, '"credentials" is missing or not a list'],
    [{ ...base, credentials: [{}] }, 'credentials[0] has no type'],
    [{ ...base, credentials: [{ type: 'github' }] }, 'credentials[0] (github): "token" is missing or not a string'],
    [
      { ...base, credentials: [{ type: 'aws', access_key_id: 'a', secret_access_key: 'b', region: 5 }] },
      'credentials[0] (aws): "region" is not a string',
    ],
    [{ ...base, credentials: [{ type: 'secret', name: 'n', value: 'v', env: ['x'] }] }, 'credentials[0] (secret): "env" is not a string'],
    [{ ...base, credentials: [{ type: '__proto__', value: 'v' }] }, undefined],
  ])('%j -> %s', (body, reason) => {
    const r = parseExchangeResponse(body);
    if (reason === undefined) expect(r.ok).toBe(true);
    else expect(r).toEqual({ ok: false, reason });
  });
});

describe('hasRevocable', () => {
  const of = (types: string[], unknown: string[] = []) =>
    hasRevocable({ credentials: types.map((type) => ({ type }) as never), unknown_types: unknown });
  it('is false only when every credential is of a known type that cannot be revoked early', () => {
    expect(of([])).toBe(false);
    expect(of(['aws', 'azure', 'gcp', 'secret'])).toBe(false);
    expect(of(['secret', 'github'])).toBe(true);
    // A type this client does not know may be revocable (a postgres lease): post still asks the broker.
    expect(of(['secret'], ['postgres'])).toBe(true);
  });
});
