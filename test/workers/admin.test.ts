// Remote administration inside workerd: the Worker (its real handler over D1 and the replay Durable Object)
// takes a secret sealed to its seal key over /v1/admin, an exchange then returns it; a value in clear, a seal
// for another name and a replayed seal are refused, as on Node (test/unit/security/admin-api.test.ts).
import { createExecutionContext, env } from 'cloudflare:test';
import { importJWK, SignJWT, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { createWorkerHandler } from '../../broker/entry/workers/handler.ts';
import { sealValue, type SealPublicKey } from '../../broker/src/admin/seal.ts';
import { utf8 } from '../../broker/src/util/encoding.ts';

const BROKER = 'https://broker.test';
const TOKEN = 'workers-admin-token-0123456789abcdef';
const VALUE = 'worker-remote-value-5e0c';
const FILES = [
  { path: 'issuers.yaml', text: `issuers:\n  local:\n    url: ${env.TEST_ISSUER_URL}\n    audience: ${BROKER}\n` },
  {
    path: 'roles/remote.yaml',
    text: 'role: remote\nissuer: local\nmax_ttl: 5m\nallow:\n  - repository_id: "42"\ngrants:\n  - type: secret\n    name: WORKER_REMOTE\n',
  },
];
const handler = createWorkerHandler(FILES, { log: () => {} });
const workerEnv = { ...env, DB: env.SCRATCH_DB, BROKER_ADMIN_TOKEN: TOKEN };

const call = (method: string, path: string, body?: unknown, token = TOKEN) =>
  handler.fetch(
    new Request(`${BROKER}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
    workerEnv,
    createExecutionContext(),
  );

async function seal(name: string): Promise<unknown> {
  const key = (await (await call('GET', '/v1/admin/seal-key')).json()) as SealPublicKey;
  return sealValue(key, name, utf8(VALUE), Math.floor(Date.now() / 1000));
}

async function exchangeValue(): Promise<string | undefined> {
  const jwk = JSON.parse(env.TEST_ISSUER_JWK) as JWK & { kid: string };
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    iss: env.TEST_ISSUER_URL,
    aud: BROKER,
    sub: 'repo:acme/app',
    repository_id: '42',
    jti: crypto.randomUUID(),
  })
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' })
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(await importJWK(jwk, 'RS256'));
  const res = await handler.fetch(
    new Request(`${BROKER}/v1/exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, role: 'remote' }),
    }),
    workerEnv,
    createExecutionContext(),
  );
  const body = (await res.json()) as { credentials?: { type: string; value?: string }[] };
  return body.credentials?.find((c) => c.type === 'secret')?.value;
}

describe('Worker remote administration', () => {
  it('secret put over /v1/admin (sealed) then an exchange returns the value, inside workerd', async () => {
    const sealed = await seal('WORKER_REMOTE');
    const res = await call('PUT', '/v1/admin/secrets/WORKER_REMOTE', { sealed });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await exchangeValue()).toBe(VALUE);
    // The same seal again is a replay (the Durable Object remembers it).
    expect((await call('PUT', '/v1/admin/secrets/WORKER_REMOTE', { sealed })).status).toBe(401);
  });

  it('the Worker refuses a wrong admin token, a value in clear and a seal made for another name', async () => {
    expect((await call('GET', '/v1/admin/secrets', undefined, `${TOKEN}x`)).status).toBe(401);
    expect((await call('PUT', '/v1/admin/secrets/WORKER_REMOTE', { value: VALUE })).status).toBe(400);
    expect((await call('PUT', '/v1/admin/secrets/WORKER_REMOTE', { sealed: await seal('OTHER') })).status).toBe(400);
    const list = await (await call('GET', '/v1/admin/secrets')).text();
    expect(list).not.toContain(VALUE);
  });
});
