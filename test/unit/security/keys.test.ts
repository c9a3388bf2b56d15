// The broker's own signing keys against someone who can write the database but does not hold the KEK: a
// row planted or edited in the SQLite file must never be published in the JWKS, sign a broker token, or
// vouch for an audit checkpoint (in the broker, in the checkpoint verifier, or in `audit verify`).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { calculateJwkThumbprint, CompactSign, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildEntry, GENESIS_HASH } from '../../../broker/src/audit/chain.ts';
import { CHECKPOINT_TYP, verifyCheckpoint } from '../../../broker/src/audit/checkpoint-format.ts';
import { verifyAudit } from '../../../broker/src/audit/verify-audit.ts';
import { BrokerIssuer } from '../../../broker/src/issuer/issuer.ts';
import { generateKekBase64, importKek, sealSecret, type Kek } from '../../../broker/src/store/envelope.ts';
import type { SigningKeyRow } from '../../../broker/src/store/ports.ts';
import { buildNodeBroker, type NodeBroker } from '../../../broker/entry/node.ts';
import { openDatabase, SqliteAuditStore, SqliteCheckpointStore, SqliteKeyStore } from '../../../broker/entry/node/sqlite.ts';
import { runCli } from '../../helpers/processes.ts';

const NOW = Date.parse('2026-11-28T00:00:00Z');
const nowS = Math.floor(NOW / 1000);

let dir: string;
let db: DatabaseSync;
let kek: Kek;
let logs: Record<string, unknown>[];

const issuerOf = (opts: { now?: number } = {}) =>
  new BrokerIssuer({
    store: new SqliteKeyStore(db),
    keks: { current: kek },
    publicUrl: 'https://broker.test',
    now: () => opts.now ?? NOW,
    cacheMs: 0,
    log: (l) => logs.push(l),
  });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-keys-'));
  db = openDatabase(dir);
  kek = await importKek(generateKekBase64());
  logs = [];
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What an attacker holds: a key pair of their own, named the way the broker names its keys. */
async function attackerKey(): Promise<{ kid: string; publicJwk: JWK; privateKey: CryptoKey }> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  return { kid, publicJwk: { ...pub, kid, alg: 'RS256', use: 'sig' }, privateKey };
}

/** Writes a row straight into the SQLite file, as someone with the file but not the KEK can. */
function plant(row: SigningKeyRow): void {
  db.prepare(
    'INSERT OR REPLACE INTO signing_keys (kid, alg, created_at, activates_at, public_jwk, kek_id, wrapped_key, iv, ciphertext) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(row.kid, row.alg, row.created_at, row.activates_at, row.public_jwk, row.kek_id, row.wrapped_key, row.iv, row.ciphertext);
}

function storedRows(): SigningKeyRow[] {
  return db.prepare('SELECT * FROM signing_keys ORDER BY activates_at').all() as unknown as SigningKeyRow[];
}

const garbage = (b: string) => btoa(b.repeat(24));

/** A checkpoint over `head` signed with the attacker's key under `kid`. */
async function forgeCheckpoint(privateKey: CryptoKey, kid: string, head: { seq: number; hash: string }): Promise<string> {
  const payload = {
    iss: 'https://broker.test',
    seq: head.seq,
    hash: head.hash,
    time: new Date(NOW).toISOString(),
    anchor: { seq: 0, hash: GENESIS_HASH },
  };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'RS256', kid, typ: CHECKPOINT_TYP })
    .sign(privateKey);
}

type Attack = {
  name: string;
  plant: (real: SigningKeyRow, next: SigningKeyRow) => Promise<{ kid: string; privateKey?: CryptoKey; untouched?: string }>;
};

