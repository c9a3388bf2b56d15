// One contract suite per storage port (broker/src/store/ports.ts), run against every adapter: memory and
// node:sqlite in test/unit/store/contract.test.ts, D1 and the Durable Objects inside workerd in
// test/workers/contract.test.ts. An adapter that keeps a promise differently from the others fails here.
// Each suite takes a factory that returns a fresh, empty store.
import { describe, expect, it } from 'vitest';
import { buildEntry, GENESIS_HASH } from '../../broker/src/audit/chain.ts';
import type {
  AuditCheckpoint,
  AuditEntry,
  AuditStore,
  CheckpointStore,
  KeyStore,
  LeaseRow,
  LeaseStore,
  RateCounter,
  ReplayGuard,
  RevocationEntry,
  RevocationStore,
  SealedFields,
  SecretHead,
  SecretRow,
  SecretStore,
  SigningKeyRow,
} from '../../broker/src/store/ports.ts';

type Factory<T> = () => Promise<T> | T;

const NOW = 1_800_000_000;

export function replayGuardContract(adapter: string, fresh: Factory<ReplayGuard>): void {
  describe(`ReplayGuard contract: ${adapter}`, () => {
    it('grants a key once while it lives (through expiresAt itself), then once more after it expired', async () => {
      const guard = await fresh();
      const key = `github\u0000${crypto.randomUUID()}`;
      expect(await guard.claim(key, NOW + 100, NOW)).toBe(true);
      expect(await guard.claim(key, NOW + 100, NOW)).toBe(false);
      expect(await guard.claim(key, NOW + 500, NOW + 100)).toBe(false);
      expect(await guard.claim(key, NOW + 500, NOW + 101)).toBe(true);
      expect(await guard.claim(key, NOW + 500, NOW + 102)).toBe(false);
    });

    it('keeps keys apart, including keys that differ only after a NUL or in case', async () => {
      const guard = await fresh();
      const id = crypto.randomUUID();
      for (const key of [`a\u0000${id}`, `a\u0000${id}x`, `A\u0000${id}`, `b\u0000${id}`]) {
        expect(await guard.claim(key, NOW + 100, NOW)).toBe(true);
      }
    });

    it('lets exactly one of many concurrent claims of one key win', async () => {
      const guard = await fresh();
      const key = `gitlab\u0000${crypto.randomUUID()}`;
      const results = await Promise.all(Array.from({ length: 40 }, () => guard.claim(key, NOW + 100, NOW)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    // Reuse by design (`replay: reuse`): one token may present its jti again; another token with it may not.
    const tokenA = 'a'.repeat(64);
    const tokenB = 'b'.repeat(64);

    it('reuse: counts the uses of one token, refuses another token with the same key, and restarts after expiry', async () => {
      const guard = await fresh();
      const key = `k8s\u0000${crypto.randomUUID()}`;
      expect(await guard.claimReuse(key, tokenA, NOW + 100, NOW)).toBe(1);
      expect(await guard.claimReuse(key, tokenA, NOW + 100, NOW + 10)).toBe(2);
      expect(await guard.claimReuse(key, tokenB, NOW + 100, NOW + 20)).toBe(0);
      expect(await guard.claimReuse(key, tokenA, NOW + 100, NOW + 100)).toBe(3);
      // The other token's refusal took nothing over: the key still belongs to the first token.
      expect(await guard.claimReuse(key, tokenB, NOW + 100, NOW + 100)).toBe(0);
      // Expired: taken over afresh, by whichever token comes first.
      expect(await guard.claimReuse(key, tokenB, NOW + 500, NOW + 101)).toBe(1);
      expect(await guard.claimReuse(key, tokenA, NOW + 500, NOW + 102)).toBe(0);
    });

    it('reuse: a single-use claim is never reused, and a reused key is never claimed single-use while it lives', async () => {
      const guard = await fresh();
      const single = `k8s\u0000${crypto.randomUUID()}`;
      expect(await guard.claim(single, NOW + 100, NOW)).toBe(true);
      expect(await guard.claimReuse(single, tokenA, NOW + 100, NOW)).toBe(0);
      const reused = `k8s\u0000${crypto.randomUUID()}`;
      expect(await guard.claimReuse(reused, tokenA, NOW + 100, NOW)).toBe(1);
      expect(await guard.claim(reused, NOW + 100, NOW)).toBe(false);
      expect(await guard.claimReuse(reused, tokenA, NOW + 100, NOW)).toBe(2);
      // After expiry a single-use claim takes the key over, and the old token's hash goes with it.
      expect(await guard.claim(reused, NOW + 500, NOW + 101)).toBe(true);
      expect(await guard.claimReuse(reused, tokenA, NOW + 500, NOW + 102)).toBe(0);
    });

    it('reuse: concurrent uses of one token all succeed with distinct counts', async () => {
      const guard = await fresh();
      const key = `k8s\u0000${crypto.randomUUID()}`;
      const counts = await Promise.all(Array.from({ length: 40 }, () => guard.claimReuse(key, tokenA, NOW + 100, NOW)));
      expect([...counts].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    });

    it('reuse: of concurrent different tokens with one key exactly one wins, and only it is counted on', async () => {
      const guard = await fresh();
      const key = `k8s\u0000${crypto.randomUUID()}`;
      const tokens = Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(2, '0').repeat(32));
      const counts = await Promise.all(tokens.map((t) => guard.claimReuse(key, t, NOW + 100, NOW)));
      expect(counts.filter((c) => c === 1)).toHaveLength(1);
      expect(counts.filter((c) => c === 0)).toHaveLength(tokens.length - 1);
      const winner = tokens[counts.indexOf(1)]!;
      expect(await guard.claimReuse(key, winner, NOW + 100, NOW)).toBe(2);
    });
  });
}

const entryAt = (seq: number, record = `{"n":${seq}}`): AuditEntry => ({ seq, prev_hash: GENESIS_HASH, hash: `h${seq}`, record });

export function auditStoreContract(adapter: string, fresh: Factory<AuditStore>): void {
  describe(`AuditStore contract: ${adapter}`, () => {
    it('starts empty, inserts once per seq, and reports the head', async () => {
      const store = await fresh();
      expect(await store.head()).toBeNull();
      expect(await store.list({})).toEqual([]);
      let prev = GENESIS_HASH;
      const written: AuditEntry[] = [];
      for (let seq = 1; seq <= 4; seq++) {
        const entry = await buildEntry(seq, prev, { n: seq });
        expect(await store.insert(entry)).toBe(true);
        written.push(entry);
        prev = entry.hash;
      }
      expect(await store.insert(entryAt(4))).toBe(false);
      expect(await store.head()).toEqual({ seq: 4, hash: written[3]!.hash });
      expect(await store.list({})).toEqual(written);
    });

    it('keeps the record text byte for byte (the hash covers the exact text)', async () => {
      const store = await fresh();
      const text = '{"z":1,"a":"caf\u00e9 \u2603 \ud83d\ude00","n":[3,1,2],"e":"\\u0000\\n"}';
      expect(await store.insert(entryAt(1, text))).toBe(true);
      expect((await store.list({}))[0]?.record).toBe(text);
    });

    it('pages by seq in both directions with bounds and limits, and refuses a negative limit', async () => {
      const store = await fresh();
      for (let seq = 1; seq <= 5; seq++) await store.insert(entryAt(seq));
      const seqs = async (q: Parameters<AuditStore['list']>[0]) => (await store.list(q)).map((e) => e.seq);
      expect(await seqs({ afterSeq: 2 })).toEqual([3, 4, 5]);
      expect(await seqs({ beforeSeq: 3 })).toEqual([1, 2]);
      expect(await seqs({ afterSeq: 1, beforeSeq: 5, limit: 2 })).toEqual([2, 3]);
      expect(await seqs({ descending: true, limit: 2 })).toEqual([5, 4]);
      expect(await seqs({ descending: true, beforeSeq: 4 })).toEqual([3, 2, 1]);
      expect(await seqs({ limit: 0 })).toEqual([]);
      await expect(store.list({ limit: -1 })).rejects.toThrow(RangeError);
      await expect(store.list({ limit: 1.5 })).rejects.toThrow(RangeError);
    });

    it('lets one of many concurrent writers of one seq win', async () => {
      const store = await fresh();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.insert(entryAt(1, `{"w":${i}}`))));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.list({})).toHaveLength(1);
    });

    it('inserts a group all or nothing when it supports insertMany', async () => {
      const store = await fresh();
      if (!store.insertMany) return;
      expect(await store.insertMany([entryAt(1), entryAt(2), entryAt(3)])).toBe(true);
      expect(await store.insertMany([entryAt(4), entryAt(2), entryAt(5)])).toBe(false);
      expect((await store.list({})).map((e) => e.seq)).toEqual([1, 2, 3]);
      expect((await store.head())?.seq).toBe(3);
    });
  });
}

export function checkpointStoreContract(adapter: string, fresh: Factory<{ audit: AuditStore; checkpoints: CheckpointStore }>): void {
  const checkpoint = (seq: number, kid: string): AuditCheckpoint => ({
    seq,
    hash: `h${seq}`,
    time: new Date(NOW * 1000).toISOString(),
    kid,
    jws: `jws.${seq}.${kid}`,
  });

  describe(`CheckpointStore contract: ${adapter}`, () => {
    it('lists by seq, several per seq in insertion order, in both directions', async () => {
      const { checkpoints } = await fresh();
      await checkpoints.insert(checkpoint(5, 'b'));
      await checkpoints.insert(checkpoint(2, 'a'));
      await checkpoints.insert(checkpoint(5, 'c'));
      await checkpoints.insert(checkpoint(9, 'a'));
      const ids = (list: AuditCheckpoint[]) => list.map((c) => `${c.seq}${c.kid}`);
      expect(ids(await checkpoints.list({}))).toEqual(['2a', '5b', '5c', '9a']);
      expect(ids(await checkpoints.list({ descending: true }))).toEqual(['9a', '5c', '5b', '2a']);
      expect(ids(await checkpoints.list({ afterSeq: 2, beforeSeq: 9 }))).toEqual(['5b', '5c']);
      expect(ids(await checkpoints.list({ descending: true, limit: 1 }))).toEqual(['9a']);
      expect(await checkpoints.list({ limit: 1 })).toEqual([checkpoint(2, 'a')]);
    });

    it('prunes records and checkpoints through a seq together, and counts what it removed', async () => {
      const { audit, checkpoints } = await fresh();
      for (let seq = 1; seq <= 6; seq++) await audit.insert(entryAt(seq));
      await checkpoints.insert(checkpoint(3, 'a'));
      await checkpoints.insert(checkpoint(4, 'a'));
      await checkpoints.insert(checkpoint(6, 'a'));
      expect(await checkpoints.pruneThrough(4)).toEqual({ records: 4, checkpoints: 2 });
      expect((await audit.list({})).map((e) => e.seq)).toEqual([5, 6]);
      expect((await checkpoints.list({})).map((c) => c.seq)).toEqual([6]);
      expect(await checkpoints.pruneThrough(4)).toEqual({ records: 0, checkpoints: 0 });
    });
  });
}

export function rateCounterContract(adapter: string, fresh: Factory<RateCounter>): void {
  describe(`RateCounter contract: ${adapter}`, () => {
    it('counts per key and window, exactly under concurrency, and starts again in a new window', async () => {
      const counter = await fresh();
      const key = `subject\u0000${crypto.randomUUID()}`;
      const counts = await Promise.all(Array.from({ length: 25 }, () => counter.hit(key, 600, 60)));
      expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(await counter.hit(key, 660, 60)).toBe(1);
      expect(await counter.hit(key, 660, 60)).toBe(2);
      expect(await counter.hit(`client\u0000${crypto.randomUUID()}`, 660, 60)).toBe(1);
    });
  });
}

const secretRow = (name: string, version: number, created = NOW + version): SecretRow => ({
  name,
  version,
  kek_id: 'kek-1',
  wrapped_key: `wk-${name}-${version}`,
  iv: `iv-${version}`,
  ciphertext: `ct-${name}-${version}`,
  created_at: created,
});
const secretHead = (name: string, version: number): SecretHead => ({ name, version, kek_id: 'kek-1', seal: `seal-${name}-${version}` });

export function secretStoreContract(adapter: string, fresh: Factory<SecretStore>): void {
  describe(`SecretStore contract: ${adapter}`, () => {
    it('keeps versions, reads the newest or a given one, and refuses a version twice', async () => {
      const store = await fresh();
      expect(await store.get('DB_URL')).toBeNull();
      expect(await store.insert(secretRow('DB_URL', 1))).toBe(true);
      expect(await store.insert(secretRow('DB_URL', 2))).toBe(true);
      expect(await store.insert({ ...secretRow('DB_URL', 2), ciphertext: 'other' })).toBe(false);
      expect(await store.get('DB_URL')).toEqual(secretRow('DB_URL', 2));
      expect(await store.get('DB_URL', 1)).toEqual(secretRow('DB_URL', 1));
      expect(await store.get('DB_URL', 3)).toBeNull();
      expect(await store.get('db_url')).toBeNull();
    });

    it('moves the head with an insert, never down, and reads row and head together', async () => {
      const store = await fresh();
      expect(await store.read('API')).toEqual({ row: null, head: null });
      expect(await store.insert(secretRow('API', 1), secretHead('API', 1))).toBe(true);
      expect(await store.insert(secretRow('API', 2), secretHead('API', 2))).toBe(true);
      expect(await store.read('API')).toEqual({ row: secretRow('API', 2), head: secretHead('API', 2) });
      expect(await store.read('API', 1)).toEqual({ row: secretRow('API', 1), head: secretHead('API', 2) });
      await store.putHead(secretHead('API', 1));
      expect((await store.read('API')).head).toEqual(secretHead('API', 2));
      await store.putHead({ ...secretHead('API', 2), seal: 'resealed' });
      expect((await store.read('API')).head?.seal).toBe('resealed');
      // A writer that lost the version (its own, random wrapped key) leaves the head where it was.
      expect(await store.insert({ ...secretRow('API', 2), wrapped_key: 'other-writer' }, secretHead('API', 9))).toBe(false);
      expect((await store.read('API')).head?.version).toBe(2);
      expect(await store.heads()).toEqual([{ ...secretHead('API', 2), seal: 'resealed' }]);
    });

    it('lists the newest version per name with counts, and every row oldest first', async () => {
      const store = await fresh();
      await store.insert(secretRow('B', 1, NOW + 1));
      await store.insert(secretRow('A', 1, NOW + 2));
      await store.insert(secretRow('B', 2, NOW + 3));
      expect(await store.list()).toEqual([
        { name: 'A', version: 1, versions: 1, created_at: NOW + 2 },
        { name: 'B', version: 2, versions: 2, created_at: NOW + 3 },
      ]);
      expect((await store.all()).map((r) => `${r.name}${r.version}`)).toEqual(['B1', 'A1', 'B2']);
    });

    it('rewraps an existing version and throws for a missing one', async () => {
      const store = await fresh();
      await store.insert(secretRow('K', 1));
      await store.rewrap('K', 1, 'kek-2', 'rewrapped');
      expect(await store.get('K', 1)).toMatchObject({ kek_id: 'kek-2', wrapped_key: 'rewrapped', ciphertext: 'ct-K-1' });
      await expect(store.rewrap('K', 2, 'kek-2', 'x')).rejects.toThrow();
      await expect(store.rewrap('NOPE', 1, 'kek-2', 'x')).rejects.toThrow();
    });

    it("keeps a version's max_age through get, read, all and list, and leaves it absent when none was set", async () => {
      const store = await fresh();
      const long = 400 * 86_400; // past 32 bits of milliseconds, well inside every column type
      expect(await store.insert({ ...secretRow('ROT', 1), max_age: 86_400 }, secretHead('ROT', 1))).toBe(true);
      expect(await store.insert({ ...secretRow('ROT', 2), max_age: long }, secretHead('ROT', 2))).toBe(true);
      expect(await store.insert(secretRow('PLAIN', 1))).toBe(true);
      expect(await store.get('ROT')).toEqual({ ...secretRow('ROT', 2), max_age: long });
      expect(await store.get('ROT', 1)).toEqual({ ...secretRow('ROT', 1), max_age: 86_400 });
      expect((await store.read('ROT', 1)).row).toEqual({ ...secretRow('ROT', 1), max_age: 86_400 });
      expect((await store.read('ROT')).row?.max_age).toBe(long);
      expect(await store.get('PLAIN')).toEqual(secretRow('PLAIN', 1));
      expect(Object.fromEntries((await store.all()).map((r) => [`${r.name}${r.version}`, r.max_age ?? null]))).toEqual({
        ROT1: 86_400,
        ROT2: long,
        PLAIN1: null,
      });
      expect(await store.list()).toEqual([
        { name: 'PLAIN', version: 1, versions: 1, created_at: NOW + 1 },
        { name: 'ROT', version: 2, versions: 2, created_at: NOW + 2, max_age: long },
      ]);
      // A rewrap changes the wrapping only, never the policy.
      await store.rewrap('ROT', 2, 'kek-2', 'rewrapped');
      expect((await store.get('ROT'))?.max_age).toBe(long);
    });

    it('lets one of many concurrent writers of one version win', async () => {
      const store = await fresh();
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => store.insert({ ...secretRow('RACE', 1), ciphertext: `w${i}` })),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
}

const keyRow = (kid: string, activates: number): SigningKeyRow => ({
  kid,
  alg: 'RS256',
  created_at: NOW,
  activates_at: activates,
  public_jwk: `{"kid":"${kid}"}`,
  kek_id: 'kek-1',
  wrapped_key: `wk-${kid}`,
  iv: `iv-${kid}`,
  ciphertext: `ct-${kid}`,
});

export function keyStoreContract(adapter: string, fresh: Factory<KeyStore>): void {
  describe(`KeyStore contract: ${adapter}`, () => {
    it('inserts once per kid, lists by activation, and deletes', async () => {
      const store = await fresh();
      expect(await store.list()).toEqual([]);
      expect(await store.insert(keyRow('k2', NOW + 20))).toBe(true);
      expect(await store.insert(keyRow('k1', NOW + 10))).toBe(true);
      expect(await store.insert({ ...keyRow('k1', NOW + 99), ciphertext: 'other' })).toBe(false);
      expect((await store.list()).map((r) => r.kid)).toEqual(['k1', 'k2']);
      expect((await store.list())[0]).toEqual(keyRow('k1', NOW + 10));
      await store.delete('k1');
      await store.delete('missing');
      expect((await store.list()).map((r) => r.kid)).toEqual(['k2']);
    });

    it('rewraps an existing key and throws for a missing one', async () => {
      const store = await fresh();
      await store.insert(keyRow('k1', NOW));
      await store.rewrap('k1', 'kek-2', 'rewrapped');
      expect((await store.list())[0]).toMatchObject({ kek_id: 'kek-2', wrapped_key: 'rewrapped', ciphertext: 'ct-k1' });
      await expect(store.rewrap('missing', 'kek-2', 'x')).rejects.toThrow();
    });

    it('reseals only from the seal the row still holds', async () => {
      const store = await fresh();
      await store.insert(keyRow('k1', NOW));
      const from: SealedFields = { kek_id: 'kek-1', wrapped_key: 'wk-k1', iv: 'iv-k1', ciphertext: 'ct-k1' };
      const to: SealedFields = { kek_id: 'kek-1', wrapped_key: 'wk2', iv: 'iv2', ciphertext: 'ct2' };
      expect(await store.reseal('k1', from, to)).toBe(true);
      expect(await store.reseal('k1', from, { ...to, ciphertext: 'ct3' })).toBe(false);
      expect((await store.list())[0]).toMatchObject(to);
      expect(await store.reseal('missing', from, to)).toBe(false);
    });
  });
}

const revocation = (requestId: string, owner: string, expires = NOW + 600): RevocationEntry => ({
  request_id: requestId,
  owner,
  expires_at: expires,
  kek_id: 'kek-1',
  wrapped_key: 'wk',
  iv: 'iv',
  ciphertext: `ct-${requestId}`,
});

export function revocationStoreContract(adapter: string, fresh: Factory<RevocationStore>): void {
  describe(`RevocationStore contract: ${adapter}`, () => {
    it('gives an entry once, to its owner only; a stranger neither takes it nor makes the owner miss it', async () => {
      const store = await fresh();
      await store.put(revocation('r1', 'owner-a'));
      expect(await store.has('r1')).toBe(true);
      expect(await store.take('r1', 'owner-b')).toBeNull();
      expect(await store.has('r1')).toBe(true);
      expect(await store.take('r1', 'owner-a')).toEqual(revocation('r1', 'owner-a'));
      expect(await store.take('r1', 'owner-a')).toBeNull();
      expect(await store.has('r1')).toBe(false);
      expect(await store.take('never', 'owner-a')).toBeNull();
    });

    it('lets one of many concurrent takes by the owner win, whatever strangers do meanwhile', async () => {
      const store = await fresh();
      await store.put(revocation('r2', 'owner-a'));
      const takes = await Promise.all(Array.from({ length: 16 }, (_, i) => store.take('r2', i % 2 === 0 ? 'owner-a' : 'owner-b')));
      expect(takes.filter((t) => t !== null)).toEqual([revocation('r2', 'owner-a')]);
    });

    it('purges entries that expired before now, and keeps the rest', async () => {
      const store = await fresh();
      await store.put(revocation('old', 'o', NOW - 1));
      await store.put(revocation('edge', 'o', NOW));
      await store.put(revocation('new', 'o', NOW + 1));
      await store.purge(NOW);
      expect(await store.has('old')).toBe(false);
      expect(await store.has('edge')).toBe(true);
      expect(await store.has('new')).toBe(true);
    });
  });
}

const lease = (id: string, dueAt: number): LeaseRow => ({
  id,
  kind: 'postgres',
  target: '{"connection_secret":"PG","database":"app"}',
  expires_at: dueAt,
  due_at: dueAt,
  attempts: 0,
  last_error: null,
});

export function leaseStoreContract(adapter: string, fresh: Factory<LeaseStore>): void {
  describe(`LeaseStore contract: ${adapter}`, () => {
    it('keeps a lease until deleted and gives the due ones, soonest first, up to the limit', async () => {
      const store = await fresh();
      await store.put(lease('sb_b', NOW + 10));
      await store.put(lease('sb_a', NOW - 5));
      await store.put(lease('sb_c', NOW));
      expect(await store.get('sb_b')).toEqual(lease('sb_b', NOW + 10));
      expect((await store.due(NOW, 10)).map((l) => l.id)).toEqual(['sb_a', 'sb_c']);
      expect((await store.due(NOW, 1)).map((l) => l.id)).toEqual(['sb_a']);
      await store.delete('sb_a');
      expect(await store.get('sb_a')).toBeNull();
      expect((await store.due(NOW + 10, 10)).map((l) => l.id)).toEqual(['sb_c', 'sb_b']);
    });

    it('counts failed removals, keeps the last error and moves the lease to its retry time', async () => {
      const store = await fresh();
      await store.put(lease('sb_x', NOW));
      await store.failed('sb_x', 'connection refused', NOW + 30);
      await store.failed('sb_x', 'role "sb_x" can\'t be dropped', NOW + 60);
      expect(await store.due(NOW + 59, 10)).toEqual([]);
      expect(await store.get('sb_x')).toEqual({
        ...lease('sb_x', NOW),
        due_at: NOW + 60,
        attempts: 2,
        last_error: 'role "sb_x" can\'t be dropped',
      });
    });

    it('lists the expired leases whatever their next sweep, earliest expiry first, up to the limit', async () => {
      const store = await fresh();
      await store.put({ ...lease('sb_late', NOW - 10), due_at: NOW + 600 });
      await store.put(lease('sb_early', NOW - 20));
      await store.put(lease('sb_live', NOW + 5));
      await store.put(lease('sb_edge', NOW));
      expect((await store.expired(NOW, 10)).map((l) => l.id)).toEqual(['sb_early', 'sb_late']);
      expect((await store.expired(NOW, 1)).map((l) => l.id)).toEqual(['sb_early']);
      await store.failed('sb_early', 'down', NOW + 900);
      expect(await store.expired(NOW - 15, 10)).toEqual([
        { ...lease('sb_early', NOW - 20), due_at: NOW + 900, attempts: 1, last_error: 'down' },
      ]);
    });

    it('replaces a lease put again (a revoke moving it forward) without duplicating it', async () => {
      const store = await fresh();
      await store.put(lease('sb_y', NOW + 100));
      await store.put({ ...lease('sb_y', NOW + 100), due_at: NOW });
      expect((await store.due(NOW, 10)).map((l) => l.id)).toEqual(['sb_y']);
    });
  });
}
