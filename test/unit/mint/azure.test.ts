// The azure minter against a fake Entra token endpoint that verifies the broker's client assertion the way
// Entra does (federated credential match, signature from the broker's published JWKS over HTTP, expiry),
// with a frozen clock shared by the broker, the fake and the assertion.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerIssuer } from '../../../broker/src/issuer/issuer.ts';
import { AZURE_FEDERATED_AUDIENCE, createAzureMinter } from '../../../broker/src/mint/azure.ts';
import type { CloudMintDeps } from '../../../broker/src/mint/broker-token.ts';
import type { MintContext } from '../../../broker/src/mint/types.ts';
import type { CompiledRole } from '../../../broker/src/policy/compile.ts';
import { grantSchema, type GrantOf } from '../../../broker/src/policy/schema.ts';
import { startFakeEntra, type ServedFakeEntra } from '../../fakes/azure.ts';
import { serveBrokerIssuer, type ServedIssuer } from '../../helpers/broker-issuer.ts';

const T0 = Date.UTC(2026, 10, 28, 1, 0, 0);
const NOW_S = T0 / 1000;
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0c3e2b6a-1f0e-4c4d-9a55-3f5b8d2c7e11';
const SCOPE = 'https://management.azure.com/.default';
const TIMEOUT_MS = 300;

let broker: ServedIssuer;
let entra: ServedFakeEntra;
const fetchCalls: string[] = [];
const countingFetch: CloudMintDeps['fetch'] = (input, init) => {
  fetchCalls.push(String(input instanceof Request ? input.url : input));
  return fetch(input, init);
};

beforeAll(async () => {
  broker = await serveBrokerIssuer({ now: T0 });
  entra = await startFakeEntra({
    apps: [
      { tenant_id: TENANT, client_id: CLIENT, federated: [{ issuer: broker.url, subject: 'role:deploy' }] },
      { tenant_id: TENANT, client_id: 'other-subject', federated: [{ issuer: broker.url, subject: 'role:someone-else' }] },
      {
        tenant_id: TENANT,
        client_id: 'other-issuer',
        federated: [{ issuer: 'https://token.actions.githubusercontent.com', subject: 'role:deploy' }],
      },
      {
        tenant_id: TENANT,
        client_id: 'other-audience',
        federated: [{ issuer: broker.url, subject: 'role:deploy', audience: 'api://custom' }],
      },
    ],
    now: () => broker.clock.now,
  });
});
afterAll(async () => {
  await entra.close();
  await broker.close();
});
afterEach(() => {
  entra.mode = 'ok';
  broker.clock.now = T0;
  fetchCalls.length = 0;
});

function deps(over: Partial<CloudMintDeps> = {}): CloudMintDeps {
  return { fetch: countingFetch, issuer: broker.issuer, timeoutMs: TIMEOUT_MS, secrets: { get: async () => null }, ...over };
}

function grant(over: Record<string, unknown> = {}): GrantOf<'azure'> {
  return grantSchema.parse({
    type: 'azure',
    tenant_id: TENANT,
    client_id: CLIENT,
    scope: SCOPE,
    authority_host: entra.url,
    ...over,
  }) as GrantOf<'azure'>;
}

function ctx(maxTtl = 900): MintContext {
  const role = { name: 'deploy', maxTtl } as CompiledRole;
  return {
    role,
    claims: {
      iss: 'https://token.actions.githubusercontent.com',
      sub: 'repo:acme/web:ref:refs/heads/main',
      repository: 'acme/web',
      repository_id: '123456',
      ref: 'refs/heads/main',
      run_id: '42',
    },
    issuer: 'github',
    requestId: '01JD0000000000000000000000',
    now: NOW_S,
    maxTtl,
  };
}