/** Each way of writing the key table without the KEK; `kid` is the row that must not be trusted afterwards. */
const ATTACKS: Attack[] = [
  {
    name: 'a planted row with an attacker public key, a garbage seal and a future activation',
    plant: async (real) => {
      const a = await attackerKey();
      plant({
        kid: a.kid,
        alg: 'RS256',
        created_at: nowS,
        activates_at: nowS + 86_400,
        public_jwk: JSON.stringify(a.publicJwk),
        kek_id: real.kek_id,
        wrapped_key: garbage('w'),
        iv: btoa('i'.repeat(12)),
        ciphertext: garbage('c'),
      });
      return { kid: a.kid, privateKey: a.privateKey };
    },
  },
  {
    name: 'a planted row that activates now (it would become the signing key)',
    plant: async (real) => {
      const a = await attackerKey();
      plant({
        kid: a.kid,
        alg: 'RS256',
        created_at: nowS,
        activates_at: nowS,
        public_jwk: JSON.stringify(a.publicJwk),
        kek_id: real.kek_id,
        wrapped_key: garbage('x'),
        iv: btoa('j'.repeat(12)),
        ciphertext: garbage('d'),
      });
      return { kid: a.kid, privateKey: a.privateKey };
    },
  },
  {
    name: 'a planted row with empty, non-base64 seal fields and an unknown KEK id',
    plant: async () => {
      const a = await attackerKey();
      plant({
        kid: a.kid,
        alg: 'RS256',
        created_at: 0,
        activates_at: nowS + 10,
        public_jwk: JSON.stringify(a.publicJwk),
        kek_id: 'ffffffffffffffff',
        wrapped_key: '',
        iv: '%%%',
        ciphertext: 'not base64!',
      });
      return { kid: a.kid, privateKey: a.privateKey };
    },
  },
  {
    name: "the attacker's public key written into the real key's public_jwk",
    plant: async (real) => {
      const a = await attackerKey();
      plant({ ...real, public_jwk: JSON.stringify({ ...a.publicJwk, kid: real.kid }) });
      return { kid: real.kid, privateKey: a.privateKey };
    },
  },
  {
    name: "row swap: the real key's valid seal under the attacker's kid and public key",
    plant: async (real) => {
      const a = await attackerKey();
      plant({ ...real, kid: a.kid, activates_at: nowS + 60, public_jwk: JSON.stringify(a.publicJwk) });
      return { kid: a.kid, privateKey: a.privateKey, untouched: real.kid };
    },
  },
  {
    name: "row swap: the next key's valid seal moved onto the current key's kid",
    plant: async (real, next) => {
      plant({ ...next, kid: real.kid, public_jwk: real.public_jwk, activates_at: real.activates_at, created_at: real.created_at });
      return { kid: real.kid, untouched: next.kid };
    },
  },
  {
    name: 'a valid seal with an edited activates_at (the next key made to sign now)',
    plant: async (real, next) => {
      plant({ ...next, activates_at: real.activates_at + 1 });
      return { kid: next.kid, untouched: real.kid };
    },
  },
  {
    name: 'a valid seal with an edited created_at',
    plant: async (_real, next) => {
      plant({ ...next, created_at: next.created_at - 1 });
      return { kid: next.kid };
    },
  },
  {
    name: 'a valid seal with an edited alg',
    plant: async (_real, next) => {
      plant({ ...next, alg: 'HS256' as 'RS256' });
      return { kid: next.kid };
    },
  },
];

