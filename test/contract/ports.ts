// One contract suite per storage port (broker/src/store/ports.ts), run against every adapter: memory and
// node:sqlite in test/unit/store/contract.test.ts, D1 and the Durable Objects inside workerd in
// test/workers/contract.test.ts. An adapter that keeps a promise differently from the others fails here.
// Each suite takes a factory that returns a fresh, empty store.
import { describe, expect, it } from 'vitest';
import { buildEntry, GENESIS_HASH } from '../../broker/src/audit/chain.ts';
import type { RateCounter } from '../../broker/src/ratelimit.ts';
import type { AuditCheckpoint, AuditEntry, AuditStore, CheckpointStore, ReplayGuard } from '../../broker/src/store/ports.ts';

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
  const checkpoint = (seq: number, kid: string): AuditCheckpoint => ({ seq, hash: `h${seq}`, time: new Date(NOW * 1000).toISOString(), kid, jws: `jws.${seq}.${kid}` });

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
