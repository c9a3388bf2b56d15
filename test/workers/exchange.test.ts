// The exchange inside workerd, through the real Worker entry (SELF): D1 audit and secrets, the replay
// Durable Object, KV, and the fixture policy set. The test issuer's keys come from the vitest config.
import { createExecutionContext, env, SELF } from 'cloudflare:test';
import { compactVerify, createLocalJWKSet, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../../broker/entry/worker.ts';
import { D1AuditStore, D1CheckpointStore, D1SecretStore } from '../../broker/entry/workers/d1.ts';
import { createWorkerHandler } from '../../broker/entry/workers/handler.ts';
import { readAll, verifyChain } from '../../broker/src/audit/chain.ts';
import { importKek } from '../../broker/src/store/envelope.ts';
import { SecretVault } from '../../broker/src/store/secrets.ts';

const BROKER = 'https://broker.test';
const AUDIENCE = 'https://broker.test';
const SECRET_VALUE = 'postgres://app:s3cret@db.internal/app';
const CLAIMS = { sub: 'repo:acme/app:ref:refs/heads/main', repository_id: '42', repository_owner_id: '7', ref: 'refs/heads/main' };
const REQUEST_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Request ids of every exchange request sent, to match against the audit log. */
const exchangeRequestIds: string[] = [];

let signingKey: CryptoKey;
let kid: string;

beforeAll(async () => {
  const jwk = JSON.parse(env.TEST_ISSUER_JWK) as JWK & { kid: string };
  kid = jwk.kid;
  signingKey = (await importJWK(jwk, 'RS256')) as CryptoKey;
  // The secret the app-secret role grants, stored the way `secret put` does, under the Worker's own KEK.
  const vault = new SecretVault(new D1SecretStore(env.DB), { current: await importKek(env.BROKER_KEK) });
  await vault.put('APP_TOKEN', SECRET_VALUE, Math.floor(Date.now() / 1000));
});

async function sign(overrides: JWTPayload = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = {
    iss: env.TEST_ISSUER_URL,
    aud: AUDIENCE,
    iat: now,
    nbf: now,
    exp: now + 300,
    jti: crypto.randomUUID(),
    ...CLAIMS,
    ...overrides,
  };
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(signingKey);
}

/** Every response the broker gives carries these, whatever the outcome. */
function expectCommonHeaders(res: Response): string {
  expect(res.headers.get('cache-control')).toBe('no-store');
  const id = res.headers.get('x-request-id');
  expect(id).toMatch(REQUEST_ID);
  return id!;
}

async function post(init: RequestInit): Promise<Response> {
  const res = await SELF.fetch(`${BROKER}/v1/exchange`, { method: 'POST', ...init });
  exchangeRequestIds.push(expectCommonHeaders(res));
  return res;
}

function exchange(token: string, role = 'app-secret'): Promise<Response> {
  return post({
    headers: { 'content-type': 'application/json', 'cf-connecting-ip': '203.0.113.7', 'user-agent': 'workers-test' },
    body: JSON.stringify({ token, role }),
  });
}

async function errorOf(res: Response): Promise<{ error: string; message: string; request_id: string }> {
  return (await res.json()) as { error: string; message: string; request_id: string };
}

describe('the Worker', () => {
  it('answers /healthz with the bundled policy hash', async () => {
    const res = await SELF.fetch(`${BROKER}/healthz`);
    expectCommonHeaders(res);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', policy_hash: env.TEST_POLICY_HASH });
  });

  it('publishes the broker issuer: discovery at BROKER_PUBLIC_URL and a signing key in the JWKS (D1)', async () => {
    const disc = (await (await SELF.fetch(`${BROKER}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(disc).toMatchObject({ issuer: 'https://broker.example.com', jwks_uri: 'https://broker.example.com/.well-known/jwks.json' });
    const first = (await (await SELF.fetch(`${BROKER}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string; kty: string; d?: string }[];
    };
    expect(first.keys.length).toBeGreaterThanOrEqual(1);
    expect(first.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(first.keys[0]!.d).toBeUndefined();
    const again = (await (await SELF.fetch(`${BROKER}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(again.keys.map((k) => k.kid)).toEqual(first.keys.map((k) => k.kid));
  });

  it('returns the granted secret for an allowed token, once', async () => {
    const token = await sign();
    const res = await exchange(token);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { request_id: string; role: string; credentials: unknown[] };
    expect(body.request_id).toBe(res.headers.get('x-request-id'));
    expect(body.role).toBe('app-secret');
    expect(body.credentials).toEqual([{ type: 'secret', name: 'APP_TOKEN', env: 'APP_TOKEN', value: SECRET_VALUE, version: 1 }]);

    const again = await exchange(token);
    expect(again.status).toBe(401);
    expect((await errorOf(again)).error).toBe('ERR_TOKEN_REPLAYED');
  });

  it('lets exactly one of 20 concurrent copies of a token through', async () => {
    const token = await sign();
    const responses = await Promise.all(Array.from({ length: 20 }, () => exchange(token)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(19);
    for (const res of responses.filter((r) => r.status === 401)) expect((await errorOf(res)).error).toBe('ERR_TOKEN_REPLAYED');
    await Promise.all(responses.filter((r) => r.status === 200).map((r) => r.body?.cancel()));
  });

  it('refuses a token for another audience', async () => {
    const res = await exchange(await sign({ aud: 'https://elsewhere.test' }));
    expect(res.status).toBe(401);
    expect((await errorOf(res)).error).toBe('ERR_TOKEN_INVALID');
  });

  it('refuses an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const res = await exchange(await sign({ iat: now - 400, nbf: now - 400, exp: now - 100 }));
    expect(res.status).toBe(401);
    expect((await errorOf(res)).error).toBe('ERR_TOKEN_EXPIRED');
  });

  it('answers a denied role and an unknown role alike', async () => {
    const denied = await exchange(await sign(), 'app-denied');
    const unknown = await exchange(await sign(), 'no-such-role');
    expect([denied.status, unknown.status]).toEqual([403, 403]);
    const [a, b] = [await errorOf(denied), await errorOf(unknown)];
    expect(a.error).toBe('ERR_ACCESS_DENIED');
    expect({ ...a, request_id: '' }).toEqual({ ...b, request_id: '' });
    expect(a.request_id).not.toBe(b.request_id);
  });

  it('refuses an oversized body, declared or streamed in chunks', async () => {
    const kib = new Uint8Array(1024).fill(0x20);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 32) controller.enqueue(kib);
        else controller.close();
      },
    });
    const chunked = await post({ body: stream, headers: { 'content-type': 'application/json' } });
    expect(chunked.status).toBe(413);
    expect((await errorOf(chunked)).error).toBe('ERR_PAYLOAD_TOO_LARGE');

    const declared = await post({ body: ' '.repeat(17 * 1024), headers: { 'content-type': 'application/json' } });
    expect(declared.status).toBe(413);
    expect((await errorOf(declared)).error).toBe('ERR_PAYLOAD_TOO_LARGE');
  });

  it('answers unknown routes with the same headers', async () => {
    const res = await SELF.fetch(`${BROKER}/nope`);
    expectCommonHeaders(res);
    expect(res.status).toBe(404);
  });

  // Last: every exchange request above must have left exactly one record, in an unbroken chain.
  it('audits every exchange request once, in a chain that verifies', async () => {
    const entries = [];
    for await (const entry of readAll(new D1AuditStore(env.DB), 7)) entries.push(entry);
    expect(await verifyChain(entries)).toMatchObject({ ok: true, count: entries.length });

    const records = entries.map((e) => JSON.parse(e.record) as Record<string, unknown>);
    expect(records.map((r) => r.request_id).sort()).toEqual([...exchangeRequestIds].sort());
    expect(records.every((r) => r.action === 'exchange')).toBe(true);
    expect(records.filter((r) => r.decision === 'allow')).toHaveLength(2);
    const allowed = records.find((r) => r.decision === 'allow')!;
    expect(allowed).toMatchObject({
      client_ip: '203.0.113.7',
      user_agent: 'workers-test',
      role: 'app-secret',
      policy_hash: env.TEST_POLICY_HASH,
    });
    // Never a token or a minted value in the log.
    expect(JSON.stringify(records)).not.toContain(SECRET_VALUE);
  });
});

describe('audit checkpoints on Workers', () => {
  it('the cron trigger signs the chain head with the broker key, in D1', async () => {
    await (await exchange(await sign())).arrayBuffer();
    const pending: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => pending.push(p), passThroughOnException: () => {} };
    await worker.scheduled({}, env as never, ctx as never);
    await Promise.all(pending);
    const head = await new D1AuditStore(env.DB).head();
    const [latest] = await new D1CheckpointStore(env.DB).list({ descending: true, limit: 1 });
    expect(latest).toMatchObject({ seq: head!.seq, hash: head!.hash });
    const jwks = (await (await SELF.fetch(`${BROKER}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
    const { payload, protectedHeader } = await compactVerify(latest!.jws, createLocalJWKSet(jwks));
    expect(protectedHeader.typ).toBe('audit-checkpoint+jwt');
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({ seq: head!.seq, hash: head!.hash });
  });
});

describe('a Worker that cannot serve safely', () => {
  const ctx = () => createExecutionContext();

  async function expectRefusal(handler: ReturnType<typeof createWorkerHandler>, workerEnv: typeof env): Promise<void> {
    for (const [method, path] of [
      ['GET', '/healthz'],
      ['POST', '/v1/exchange'],
    ] as const) {
      const res = await handler.fetch(new Request(`${BROKER}${path}`, { method }), workerEnv, ctx());
      expect(res.status).toBe(503);
      expectCommonHeaders(res);
      expect((await errorOf(res)).error).toBe('ERR_UNAVAILABLE');
    }
  }

  it('refuses every request without BROKER_KEK, and says why in the log', async () => {
    const lines: Record<string, unknown>[] = [];
    const handler = createWorkerHandler([{ path: 'issuers.yaml', text: 'issuers:\n  a:\n    url: https://a.test\n    audience: x\n' }], {
      log: (l) => lines.push(l),
    });
    const { BROKER_KEK: _kek, ...withoutKek } = env;
    await expectRefusal(handler, withoutKek as typeof env);
    expect(JSON.stringify(lines)).toContain('BROKER_KEK is not set');
    expect(lines.filter((l) => l.event === 'broker.refusing_to_serve')).toHaveLength(1); // built once per isolate
  });

  it('refuses every request when the bundled policy does not load', async () => {
    const lines: Record<string, unknown>[] = [];
    const handler = createWorkerHandler([{ path: 'issuers.yaml', text: 'issuers: {}\nbogus: 1\n' }], { log: (l) => lines.push(l) });
    await expectRefusal(handler, env);
    expect(JSON.stringify(lines)).toContain('policy issuers.yaml:');
  });
});
