// The broker's write path under concurrency (what the bench found: one fsync'd commit per write capped the
// Node broker at a few hundred exchanges a second). Group commit must keep every promise the ports make:
// one success per jti however claims race, nothing resolved before its commit, a failed write undone alone,
// and an audit chain that stays whole when records are written in groups, also by two processes at once.
import { fstatSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { isValid } from 'ulid';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase, SqliteAuditStore, SqliteReplayGuard, writeBatcher } from '../../broker/entry/node/sqlite.ts';
import { Auditor } from '../../broker/src/audit/auditor.ts';
import { readAll, verifyChain } from '../../broker/src/audit/chain.ts';
import { BrokerError } from '../../broker/src/errors.ts';
import type { AuditEntry, AuditStore } from '../../broker/src/store/ports.ts';
import { newRequestId } from '../../broker/src/util/ids.ts';
import { MemoryAuditStore } from '../helpers/memory-stores.ts';
import { makeRecord } from './audit/fixtures.ts';

// Every fdatasync the batcher asks for, passed on to the real one unless a test holds it back.
const syncs = vi.hoisted(() => ({
  calls: [] as number[],
  hold: undefined as undefined | ((run: () => void) => void),
  fail: undefined as undefined | NodeJS.ErrnoException,
}));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    fdatasync: (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
      syncs.calls.push(fd);
      const failure = syncs.fail;
      const run = () => (failure ? setImmediate(() => cb(failure)) : fs.fdatasync(fd, cb));
      if (syncs.hold) syncs.hold(run);
      else run();
    },
  };
});

const NOW = 1_800_000_000;
let dir: string;
const handles: DatabaseSync[] = [];
const open = () => {
  const db = openDatabase(dir);
  handles.push(db);
  return db;
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-group-commit-'));
  syncs.calls.length = 0;
  syncs.hold = undefined;
  syncs.fail = undefined;
});
afterEach(() => {
  for (const h of handles.splice(0)) if (h.isOpen) h.close();
  rmSync(dir, { recursive: true, force: true });
});

const record = (i: number) => makeRecord({ request_id: `REQ-${String(i).padStart(6, '0')}` });

async function chainOf(db: DatabaseSync): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of readAll(new SqliteAuditStore(db))) out.push(e);
  return out;
}

