// The Workers storage ports on their real bindings inside workerd: the same promises as the node:sqlite
// ports (test/unit/entry/sqlite.test.ts), on D1, the replay Durable Object and KV. D1 tests use SCRATCH_DB
// so that DB's audit chain belongs to the exchange tests.
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { D1AuditStore, D1SecretStore } from '../../broker/entry/workers/d1.ts';
import { KvJwksCache } from '../../broker/entry/workers/kv.ts';
import { DoRateCounter, DoReplayGuard } from '../../broker/entry/workers/replay.ts';
import { buildEntry, GENESIS_HASH } from '../../broker/src/audit/chain.ts';
import { generateKekBase64, importKek } from '../../broker/src/store/envelope.ts';
import type { AuditEntry } from '../../broker/src/store/ports.ts';
import { SecretVault } from '../../broker/src/store/secrets.ts';
import { deriveMacKey, JWKS_CACHE_MAC_PURPOSE } from '../../broker/src/store/subkeys.ts';
import { sha256Hex } from '../../broker/src/util/encoding.ts';

const NOW = 1_800_000_000;

describe('D1AuditStore', () => {
  it('inserts once per seq, reports the head and lists in both directions', async () => {
    const store = new D1AuditStore(env.SCRATCH_DB);
    expect(await store.head()).toBeNull();
    const entries: AuditEntry[] = [];
    let prev = GENESIS_HASH;
    for (let seq = 1; seq <= 5; seq++) {
      const entry = await buildEntry(seq, prev, { n: seq });
      expect(await store.insert(entry)).toBe(true);
      entries.push(entry);
      prev = entry.hash;
    }
    // A second writer racing for seq 5 loses and must re-read the head.
    expect(await store.insert(await buildEntry(5, 'f'.repeat(64), { n: 'late' }))).toBe(false);
    expect(await store.head()).toEqual({ seq: 5, hash: entries[4]!.hash });

    const seqs = async (q: Parameters<D1AuditStore['list']>[0]) => (await store.list(q)).map((e) => e.seq);
    expect(await store.list({})).toEqual(entries);
    expect(await seqs({ afterSeq: 2 })).toEqual([3, 4, 5]);
    expect(await seqs({ beforeSeq: 3 })).toEqual([1, 2]);
    expect(await seqs({ afterSeq: 1, beforeSeq: 5, limit: 2 })).toEqual([2, 3]);
    expect(await seqs({ descending: true, limit: 2 })).toEqual([5, 4]);
    expect(await seqs({ descending: true, beforeSeq: 4 })).toEqual([3, 2, 1]);
    expect(await seqs({ limit: 0 })).toEqual([]);
    await expect(store.list({ limit: -1 })).rejects.toThrow(RangeError);
  });
});

describe('D1AuditStore.insertMany', () => {
  it('writes a group in one batch, or nothing when any seq is taken', async () => {
    const store = new D1AuditStore(env.SCRATCH_DB);
    const head = await store.head();
    const base = (head?.seq ?? 0) + 1000;
    const entry = (seq: number) => ({ seq, prev_hash: GENESIS_HASH, hash: `h${seq}`, record: '{}' });
    expect(await store.insertMany([entry(base), entry(base + 1), entry(base + 2)])).toBe(true);
    expect(await store.insertMany([entry(base + 3), entry(base + 1), entry(base + 4)])).toBe(false);
    const seqs = (await store.list({ afterSeq: base - 1 })).map((e) => e.seq);
    expect(seqs).toEqual([base, base + 1, base + 2]);
  });
});

describe('D1SecretStore', () => {
  it('keeps versions, lists without values and rewraps under a new KEK', async () => {
    const store = new D1SecretStore(env.SCRATCH_DB);
    const first = await importKek(generateKekBase64());
    const vault = new SecretVault(store, { current: first });
    expect(await vault.put('DB_URL', 'one', NOW)).toEqual({ name: 'DB_URL', version: 1 });
    expect(await vault.put('DB_URL', 'two', NOW + 1)).toEqual({ name: 'DB_URL', version: 2 });
    await vault.put('API_KEY', 'key', NOW + 2);

    expect((await vault.get('DB_URL'))?.value).toBe('two');
    expect((await vault.get('DB_URL', 1))?.value).toBe('one');
    expect(await vault.get('DB_URL', 3)).toBeNull();
    expect(await vault.list()).toEqual([
      { name: 'API_KEY', version: 1, versions: 1, created_at: NOW + 2 },
      { name: 'DB_URL', version: 2, versions: 2, created_at: NOW + 1 },
    ]);
    // A concurrent writer of an existing version loses.
    expect(await store.insert((await store.get('DB_URL', 1))!)).toBe(false);

    const second = await importKek(generateKekBase64());
    expect(await vault.rotateKek(second)).toBe(3);
    expect((await store.all()).every((row) => row.kek_id === second.id)).toBe(true);
    expect((await new SecretVault(store, { current: second }).get('DB_URL', 1))?.value).toBe('one');
    await expect(store.rewrap('NOPE', 1, second.id, 'x')).rejects.toThrow(/does not exist/);
  });
});

