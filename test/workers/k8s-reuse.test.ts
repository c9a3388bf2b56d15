// Kubernetes service-account tokens inside workerd, through the Worker's real handler (D1, the replay
// Durable Object): an issuer with inline JWKS and `replay: reuse` lets the token that first presented a jti
// present it again, each use audited with its count; another token with that jti is refused, and the
// pointer conditions bind namespace and service account, as on Node (test/unit/security/k8s-reuse.test.ts).
import { createExecutionContext, env } from 'cloudflare:test';
import { importJWK, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { D1SecretStore } from '../../broker/entry/workers/d1.ts';
import { createWorkerHandler } from '../../broker/entry/workers/handler.ts';
import { importKek } from '../../broker/src/store/envelope.ts';
import { SecretVault } from '../../broker/src/store/secrets.ts';

const BROKER = 'https://broker.test';
const CLUSTER = 'https://kubernetes.default.svc.cluster.local';
const SECRET = 'k8s-reuse-value-7f31';

const privateJwk = JSON.parse(env.TEST_ISSUER_JWK) as JWK & { kid: string };
const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = privateJwk;

const FILES = [
  {
    path: 'issuers.yaml',
    text: `issuers:
  cluster:
    url: ${CLUSTER}
    audience: ${BROKER}
    kind: kubernetes
    replay: reuse
    max_token_age: 1h
    max_token_lifetime: 2h
    algorithms: [RS256]
    jwks:
      keys:
        - ${JSON.stringify({ ...publicJwk, use: 'sig', alg: 'RS256' })}
`,
  },
  {
    path: 'roles/payments-api.yaml',
    text: `role: payments-api
issuer: cluster
max_ttl: 10m
allow:
  - /kubernetes.io/namespace: payments
    /kubernetes.io/serviceaccount/name: api
grants:
  - type: secret
    name: K8S_REUSE
`,
  },
];
const handler = createWorkerHandler(FILES, { log: () => {} });
const workerEnv = { ...env, DB: env.SCRATCH_DB };

let signingKey: CryptoKey;
beforeAll(async () => {
  signingKey = (await importJWK(privateJwk, 'RS256')) as CryptoKey;
  await new SecretVault(new D1SecretStore(env.SCRATCH_DB), { current: await importKek(env.BROKER_KEK) }).put(
    'K8S_REUSE',
    SECRET,
    Math.floor(Date.now() / 1000),
  );
});

/** A projected service-account token as the API server issues it. */
function projected(jti: string, ns = 'payments', name = 'api'): Promise<string> {
  return new SignJWT({
    'kubernetes.io': {
      namespace: ns,
      pod: { name: 'api-7d9f', uid: '5b0a9f2e-0000-4000-8000-000000000001' },
      serviceaccount: { name, uid: '0d4c3b2a-0000-4000-8000-000000000002' },
    },
  })
    .setProtectedHeader({ alg: 'RS256', kid: privateJwk.kid })
    .setIssuer(CLUSTER)
    .setAudience(BROKER)
    .setSubject(`system:serviceaccount:${ns}:${name}`)
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime('1h')
    .setJti(jti)
    .sign(signingKey);
}

async function exchange(token: string): Promise<{ status: number; code: string; value?: string | undefined }> {
  const res = await handler.fetch(
    new Request(`${BROKER}/v1/exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'cf-connecting-ip': '203.0.113.9' },
      body: JSON.stringify({ token, role: 'payments-api' }),
    }),
    workerEnv,
    createExecutionContext(),
  );
  const body = (await res.json()) as { error?: string; credentials?: { value?: string }[] };
  return { status: res.status, code: body.error ?? 'OK', value: body.credentials?.[0]?.value };
}

/** The audit records of one jti, oldest first (D1). */
async function recordsOf(jti: string): Promise<{ reason: string; token_uses?: number }[]> {
  const { results } = await env.SCRATCH_DB.prepare('SELECT record FROM audit ORDER BY seq').all<{ record: string }>();
  return results.map((r) => JSON.parse(r.record) as { jti: string; reason: string; token_uses?: number }).filter((r) => r.jti === jti);
}

describe('kubernetes tokens with replay: reuse, inside workerd', () => {
  it('the token that first presented a jti may present it again, each use audited with its count', async () => {
    const jti = crypto.randomUUID();
    const token = await projected(jti);
    for (let i = 0; i < 3; i++) expect(await exchange(token)).toEqual({ status: 200, code: 'OK', value: SECRET });
    expect((await recordsOf(jti)).map((r) => r.token_uses)).toEqual([1, 2, 3]);
  });

  it('another token with a seen jti is still refused (ERR_TOKEN_REPLAYED), and nothing is served', async () => {
    const jti = crypto.randomUUID();
    expect((await exchange(await projected(jti))).status).toBe(200);
    // Same claims, same jti, but signed again a second later: a different token.
    await new Promise((r) => setTimeout(r, 1100));
    const again = await exchange(await projected(jti));
    expect(again).toMatchObject({ code: 'ERR_TOKEN_REPLAYED', value: undefined });
    expect((await recordsOf(jti)).map((r) => r.reason)).toEqual(['allowed', 'token.replayed']);
  });

  it('the pointer conditions bind the namespace and the service account', async () => {
    expect(await exchange(await projected(crypto.randomUUID(), 'other'))).toMatchObject({ status: 403, code: 'ERR_ACCESS_DENIED' });
    expect(await exchange(await projected(crypto.randomUUID(), 'payments', 'worker'))).toMatchObject({
      status: 403,
      code: 'ERR_ACCESS_DENIED',
    });
  });
});