describe('replay claims in group commits', () => {
  it('any number of concurrent copies yield one success per key, committed before they resolve', async () => {
    const guard = new SqliteReplayGuard(open());
    const keys = Array.from({ length: 50 }, (_, i) => `ci\u0000jti-${i}`);
    const results = await Promise.all(
      keys.flatMap((k) => [1, 2, 3, 4].map(() => guard.claim(k, NOW + 600, NOW).then((ok) => [k, ok] as const))),
    );
    for (const k of keys) expect(results.filter(([key, ok]) => key === k && ok)).toHaveLength(1);
    // Another connection (another process) sees every claim: they were committed when the promises resolved.
    const other = open();
    expect(Number(other.prepare('SELECT COUNT(*) AS n FROM replay').get()?.n)).toBe(50);
  });

  it('two connections racing on the same keys: still one success per key', async () => {
    const a = new SqliteReplayGuard(open());
    const b = new SqliteReplayGuard(open());
    const keys = Array.from({ length: 40 }, (_, i) => `ci\u0000race-${i}`);
    const results = await Promise.all(keys.flatMap((k) => [a, b, a, b].map((g) => g.claim(k, NOW + 600, NOW))));
    expect(results.filter(Boolean)).toHaveLength(40);
  });

  it('claims commit without waiting for an fsync; the connection afterwards is back at synchronous=FULL', async () => {
    const db = open();
    const batcher = writeBatcher(db);
    const level = () => Number(db.prepare('PRAGMA synchronous').get()?.synchronous);
    expect(await batcher.run(level, { durable: false })).toBe(1); // NORMAL
    await new SqliteReplayGuard(db).claim('k', NOW + 60, NOW);
    expect(syncs.calls).toEqual([]);
    expect(level()).toBe(2); // FULL for the writes outside the batcher (secrets, keys, checkpoints)
  });

  it('a durable write settles only once the WAL file it was committed to is fdatasynced, off the event loop', async () => {
    const db = open();
    const batcher = writeBatcher(db);
    const held: (() => void)[] = [];
    syncs.hold = (run) => held.push(run);
    const insert = db.prepare('INSERT INTO replay (key, expires_at) VALUES (?, ?)');
    let settled = false;
    let claimed = false;
    const durable = batcher
      .run(() => insert.run('durable', NOW))
      .then(() => {
        settled = true;
      });
    const claim = batcher
      .run(() => insert.run('claim', NOW), { durable: false })
      .then(() => {
        claimed = true;
      });
    await claim;
    await new Promise((r) => setTimeout(r, 20));
    // Committed (another connection sees it) and the claim of the same batch answered, but not the durable write.
    expect(Number(open().prepare("SELECT COUNT(*) AS n FROM replay WHERE key = 'durable'").get()?.n)).toBe(1);
    expect(claimed).toBe(true);
    expect(settled).toBe(false);
    expect(held).toHaveLength(1);
    // The sync is of the database's own WAL file.
    expect(fstatSync(syncs.calls[0]!).ino).toBe(statSync(join(dir, 'broker.db-wal')).ino);
    held[0]!();
    await durable;
    expect(settled).toBe(true);
  });

  it('a failed fdatasync fails the durable writes of its batch (fail closed), not the claims', async () => {
    const batcher = writeBatcher(open());
    const db = handles[0]!;
    syncs.fail = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const insert = db.prepare('INSERT INTO replay (key, expires_at) VALUES (?, ?)');
    const results = await Promise.allSettled([
      batcher.run(() => insert.run('a', NOW)),
      batcher.run(() => insert.run('b', NOW), { durable: false }),
    ]);
    expect(syncs.calls).toHaveLength(1);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect(results[0]).toMatchObject({ reason: { code: 'EIO' } });
  });

  it('a durable write alone in its batch is synced by COMMIT itself (synchronous=FULL), with no hand-off', async () => {
    const db = open();
    const batcher = writeBatcher(db);
    const level = () => Number(db.prepare('PRAGMA synchronous').get()?.synchronous);
    expect(await batcher.run(level)).toBe(2);
    expect(syncs.calls).toEqual([]);
  });

  it('without a WAL file (an in-memory database) durable batches commit with synchronous=FULL', async () => {
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(':memory:');
    handles.push(db);
    const batcher = writeBatcher(db);
    const level = () => Number(db.prepare('PRAGMA synchronous').get()?.synchronous);
    expect(await batcher.run(level)).toBe(2);
    expect(syncs.calls).toEqual([]);
  });

  it('a write that throws is undone and rejected alone; the others in its batch commit', async () => {
    const db = open();
    const batcher = writeBatcher(db);
    const insert = db.prepare('INSERT INTO replay (key, expires_at) VALUES (?, ?)');
    const outcomes = await Promise.allSettled([
      batcher.run(() => insert.run('kept-1', NOW)),
      batcher.run(() => {
        insert.run('undone', NOW);
        throw new Error('boom');
      }),
      batcher.run(() => insert.run('kept-2', NOW)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const keys = open()
      .prepare('SELECT key FROM replay ORDER BY key')
      .all()
      .map((r) => r.key);
    expect(keys).toEqual(['kept-1', 'kept-2']);
  });

  it('a failed commit rejects the whole batch and leaves the connection usable', async () => {
    const db = open();
    const guard = new SqliteReplayGuard(db);
    db.exec('BEGIN'); // someone left a transaction open on this connection: BEGIN IMMEDIATE fails
    const results = await Promise.allSettled([guard.claim('x', NOW + 60, NOW), guard.claim('y', NOW + 60, NOW)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    db.exec('ROLLBACK');
    expect(await guard.claim('x', NOW + 60, NOW)).toBe(true);
  });
});

describe('the auditor writes concurrent records in groups', () => {
  it('300 concurrent appends: each resolves with its own entry, in one gap-free chain, in far fewer commits', async () => {
    const store = new SqliteAuditStore(open());
    let groups = 0;
    const counting: AuditStore = {
      head: () => store.head(),
      list: (q) => store.list(q),
      insert: (e) => store.insert(e),
      insertMany: (es) => {
        groups++;
        return store.insertMany(es);
      },
    };
    const auditor = new Auditor(counting);
    const entries = await Promise.all(Array.from({ length: 300 }, (_, i) => auditor.append(record(i))));
    for (const [i, e] of entries.entries()) expect(JSON.parse(e.record).request_id).toBe(`REQ-${String(i).padStart(6, '0')}`);
    expect(entries.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    const stored = await chainOf(open());
    expect(await verifyChain(stored)).toMatchObject({ ok: true, count: 300 });
    expect(groups).toBeGreaterThan(0);
    expect(groups).toBeLessThan(50);
  });

  it('two processes appending at once: conflicts are retried, nothing is lost, the chain stays whole', async () => {
    const a = new Auditor(new SqliteAuditStore(open()));
    const b = new Auditor(new SqliteAuditStore(open()));
    const all = await Promise.all(Array.from({ length: 400 }, (_, i) => (i % 2 ? a : b).append(record(i))));
    expect(new Set(all.map((e) => e.seq)).size).toBe(400);
    const stored = await chainOf(open());
    expect(await verifyChain(stored)).toMatchObject({ ok: true, count: 400 });
    expect(new Set(stored.map((e) => JSON.parse(e.record).request_id)).size).toBe(400);
  });

  it('a store without insertMany: one at a time, and a conflict keeps what went in', async () => {
    const shared = new MemoryAuditStore();
    const a = new Auditor(shared);
    const b = new Auditor(shared);
    const all = await Promise.all(Array.from({ length: 120 }, (_, i) => (i % 3 ? a : b).append(record(i))));
    expect(new Set(all.map((e) => e.seq)).size).toBe(120);
    expect(await verifyChain(shared.entries)).toMatchObject({ ok: true, count: 120 });
  });

  it('a group that cannot be written fails as ERR_UNAVAILABLE; the groups after it are written', async () => {
    const store = new SqliteAuditStore(open());
    let failNext = true;
    const flaky: AuditStore = {
      head: () => store.head(),
      list: (q) => store.list(q),
      insert: (e) => store.insert(e),
      insertMany: async (es) => {
        if (failNext) {
          failNext = false;
          throw new Error('disk I/O error');
        }
        return store.insertMany(es);
      },
    };
    const auditor = new Auditor(flaky);
    // The first append goes alone (nothing in flight yet); the next ones queue behind it as one group.
    const first = auditor.append(record(0));
    const group = Array.from({ length: 10 }, (_, i) => auditor.append(record(i + 1)));
    await first;
    const settled = await Promise.allSettled(group);
    expect(settled.every((s) => s.status === 'rejected' && s.reason instanceof BrokerError && s.reason.code === 'ERR_UNAVAILABLE')).toBe(
      true,
    );
    await Promise.all([auditor.append(record(20)), auditor.append(record(21)), auditor.append(record(22))]);
    const stored = await chainOf(open());
    expect(await verifyChain(stored)).toMatchObject({ ok: true, count: 4 });
  });
});

describe('request ids', () => {
  it('unique, valid ULIDs, increasing within one millisecond (drawn from a pooled random source)', () => {
    const ids = Array.from({ length: 20_000 }, () => newRequestId(1_800_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => isValid(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    // Across milliseconds the random part is fresh; its characters cover the whole alphabet.
    const fresh = Array.from({ length: 2_000 }, (_, i) => newRequestId(1_800_000_000_000 + 1 + i).slice(10));
    expect(new Set(fresh.join('')).size).toBe(32);
  });
});

describe('who writes a group', () => {
  it('always one of the requests whose records are in it (on Workers a request cannot work for a later one)', async () => {
    const { AsyncLocalStorage } = await import('node:async_hooks');
    const context = new AsyncLocalStorage<string>();
    const store = new SqliteAuditStore(open());
    const writers: { by: string | undefined; ids: string[] }[] = [];
    const watching: AuditStore = {
      head: () => store.head(),
      list: (q) => store.list(q),
      insert: (e) => {
        writers.push({ by: context.getStore(), ids: [JSON.parse(e.record).request_id] });
        return store.insert(e);
      },
      insertMany: (es) => {
        writers.push({ by: context.getStore(), ids: es.map((e) => JSON.parse(e.record).request_id) });
        return store.insertMany(es);
      },
    };
    const auditor = new Auditor(watching);
    // Each append runs in its own "request" context, arriving in waves while writes are in flight.
    const all: Promise<AuditEntry>[] = [];
    for (let wave = 0; wave < 5; wave++) {
      for (let i = 0; i < 20; i++) {
        const id = `REQ-${String(wave * 20 + i).padStart(6, '0')}`;
        all.push(context.run(id, () => auditor.append(makeRecord({ request_id: id }))));
      }
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(writers.length).toBeGreaterThan(1);
    for (const w of writers) expect(w.ids).toContain(w.by);
  });
});
