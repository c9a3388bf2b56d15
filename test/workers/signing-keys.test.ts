// The broker's signing keys on D1 against someone who can write the database but does not hold the KEK:
// rows planted or edited in signing_keys are never published by the Worker's /.well-known/jwks.json, never
// sign a broker token, never verify a checkpoint. Uses SCRATCH_DB, emptied of keys before each test.
import { createExecutionContext, env } from 'cloudflare:test';
import { calculateJwkThumbprint, CompactSign, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { createWorkerHandler } from '../../broker/entry/workers/handler.ts';
import { D1KeyStore } from '../../broker/entry/workers/d1-issuer.ts';
import { GENESIS_HASH } from '../../broker/src/audit/chain.ts';
import { CHECKPOINT_TYP, verifyCheckpoint } from '../../broker/src/audit/checkpoint-format.ts';
import { BrokerIssuer } from '../../broker/src/issuer/issuer.ts';
import { importKek } from '../../broker/src/store/envelope.ts';
import type { SigningKeyRow } from '../../broker/src/store/ports.ts';

const db = env.SCRATCH_DB;
const FILES = [{ path: 'issuers.yaml', text: `issuers:\n  local:\n    url: ${env.TEST_ISSUER_URL}\n    audience: https://broker.test\n` }];

beforeEach(async () => {
  await db.prepare('DELETE FROM signing_keys').run();
});

async function issuer(log?: (l: Record<string, unknown>) => void): Promise<BrokerIssuer> {
  return new BrokerIssuer({
    store: new D1KeyStore(db),
    keks: { current: await importKek(env.BROKER_KEK) },
    publicUrl: 'https://broker.test',
    now: Date.now,
    cacheMs: 0,
    ...(log ? { log } : {}),
  });
}

/** The Worker's JWKS, from a fresh handler (a new isolate: nothing cached). */
async function workerJwks(lines: Record<string, unknown>[] = []): Promise<JWK[]> {
  const handler = createWorkerHandler(FILES, { log: (l) => lines.push(l) });
  const res = await handler.fetch(new Request('https://broker.test/.well-known/jwks.json'), { ...env, DB: db }, createExecutionContext());
  expect(res.status).toBe(200);
  return ((await res.json()) as { keys: JWK[] }).keys;
}

async function rows(): Promise<SigningKeyRow[]> {
  return (await db.prepare('SELECT * FROM signing_keys ORDER BY activates_at').all<SigningKeyRow>()).results;
}

async function plant(r: SigningKeyRow): Promise<void> {
  await db
    .prepare(
      'INSERT OR REPLACE INTO signing_keys (kid, alg, created_at, activates_at, public_jwk, kek_id, wrapped_key, iv, ciphertext) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    .bind(r.kid, r.alg, r.created_at, r.activates_at, r.public_jwk, r.kek_id, r.wrapped_key, r.iv, r.ciphertext)
    .run();
}

async function attackerKey(): Promise<{ kid: string; publicJwk: JWK; privateKey: CryptoKey }> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  return { kid, publicJwk: { ...pub, kid, alg: 'RS256', use: 'sig' }, privateKey };
}

const nowS = () => Math.floor(Date.now() / 1000);

const ATTACKS: {
  name: string;
  plant: (real: SigningKeyRow, next: SigningKeyRow, a: Awaited<ReturnType<typeof attackerKey>>) => Promise<string>;
}[] = [
  {
    name: 'a planted row with an attacker public key, a garbage seal and a future activation',
    plant: async (real, _next, a) => {
      await plant({
        kid: a.kid,
        alg: 'RS256',
        created_at: nowS(),
        activates_at: nowS() + 86_400,
        public_jwk: JSON.stringify(a.publicJwk),
        kek_id: real.kek_id,
        wrapped_key: btoa('w'.repeat(60)),
        iv: btoa('i'.repeat(12)),
        ciphertext: btoa('c'.repeat(64)),
      });
      return a.kid;
    },
  },
  {
    name: "the attacker's public key in the real row's public_jwk",
    plant: async (real, _next, a) => {
      await plant({ ...real, public_jwk: JSON.stringify({ ...a.publicJwk, kid: real.kid }) });
      return real.kid;
    },
  },
  {
    name: "row swap: the real row's valid seal under the attacker's kid",
    plant: async (real, _next, a) => {
      await plant({ ...real, kid: a.kid, activates_at: nowS() + 60, public_jwk: JSON.stringify(a.publicJwk) });
      return a.kid;
    },
  },
  {
    name: 'a valid seal with an edited activates_at',
    plant: async (real, next) => {
      await plant({ ...next, activates_at: real.activates_at + 1 });
      return next.kid;
    },
  },
];

describe('on D1, a public key is published or trusted only if derived from a private key that opened under the KEK with its kid, alg and times', () => {
  for (const attack of ATTACKS) {
    it(`refuses ${attack.name}`, async () => {
      const setup = await issuer();
      await setup.ensureKey();
      await setup.rotate(3600);
      const [real, next] = (await rows()) as [SigningKeyRow, SigningKeyRow];
      const a = await attackerKey();
      const kid = await attack.plant(real, next, a);

      const lines: Record<string, unknown>[] = [];
      const published = await workerJwks(lines);
      expect(published.map((k) => k.kid)).not.toContain(kid);
      expect(published.map((k) => k.n)).not.toContain(a.publicJwk.n);
      expect(lines).toContainEqual(expect.objectContaining({ level: 'error', event: 'issuer.key_refused', kid }));

      const fresh = await issuer();
      const signed = await fresh.sign({ subject: 'role:x', audience: 'sts.amazonaws.com', ttl: 60, claims: {} });
      expect(signed.kid).not.toBe(kid);
      expect((await fresh.jwks()).keys.map((k) => k.kid)).toContain(decodeProtectedHeader(signed.token).kid);
      const forged = await new CompactSign(
        new TextEncoder().encode(
          JSON.stringify({
            iss: 'https://broker.test',
            seq: 1,
            hash: 'a'.repeat(64),
            time: new Date().toISOString(),
            anchor: { seq: 0, hash: GENESIS_HASH },
          }),
        ),
      )
        .setProtectedHeader({ alg: 'RS256', kid, typ: CHECKPOINT_TYP })
        .sign(a.privateKey);
      expect((await verifyCheckpoint(forged, await fresh.verificationKeys())).ok).toBe(false);
      expect((await fresh.keyHealth()).problems.map((p) => p.kid)).toContain(kid);
    });
  }

  it('an untouched store publishes its keys and reports no problems', async () => {
    const setup = await issuer();
    await setup.ensureKey();
    await setup.rotate(3600);
    expect((await workerJwks()).map((k) => k.kid)).toEqual((await rows()).map((r) => r.kid));
    expect((await setup.keyHealth()).ok).toBe(true);
  });
});