describe('a public key is published or trusted only if derived from a private key that opened under the KEK with its kid, alg and times', () => {
  for (const attack of ATTACKS) {
    it(`refuses ${attack.name}: not in the JWKS, signs nothing, verifies no checkpoint, reported`, async () => {
      const issuer = issuerOf();
      await issuer.ensureKey();
      await issuer.rotate(3600);
      const [real, next] = storedRows() as [SigningKeyRow, SigningKeyRow];
      const planted = await attack.plant(real, next);

      const fresh = issuerOf();
      const published = (await fresh.jwks()).keys;
      const plantedRow = storedRows().find((r) => r.kid === planted.kid);
      // Whatever the planted row claims (its public key, its kid), none of it is published.
      for (const k of published) {
        if (plantedRow)
          expect(JSON.stringify({ n: k.n, e: k.e })).not.toBe(
            JSON.stringify({ n: (JSON.parse(plantedRow.public_jwk) as JWK).n, e: (JSON.parse(plantedRow.public_jwk) as JWK).e }),
          );
      }
      expect(published.map((k) => k.kid)).not.toContain(planted.kid);
      expect((await fresh.verificationKeys()).map((k) => k.kid)).not.toContain(planted.kid);

      // Broker tokens are still signed, and never under the planted row.
      const signed = await fresh.sign({ subject: 'role:deploy', audience: 'sts.amazonaws.com', ttl: 60, claims: {} });
      expect(signed.kid).not.toBe(planted.kid);
      expect(published.map((k) => k.kid)).toContain(decodeProtectedHeader(signed.token).kid);

      // A checkpoint signed with the attacker's key vouches for nothing.
      if (planted.privateKey) {
        const jws = await forgeCheckpoint(planted.privateKey, planted.kid, { seq: 1, hash: 'a'.repeat(64) });
        expect((await verifyCheckpoint(jws, await fresh.verificationKeys())).ok).toBe(false);
        expect((await verifyCheckpoint(jws, published)).ok).toBe(false);
      }

      // Refused loudly: reported with its kid by keyHealth and in the log, never silently.
      const health = await fresh.keyHealth();
      expect(health.ok).toBe(false);
      expect(health.problems.map((p) => p.kid)).toContain(planted.kid);
      expect(logs).toContainEqual(expect.objectContaining({ level: 'error', event: 'issuer.key_refused', kid: planted.kid }));
      // The rows the attack did not touch keep working.
      if (planted.untouched) expect(published.map((k) => k.kid)).toContain(planted.untouched);
    });
  }

  it('a healthy store reports no problems and publishes exactly the derived public keys', async () => {
    const issuer = issuerOf();
    await issuer.ensureKey();
    await issuer.rotate(3600);
    const health = await issuer.keyHealth();
    expect(health).toEqual({ ok: true, keys: 2, problems: [] });
    const stored = storedRows().map((r) => JSON.parse(r.public_jwk) as JWK);
    expect((await issuer.jwks()).keys.map((k) => [k.kid, k.n])).toEqual(stored.map((k) => [k.kid, k.n]));
  });

  it('a planted far-future activation does not push the next rotation out', async () => {
    const issuer = issuerOf();
    await issuer.ensureKey();
    const a = await attackerKey();
    const real = storedRows()[0]!;
    plant({ ...real, kid: a.kid, activates_at: nowS + 10 * 365 * 86_400, public_jwk: JSON.stringify(a.publicJwk) });
    const { added } = await issuer.rotate(3600);
    expect(added.activates_at).toBe(nowS + 3600);
  });

  it('a store holding only refused rows gets a fresh key of its own rather than signing with them', async () => {
    const a = await attackerKey();
    plant({
      kid: a.kid,
      alg: 'RS256',
      created_at: nowS,
      activates_at: nowS,
      public_jwk: JSON.stringify(a.publicJwk),
      kek_id: kek.id,
      wrapped_key: garbage('w'),
      iv: btoa('i'.repeat(12)),
      ciphertext: garbage('c'),
    });
    const issuer = issuerOf();
    const { keys } = await issuer.jwks();
    expect(keys).toHaveLength(1);
    expect(keys[0]!.kid).not.toBe(a.kid);
    expect((await issuer.keyHealth()).problems.map((p) => p.kid)).toEqual([a.kid]);
  });
});

describe('keys sealed before kid, alg and times were bound into the seal', () => {
  /** A row as the broker wrote it before: the seal binds only the kid (name broker-signing-key/<kid>, version 1). */
  async function legacyRow(activatesAt: number): Promise<SigningKeyRow> {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const pub = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(pub);
    const sealed = await sealSecret(
      kek,
      `broker-signing-key/${kid}`,
      1,
      new TextEncoder().encode(JSON.stringify(await exportJWK(privateKey))),
      activatesAt,
    );
    return {
      kid,
      alg: 'RS256',
      created_at: activatesAt,
      activates_at: activatesAt,
      public_jwk: JSON.stringify({ ...pub, kid, alg: 'RS256', use: 'sig' }),
      kek_id: sealed.kek_id,
      wrapped_key: sealed.wrapped_key,
      iv: sealed.iv,
      ciphertext: sealed.ciphertext,
    };
  }

  it('still open, are re-sealed with the binding on first load, and are refused once their times are edited after that', async () => {
    const legacy = await legacyRow(nowS - 60);
    plant(legacy);
    const issuer = issuerOf();
    expect((await issuer.jwks()).keys.map((k) => k.kid)).toEqual([legacy.kid]);
    const resealed = storedRows()[0]!;
    expect(resealed.ciphertext).not.toBe(legacy.ciphertext);
    expect(logs).toContainEqual(expect.objectContaining({ event: 'issuer.key_resealed', kid: legacy.kid }));
    expect((await issuer.sign({ subject: 'role:x', audience: 'a', ttl: 60, claims: {} })).kid).toBe(legacy.kid);

    plant({ ...resealed, activates_at: nowS + 3600 });
    expect((await issuerOf().jwks()).keys.map((k) => k.kid)).not.toContain(legacy.kid);
  });

  it('a legacy seal moved to another kid does not open', async () => {
    const legacy = await legacyRow(nowS - 60);
    const a = await attackerKey();
    plant({ ...legacy, kid: a.kid, public_jwk: JSON.stringify(a.publicJwk) });
    const issuer = issuerOf();
    expect((await issuer.jwks()).keys.map((k) => k.kid)).not.toContain(a.kid);
    expect((await issuer.keyHealth()).problems).toEqual([expect.objectContaining({ kid: a.kid, reason: 'seal_does_not_open' })]);
  });
});