describe('DoReplayGuard', () => {
  const guard = () => new DoReplayGuard(env.REPLAY);
  const now = () => Math.floor(Date.now() / 1000);
  /** The object a key is claimed in: replay-<first two hex digits of its SHA-256>. */
  const objectOf = async (key: string) => env.REPLAY.get(env.REPLAY.idFromName(`replay-${(await sha256Hex(key)).slice(0, 2)}`));

  it('grants a key once while it lives, then again once it has expired', async () => {
    const key = `github\u0000${crypto.randomUUID()}`;
    const t = now();
    expect(await guard().claim(key, t + 100, t)).toBe(true);
    expect(await guard().claim(key, t + 100, t)).toBe(false);
    expect(await guard().claim(key, t + 300, t + 100)).toBe(false); // still alive at exactly expiresAt
    expect(await guard().claim(key, t + 300, t + 101)).toBe(true); // expired: a new claim takes it over
    expect(await guard().claim(`github\u0000${crypto.randomUUID()}`, t + 100, t)).toBe(true);
  });

  it('lets one of many concurrent claims win', async () => {
    const key = `gitlab\u0000${crypto.randomUUID()}`;
    const t = now();
    const results = await Promise.all(Array.from({ length: 50 }, () => guard().claim(key, t + 100, t)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('stores a key in the object its hash names, and purges it once expired', async () => {
    const t = now();
    const expired = `a\u0000${crypto.randomUUID()}`;
    expect(await guard().claim(expired, t - 10, t - 100)).toBe(true);
    const stub = await objectOf(expired);
    const keys = () =>
      runInDurableObject(stub, (_o, state) =>
        state.storage.sql
          .exec<{ key: string }>('SELECT key FROM replay')
          .toArray()
          .map((r) => r.key),
      );
    expect(await keys()).toContain(expired);
    expect(await runInDurableObject(stub, (_o, state) => state.storage.getAlarm())).not.toBeNull();

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await keys()).not.toContain(expired);
  });

  it('refuses malformed claims', async () => {
    await expect(guard().claim('', now() + 10, now())).rejects.toThrow();
    await expect(guard().claim('k', 1.5, now())).rejects.toThrow();
  });
});

describe('DoRateCounter', () => {
  it('counts per key and window, exactly under concurrency, and restarts with a new window', async () => {
    const counter = new DoRateCounter(env.REPLAY);
    const key = `subject\u0000${crypto.randomUUID()}`;
    const counts = await Promise.all(Array.from({ length: 30 }, () => counter.hit(key, 600, 60)));
    expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(await counter.hit(key, 660, 60)).toBe(1);
    expect(await counter.hit(`client\u0000${crypto.randomUUID()}`, 660, 60)).toBe(1);
  });
});

describe('KvJwksCache', () => {
  it('round-trips an entry and ignores what is not one', async () => {
    const cache = new KvJwksCache(env.JWKS_CACHE, await deriveMacKey(env.BROKER_KEK, JWKS_CACHE_MAC_PURPOSE));
    const url = `https://issuer-${crypto.randomUUID()}.test`;
    expect(await cache.get(url)).toBeNull();
    const entry = { jwks: { keys: [{ kty: 'RSA', kid: 'k1', n: 'AQAB', e: 'AQAB' }] }, fetched_at: Date.now() };
    await cache.put(url, entry);
    expect(await cache.get(url)).toEqual(entry);
    await env.JWKS_CACHE.put(`jwks:${url}`, JSON.stringify({ jwks: 'nope', fetched_at: 1 }));
    expect(await cache.get(url)).toBeNull();
  });
});