const iso = (s: number) => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('azure minter: success', () => {
  it('returns the documented credential, bounded by max_ttl, with Entra’s real expiry in the audit summary', async () => {
    const result = await createAzureMinter(deps()).mint(grant(), ctx(900));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.keys(result.credential).sort()).toEqual(['access_token', 'client_id', 'expires_at', 'scope', 'tenant_id', 'type']);
    expect(result.credential).toMatchObject({
      type: 'azure',
      tenant_id: TENANT,
      client_id: CLIENT,
      scope: SCOPE,
      expires_at: iso(NOW_S + 900),
    });
    expect(entra.issued.get(result.credential.access_token as string)).toMatchObject({
      tenant_id: TENANT,
      client_id: CLIENT,
      scope: SCOPE,
    });
    expect(result.summary).toEqual({ type: 'azure', target: `${TENANT}/${CLIENT}`, expires_at: iso(NOW_S + 3599) });
    expect(result.revocation).toBeUndefined();
  });

  it('presents a broker token for api://AzureADTokenExchange with sub role:<role> that the fake verified', async () => {
    const before = entra.assertions.length;
    const result = await createAzureMinter(deps()).mint(grant(), ctx());
    expect(result.ok).toBe(true);
    const seen = entra.assertions.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.payload).toMatchObject({ iss: broker.url, sub: 'role:deploy', aud: AZURE_FEDERATED_AUDIENCE, repository_id: '123456' });
    expect(seen[0]?.header.alg).toBe('RS256');
    expect((seen[0]?.payload.exp as number) - (seen[0]?.payload.iat as number)).toBeLessThanOrEqual(300);
    // The fake fetched the broker's discovery and JWKS, then Entra's token endpoint was the only other call.
    expect(fetchCalls).toEqual([`${entra.url}/${TENANT}/oauth2/v2.0/token`]);
  });

  it('reports Entra’s expiry when it comes before max_ttl', async () => {
    const short = await startFakeEntra({
      apps: [{ tenant_id: TENANT, client_id: CLIENT, federated: [{ issuer: broker.url, subject: 'role:deploy' }] }],
      now: () => broker.clock.now,
      expiresIn: 600,
    });
    try {
      const result = await createAzureMinter(deps()).mint(grant({ authority_host: short.url }), ctx(3600));
      expect(result.ok && result.credential.expires_at).toBe(iso(NOW_S + 600));
      expect(result.ok && result.summary.expires_at).toBe(iso(NOW_S + 600));
    } finally {
      await short.close();
    }
  });

  it('never claims an expiry past max_ttl, whatever max_ttl is', async () => {
    for (const maxTtl of [60, 900, 3599, 3600, 12 * 3600]) {
      const result = await createAzureMinter(deps()).mint(grant(), ctx(maxTtl));
      expect(result.ok).toBe(true);
      if (!result.ok) continue;
      expect(Date.parse(result.credential.expires_at as string) / 1000).toBe(Math.min(NOW_S + maxTtl, NOW_S + 3599));
    }
  });

  it('accepts an authority host with a trailing slash', async () => {
    const result = await createAzureMinter(deps()).mint(grant({ authority_host: `${entra.url}/` }), ctx());
    expect(result.ok).toBe(true);
  });
});