describe('the broker and audit verify trust only keys that opened under the KEK', () => {
  let broker: NodeBroker | undefined;
  const env = () => ({ BROKER_PUBLIC_URL: 'https://broker.test' }) as Record<string, string>;
  const closeBroker = () => {
    broker?.close();
    broker = undefined;
  };

  afterEach(closeBroker);

  /** A chain the attacker rewrote, with the real checkpoints removed and one of their own signed instead. */
  async function forgeStore(privateKey: CryptoKey, kid: string): Promise<void> {
    const audit = new SqliteAuditStore(db);
    let prev = GENESIS_HASH;
    let head = { seq: 0, hash: GENESIS_HASH };
    for (let seq = 1; seq <= 3; seq++) {
      const e = await buildEntry(seq, prev, { n: seq, forged: true });
      await audit.insert(e);
      prev = e.hash;
      head = { seq, hash: e.hash };
    }
    db.exec('DELETE FROM audit_checkpoints');
    await new SqliteCheckpointStore(db).insert({
      seq: head.seq,
      hash: head.hash,
      time: new Date(NOW).toISOString(),
      kid,
      jws: await forgeCheckpoint(privateKey, kid, head),
    });
  }

  it('a planted key is not in /.well-known/jwks.json and a checkpoint it signs fails audit verify, with and without --jwks', async () => {
    broker = await buildNodeBroker({ policiesDir: 'policies', dataDir: dir, env: env(), dev: true, now: () => NOW, log: () => {} });
    const real = storedRows()[0]!;
    const a = await attackerKey();
    plant({
      kid: a.kid,
      alg: 'RS256',
      created_at: nowS,
      activates_at: nowS + 86_400,
      public_jwk: JSON.stringify(a.publicJwk),
      kek_id: real.kek_id,
      wrapped_key: real.wrapped_key,
      iv: real.iv,
      ciphertext: garbage('z'),
    });
    await forgeStore(a.privateKey, a.kid);
    closeBroker();

    broker = await buildNodeBroker({ policiesDir: 'policies', dataDir: dir, env: env(), dev: true, now: () => NOW, log: () => {} });
    const res = await broker!.app.fetch(new Request('https://broker.test/.well-known/jwks.json'));
    const jwks = (await res.json()) as { keys: JWK[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([real.kid]);
    expect((await broker!.issuer.keyHealth()).problems.map((p) => p.kid)).toEqual([a.kid]);
    const located = (await new SqliteCheckpointStore(db).list({})).map((c) => ({ jws: c.jws }));
    const inProcess = await verifyAudit({
      entries: await new SqliteAuditStore(db).list({}),
      checkpoints: located,
      keys: await broker!.issuer.verificationKeys(),
      mode: 'store',
    });
    expect(inProcess.ok).toBe(false);
    closeBroker();

    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify(jwks));
    const plain = await runCli(['audit', 'verify', '--data', dir, '--policies', 'policies'], { env: env() });
    expect(plain.code, plain.stdout + plain.stderr).toBe(1);
    expect(plain.stdout).toContain(a.kid);
    expect(plain.stderr).toContain(`signing key ${a.kid} in the store is refused`);
    const withJwks = await runCli(['audit', 'verify', '--data', dir, '--policies', 'policies', '--jwks', jwksFile], { env: env() });
    expect(withJwks.code, withJwks.stdout + withJwks.stderr).toBe(1);
  }, 60_000);
});
