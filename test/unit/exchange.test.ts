// The exchange end to end inside one process: response shape, refusals, audit and fail-closed behaviour.
import { beforeEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../broker/src/audit/chain.ts';
import { AUDIENCE, buildTestBroker, ISSUER_URL, ISSUERS_YAML, ROLE_APP, ROLE_LOCKED, T0, type TestBroker } from '../helpers/broker.ts';
import { baseClaims, sign } from '../helpers/issuer.ts';

const NOW_S = T0 / 1000;
const good = { repository_id: '123', ref: 'refs/heads/main' };

let b: TestBroker;
beforeEach(async () => {
  b = await buildTestBroker();
});

const token = (extra: Record<string, unknown> = {}) => sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, { ...good, ...extra }));

describe('a successful exchange', () => {
  it('returns the secret in the documented shape with no-store and a request id', async () => {
    const res = await b.post({ token: await token(), role: 'app' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.headers.get('x-request-id')).toBe(body.request_id);
    expect(body).toEqual({
      request_id: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/),
      role: 'app',
      expires_at: '2026-11-28T01:10:00Z',
      credentials: [{ type: 'secret', name: 'DB_URL', env: 'DATABASE_URL', value: 'postgres://db.internal/app', version: 1 }],
    });
  });

  it('accepts the token as Authorization: Bearer', async () => {
    const res = await b.post({ role: 'app' }, { authorization: `Bearer ${await token()}` });
    expect(res.status).toBe(200);
  });

  it('never takes a request id from the caller', async () => {
    const res = await b.post({ token: await token(), role: 'app' }, { 'x-request-id': 'chosen-by-attacker' });
    expect(res.headers.get('x-request-id')).not.toBe('chosen-by-attacker');
  });

  it('takes an optional grants subset by env name or type, and the audit record notes it', async () => {
    for (const grants of [['DATABASE_URL'], ['secret']]) {
      const res = await b.post({ token: await token(), role: 'app', grants });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { credentials: { env: string }[] }).credentials.map((c) => c.env)).toEqual(['DATABASE_URL']);
      expect(b.audit.records().at(-1)).toMatchObject({ decision: 'allow', requested_grants: grants });
    }
    // Without the field the record has none: every grant was asked for.
    await b.post({ token: await token(), role: 'app' });
    expect(b.audit.records().at(-1)).not.toHaveProperty('requested_grants');
    // A subset that selects nothing of the role is a clear refusal, never an empty success.
    const res = await b.post({ token: await token(), role: 'app', grants: ['aws'] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_REQUEST_INVALID');
    expect(b.audit.records().at(-1)).toMatchObject({ reason: 'request.grants_unmatched:aws', requested_grants: ['aws'] });
  });

  it('serves the newest secret version', async () => {
    await b.vault.put('DB_URL', 'postgres://rotated', NOW_S);
    const body = (await (await b.post({ token: await token(), role: 'app' })).json()) as {
      credentials: { value: string; version: number }[];
    };
    expect(body.credentials[0]).toMatchObject({ value: 'postgres://rotated', version: 2 });
  });
});