describe('azure minter: Entra refusals keep their AADSTS code', () => {
  it.each([
    ['an unknown tenant', { tenant_id: '00000000-0000-0000-0000-000000000000' }, 'AADSTS90002'],
    ['an unknown app', { client_id: 'no-such-app' }, 'AADSTS700016'],
    ['a federated credential for another subject', { client_id: 'other-subject' }, 'AADSTS700213'],
    ['a federated credential for another issuer', { client_id: 'other-issuer' }, 'AADSTS700211'],
    ['a federated credential for another audience', { client_id: 'other-audience' }, 'AADSTS700212'],
    ['a scope without /.default', { scope: 'https://management.azure.com/user_impersonation' }, 'AADSTS1002012'],
  ])('%s', async (_name, over, code) => {
    const result = await createAzureMinter(deps()).mint(grant(over), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', upstream_code: code });
  });

  it('an assertion Entra sees as expired (clocks apart) is AADSTS700024', async () => {
    const fake = await startFakeEntra({
      apps: [{ tenant_id: TENANT, client_id: CLIENT, federated: [{ issuer: broker.url, subject: 'role:deploy' }] }],
      now: () => T0 + 10 * 60_000,
    });
    try {
      const result = await createAzureMinter(deps()).mint(grant({ authority_host: fake.url }), ctx());
      expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', upstream_code: 'AADSTS700024' });
    } finally {
      await fake.close();
    }
  });

  it('a 403 with Entra’s error body is ERR_UPSTREAM with the AADSTS code', async () => {
    entra.mode = { error: 'conditionalAccess', status: 403 };
    const result = await createAzureMinter(deps()).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', upstream_code: 'AADSTS53003' });
    expect(!result.ok && result.detail).toMatch(/^azure\.token_http_403:/);
  });
});

describe('azure minter: upstream failures', () => {
  it('gives up at the deadline when Entra hangs', async () => {
    entra.mode = 'hang';
    const started = performance.now();
    const result = await createAzureMinter(deps()).mint(grant(), ctx());
    const elapsed = performance.now() - started;
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM' });
    expect(!result.ok && result.detail).toMatch(/^azure\.token_timeout/);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 4000);
  });

  it('refuses malformed JSON', async () => {
    entra.mode = 'malformed';
    const result = await createAzureMinter(deps()).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail: 'azure.token_malformed' });
  });

  const stub =
    (status: number, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): CloudMintDeps['fetch'] =>
    async () =>
      new Response(body, { status, headers });

  it.each([
    ['lower-case token_type', { token_type: 'bearer', expires_in: 3599, access_token: 'x' }],
    ['another token_type', { token_type: 'pop', expires_in: 3599, access_token: 'x' }],
    ['no access_token', { token_type: 'Bearer', expires_in: 3599 }],
    ['an empty access_token', { token_type: 'Bearer', expires_in: 3599, access_token: '' }],
    ['an access_token with whitespace', { token_type: 'Bearer', expires_in: 3599, access_token: 'a b' }],
    ['expires_in as a string (v1 endpoint)', { token_type: 'Bearer', expires_in: '3599', access_token: 'x' }],
    ['a zero expires_in', { token_type: 'Bearer', expires_in: 0, access_token: 'x' }],
    ['a negative expires_in', { token_type: 'Bearer', expires_in: -5, access_token: 'x' }],
    ['an array', [{ token_type: 'Bearer', expires_in: 3599, access_token: 'x' }]],
    ['null', null],
  ])('refuses a 200 with %s', async (_name, body) => {
    const result = await createAzureMinter(deps({ fetch: stub(200, JSON.stringify(body)) })).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail: 'azure.token_malformed' });
  });

  it('refuses an HTML page with 200', async () => {
    const result = await createAzureMinter(deps({ fetch: stub(200, '<html>sign in</html>', { 'content-type': 'text/html' }) })).mint(
      grant(),
      ctx(),
    );
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail: 'azure.token_malformed' });
  });

  it('names the HTTP status when an error has no Entra body', async () => {
    const result = await createAzureMinter(deps({ fetch: stub(502, '<html>Bad Gateway</html>', { 'content-type': 'text/html' }) })).mint(
      grant(),
      ctx(),
    );
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', upstream_code: 'HTTP_502' });
  });

  it('falls back to the AADSTS code in error_description, then to error', async () => {
    const fromDescription = await createAzureMinter(
      deps({
        fetch: stub(400, JSON.stringify({ error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' })),
      }),
    ).mint(grant(), ctx());
    expect(fromDescription).toMatchObject({ ok: false, upstream_code: 'AADSTS7000215' });
    const fromError = await createAzureMinter(deps({ fetch: stub(400, JSON.stringify({ error: 'invalid_request' })) })).mint(
      grant(),
      ctx(),
    );
    expect(fromError).toMatchObject({ ok: false, upstream_code: 'invalid_request' });
  });

  it('does not follow redirects', async () => {
    const result = await createAzureMinter(deps({ fetch: stub(302, '', { location: 'https://evil.example/token' }) })).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM' });
    expect(!result.ok && result.detail).toMatch(/^azure\.token_redirect/);
  });

  it('caps the response size', async () => {
    const huge = JSON.stringify({ token_type: 'Bearer', expires_in: 3599, access_token: 'x'.repeat(200_000) });
    const result = await createAzureMinter(deps({ fetch: stub(200, huge) })).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM' });
    expect(!result.ok && result.detail).toMatch(/^azure\.token_too_large/);
  });

  it('reports a network failure', async () => {
    const result = await createAzureMinter(deps()).mint(grant({ authority_host: 'http://127.0.0.1:1' }), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM' });
    expect(!result.ok && result.detail).toMatch(/^azure\.token_network/);
  });
});

describe('azure minter: refusals before any call', () => {
  it.each(['../common', 'a/b', 'tenant?x=1', 'tenant#frag', '.hidden', ''])('refuses tenant_id %j without a request', async (tenant) => {
    const g = { ...grant(), tenant_id: tenant };
    const result = await createAzureMinter(deps()).mint(g, ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail: 'azure.tenant_id_invalid' });
    expect(fetchCalls).toEqual([]);
  });

  it('is unavailable, not an upstream failure, when the broker cannot sign', async () => {
    const issuer = { sign: async () => Promise.reject(new Error('key store down')) } as unknown as BrokerIssuer;
    const result = await createAzureMinter(deps({ issuer })).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UNAVAILABLE' });
    expect(fetchCalls).toEqual([]);
  });
});
