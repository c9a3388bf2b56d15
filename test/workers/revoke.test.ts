// POST /v1/revoke on D1 inside workerd: ownership checked atomically by D1RevocationStore (one DELETE ...
// WHERE request_id AND owner RETURNING), and "not yours" answering like "nothing there" through the real
// Worker. The Node adapters run the same checks in test/unit/security/revoke.test.ts.
import { env, SELF } from 'cloudflare:test';
import { importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { D1RevocationStore } from '../../broker/entry/workers/d1-issuer.ts';
import { generateKekBase64, importKek } from '../../broker/src/store/envelope.ts';
import { RevocationVault } from '../../broker/src/store/revocations.ts';
import { withLatency } from '../helpers/latency.ts';

const NOW = Math.floor(Date.now() / 1000);
const ITEMS = [{ type: 'github', data: { api_url: 'https://api.github.test', token: 'ghs_owned' } }];
const CLAIMS = {
  sub: 'repo:acme/app:ref:refs/heads/main',
  repository_id: '42',
  repository_owner_id: '7',
  ref: 'refs/heads/main',
  run_id: '77',
};

describe('D1RevocationStore', () => {
  it('ownership is checked atomically in the store: a foreign revoke racing the owner cannot make it find nothing', async () => {
    const { store, executed } = withLatency(new D1RevocationStore(env.SCRATCH_DB), 40);
    const vault = new RevocationVault(store, { current: await importKek(generateKekBase64()) });
    const id = '01JD1RACE00000000000000001';
    await vault.save(id, 'owner', NOW + 600, ITEMS, NOW);
    const foreign = vault.take(id, 'stranger');
    await executed;
    expect(await vault.take(id, 'owner')).toEqual({ status: 'ok', items: ITEMS });
    expect((await foreign).status).not.toBe('ok');
    expect((await vault.take(id, 'owner')).status).toBe('none');
  });

  it('ownership is checked atomically in the store: a foreign take neither returns nor disturbs the entry', async () => {
    const store = new D1RevocationStore(env.SCRATCH_DB);
    const id = '01JD1TAKE00000000000000001';
    await store.put({ request_id: id, owner: 'owner', expires_at: NOW + 600, kek_id: 'k', wrapped_key: 'w', iv: 'i', ciphertext: 'c' });
    for (const owner of ['stranger', '', 'OWNER', `owner' OR '1'='1`]) expect(await store.take(id, owner)).toBeNull();
    expect(await store.has(id)).toBe(true);
    expect(await store.take(id, 'owner')).toMatchObject({ request_id: id, owner: 'owner' });
    expect([await store.has(id), await store.take(id, 'owner')]).toEqual([false, null]);
  });
});

describe('POST /v1/revoke in the Worker', () => {
  let signingKey: CryptoKey;
  let kid: string;
  beforeAll(async () => {
    const jwk = JSON.parse(env.TEST_ISSUER_JWK) as JWK & { kid: string };
    kid = jwk.kid;
    signingKey = (await importJWK(jwk, 'RS256')) as CryptoKey;
  });
  const sign = (overrides: JWTPayload = {}) => {
    const payload = {
      iss: env.TEST_ISSUER_URL,
      aud: 'https://broker.test',
      iat: NOW,
      nbf: NOW,
      exp: NOW + 300,
      jti: crypto.randomUUID(),
      ...CLAIMS,
      ...overrides,
    };
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(signingKey);
  };
  const revoke = async (requestId: string) => {
    const res = await SELF.fetch('https://broker.test/v1/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: await sign(), request_id: requestId }),
    });
    const body = (await res.json()) as Record<string, unknown>;
    const { request_id: _id, revoked_request_id: target, ...rest } = body;
    expect(target).toBe(requestId);
    return { status: res.status, type: res.headers.get('content-type'), keys: Object.keys(body).sort(), rest };
  };

  it('"not yours" and "nothing there" answer identically (status and body)', async () => {
    // An entry some other job left: this caller's identity hashes to something else.
    const foreign = '01JD1F0RE1GN00000000000001';
    await env.DB.prepare(
      'INSERT INTO revocations (request_id, owner, expires_at, kek_id, wrapped_key, iv, ciphertext) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
      .bind(foreign, 'f'.repeat(64), NOW + 600, 'k', 'w', 'i', 'c')
      .run();
    const a = await revoke(foreign);
    const b = await revoke('01JD1M1SS1NG00000000000001');
    expect(a).toEqual(b);
    expect([a.status, a.rest]).toEqual([200, { revoked: [] }]);
    // Still there for its owner; and the audit log tells the two apart.
    expect(await env.DB.prepare('SELECT owner FROM revocations WHERE request_id = ?').bind(foreign).first()).toEqual({
      owner: 'f'.repeat(64),
    });
    const { results } = await env.DB.prepare('SELECT record FROM audit ORDER BY seq DESC LIMIT 2').all<{ record: string }>();
    const reasons = results.map((r) => JSON.parse(r.record) as { reason: string; decision: string }).map((r) => [r.decision, r.reason]);
    expect(reasons).toEqual([
      ['allow', 'done'],
      ['deny', 'revoke.not_owner'],
    ]);
  });
});