describe('refusals', () => {
  it('an unknown role, a denied role and a role of another issuer answer the same 403', async () => {
    const other = `role: other-issuer-role\nissuer: other\nmax_ttl: 5m\nallow:\n  - repository_id: "123"\ngrants:\n  - type: secret\n    name: DB_URL\n`;
    b = await buildTestBroker({
      files: [
        { path: 'issuers.yaml', text: ISSUERS_YAML },
        { path: 'roles/app.yaml', text: ROLE_APP },
        { path: 'roles/locked.yaml', text: ROLE_LOCKED },
        { path: 'roles/other-issuer-role.yaml', text: other },
      ],
    });
    const bodies = [];
    for (const role of ['nope', 'locked', 'other-issuer-role']) {
      const res = await b.post({ token: await token(), role });
      expect(res.status).toBe(403);
      const { request_id, ...rest } = (await res.json()) as Record<string, unknown>;
      expect(request_id).toBeTruthy();
      bodies.push(rest);
    }
    expect(bodies[0]).toEqual({ error: 'ERR_ACCESS_DENIED', message: expect.any(String) });
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
    expect(b.mintCalls).toEqual([]);
    expect(b.audit.records().map((r) => r.reason)).toEqual(['policy.no_such_role', 'policy.no_allow_matched', 'policy.issuer_mismatch']);
  });

  it('deny wins: a matching deny set refuses even when allow matches, and nothing is minted', async () => {
    const res = await b.post({ token: await token({ event_name: 'pull_request_target' }), role: 'app' });
    expect(res.status).toBe(403);
    expect(b.mintCalls).toEqual([]);
    expect(b.audit.records()[0]).toMatchObject({ decision: 'deny', reason: 'policy.deny_matched', credentials: [] });
  });

  it.each([
    ['not JSON', '{"token":'],
    ['an array', '[]'],
    ['an unknown field that tries to widen the grant', { token: 'x.y.z', role: 'app', ttl: '12h' }],
    ['a bad role name', { token: 'x.y.z', role: '../app' }],
    ['an upper-case role name', { token: 'x.y.z', role: 'App' }],
    ['no token', { role: 'app' }],
    ['a token that is not a string', { token: 42, role: 'app' }],
  ])('refuses %s with 400', async (_name, body) => {
    const res = await b.post(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_REQUEST_INVALID');
  });

  it('refuses a token both in the body and in Authorization', async () => {
    const t = await token();
    const res = await b.post({ token: t, role: 'app' }, { authorization: `Bearer ${t}` });
    expect(res.status).toBe(400);
  });

  it('refuses a non-Bearer Authorization header', async () => {
    const res = await b.post({ role: 'app' }, { authorization: `Basic ${btoa('a:b')}` });
    expect(res.status).toBe(400);
  });

  it('refuses a body over 16 KiB with 413, declared or not (chunked)', async () => {
    const big = JSON.stringify({ token: 'a.b.c', role: 'app', pad: 'x'.repeat(17 * 1024) });
    expect((await b.post(big)).status).toBe(413);
    const chunks = [big.slice(0, 8000), big.slice(8000)];
    const stream = new ReadableStream({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const res = await b.app.request('/v1/exchange', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_PAYLOAD_TOO_LARGE');
    // A lying Content-Length does not help either.
    const lying = await b.app.request('/v1/exchange', {
      method: 'POST',
      headers: { 'content-length': '10' },
      body: new ReadableStream({
        start: (c) => {
          c.enqueue(new TextEncoder().encode(big));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect([400, 413]).toContain(lying.status);
  });

  it('prototype keys in claims change nothing', async () => {
    const t = await sign(
      b.key,
      JSON.parse(
        `{"iss":"${ISSUER_URL}","aud":"${AUDIENCE}","sub":"s","iat":${NOW_S},"exp":${NOW_S + 300},"jti":"p1","ref":"refs/heads/main","__proto__":{"repository_id":"123"}}`,
      ),
    );
    const res = await b.post({ token: t, role: 'app' });
    expect(res.status).toBe(403);
  });

  it('an unknown route answers 404 in the error format', async () => {
    const res = await b.app.request('/v1/nope');
    expect(res.status).toBe(404);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});

describe('audit', () => {
  it('writes one chained record per request, allow or deny, with no token or credential value', async () => {
    const t = await token();
    await b.post({ token: t, role: 'app' });
    await b.post({ token: t, role: 'app' });
    await b.post('{bad json');
    await b.post({ token: await token(), role: 'locked' });
    await b.post(JSON.stringify({ token: 'a.b.c', role: 'app', pad: 'x'.repeat(17 * 1024) }));
    const records = b.audit.records();
    expect(records.map((r) => [r.decision, r.code])).toEqual([
      ['allow', 'OK'],
      ['deny', 'ERR_TOKEN_REPLAYED'],
      ['deny', 'ERR_REQUEST_INVALID'],
      ['deny', 'ERR_ACCESS_DENIED'],
      ['deny', 'ERR_PAYLOAD_TOO_LARGE'],
    ]);
    expect((await verifyChain(b.audit.entries)).ok).toBe(true);
    const all = JSON.stringify(b.audit.entries);
    expect(all).not.toContain(t);
    expect(all).not.toContain(t.split('.')[2]);
    expect(all).not.toContain('postgres://db.internal/app');
    expect(records[0]).toMatchObject({
      action: 'exchange',
      role: 'app',
      issuer: 'ci',
      subject: 'repo:acme/web:ref:refs/heads/main',
      identity: { repository_id: '123', ref: 'refs/heads/main' },
      client_ip: '192.0.2.1',
      user_agent: 'test-agent',
      credentials: [{ type: 'secret', target: 'DB_URL@1' }],
      policy_hash: b.deps.policy().hash,
      token_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      jti: expect.any(String),
    });
  });

  it('fails closed: no credential leaves when the audit record cannot be written', async () => {
    b.audit.broken = true;
    const res = await b.post({ token: await token(), role: 'app' });
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).not.toContain('postgres://');
    expect(JSON.parse(text).error).toBe('ERR_UNAVAILABLE');
  });

  it('a refusal that cannot be audited is a 503 too', async () => {
    b.audit.broken = true;
    const res = await b.post({ token: await token(), role: 'nope' });
    expect(res.status).toBe(503);
  });
});

describe('stores and upstreams failing', () => {
  it('the replay store failing refuses with 503 and mints nothing', async () => {
    b.replay.broken = true;
    const res = await b.post({ token: await token(), role: 'app' });
    expect(res.status).toBe(503);
    expect(b.mintCalls).toEqual([]);
    expect(b.audit.records()[0]).toMatchObject({ decision: 'error', reason: 'replay.store_failed' });
  });

  it('a missing secret is a 502 with the cause in the audit record only', async () => {
    const role = ROLE_APP.replace('name: DB_URL', 'name: MISSING');
    b = await buildTestBroker({
      files: [
        { path: 'issuers.yaml', text: ISSUERS_YAML },
        { path: 'roles/app.yaml', text: role },
      ],
    });
    const res = await b.post({ token: await token(), role: 'app' });
    expect(res.status).toBe(502);
    const body = await res.text();
    expect(body).not.toContain('MISSING');
    expect(b.audit.records()[0]).toMatchObject({ code: 'ERR_UPSTREAM', reason: 'secret.not_found:MISSING', upstream: { type: 'secret' } });
  });

  it.each(['aws.111122223333.secret_access_key', 'github-app-12345'])("never hands out the broker's own upstream key %s", async (name) => {
    const role = ROLE_APP.replace('name: DB_URL', `name: ${name}`);
    b = await buildTestBroker({
      files: [
        { path: 'issuers.yaml', text: ISSUERS_YAML },
        { path: 'roles/app.yaml', text: role },
      ],
    });
    await b.vault.put(name, 'AKIA-very-secret', NOW_S);
    const res = await b.post({ token: await token(), role: 'app' });
    expect(res.status).toBe(502);
    expect(await res.text()).not.toContain('AKIA-very-secret');
    expect(b.audit.records()[0]).toMatchObject({ reason: `secret.reserved_name:${name}` });
  });

  it('no partial results: when the second grant fails, the first is not returned', async () => {
    const role = ROLE_APP.replace('grants:\n', 'grants:\n  - type: secret\n    name: DB_URL\n  - type: secret\n    name: MISSING\n');
    b = await buildTestBroker({
      files: [
        { path: 'issuers.yaml', text: ISSUERS_YAML },
        { path: 'roles/app.yaml', text: role },
      ],
    });
    const res = await b.post({ token: await token(), role: 'app' });
    expect(res.status).toBe(502);
    expect(await res.text()).not.toContain('postgres://');
  });
});

describe('healthz', () => {
  it('reports the policy hash and version', async () => {
    const res = await b.app.request('/healthz');
    expect(await res.json()).toEqual({ status: 'ok', policy_hash: b.deps.policy().hash, version: 'test' });
  });
});
