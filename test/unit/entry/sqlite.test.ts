import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteAuditStore, SqliteReplayGuard, SqliteSecretStore, openDatabase } from '../../../broker/entry/node/sqlite.ts';
import { generateKekBase64, importKek } from '../../../broker/src/store/envelope.ts';
import type { AuditEntry } from '../../../broker/src/store/ports.ts';
import { SecretVault } from '../../../broker/src/store/secrets.ts';

const NOW = 1_800_000_000;
const SQLITE_MODULE = pathToFileURL(join(import.meta.dirname, '../../../broker/entry/node/sqlite.ts')).href;

let dir: string;
let dataDir: string;
const open: DatabaseSync[] = [];

function db(): DatabaseSync {
  const handle = openDatabase(dataDir);
  open.push(handle);
  return handle;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'broker-sqlite-'));
  dataDir = join(dir, 'data', 'nested');
});

afterEach(() => {
  for (const handle of open.splice(0)) if (handle.isOpen) handle.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('openDatabase', () => {
  it('creates a private data folder and database file', () => {
    db();
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'broker.db')).mode & 0o777).toBe(0o600);
  });

  it('uses WAL, a busy timeout and a versioned schema; reopening is harmless', () => {
    const first = db();
    expect(first.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(first.prepare('PRAGMA busy_timeout').get()).toEqual({ timeout: 5000 });
    const tables = first.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
    expect(tables.map((t) => t.name)).toEqual([
      'audit',
      'audit_checkpoints',
      'leases',
      'replay',
      'revocations',
      'schema_version',
      'secret_heads',
      'secrets',
      'signing_keys',
    ]);
    first.close();
    const second = db();
    expect(second.prepare('SELECT version FROM schema_version').all()).toEqual([
      { version: 1 },
      { version: 2 },
      { version: 3 },
      { version: 4 },
      { version: 5 },
      { version: 6 },
      { version: 7 },
      { version: 8 },
    ]);
  });

  it('tightens the mode of an existing database file', () => {
    db().close();
    const path = join(dataDir, 'broker.db');
    chmodSync(path, 0o644);
    db();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('refuses a schema newer than it knows', () => {
    db().exec('INSERT INTO schema_version (version) VALUES (99)');
    expect(() => db()).toThrow(/newer/);
  });
});

describe('SqliteReplayGuard', () => {
  it('200 concurrent claims of one key: exactly one wins', async () => {
    const guard = new SqliteReplayGuard(db());
    const results = await Promise.all(Array.from({ length: 200 }, () => guard.claim('jti-1', NOW + 600, NOW)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await guard.claim('jti-2', NOW + 600, NOW)).toBe(true);
  });

  it('two connections on one file (two processes): one success', async () => {
    const a = new SqliteReplayGuard(db());
    const b = new SqliteReplayGuard(db());
    const results = await Promise.all([a.claim('k', NOW + 60, NOW), b.claim('k', NOW + 60, NOW)]);
    expect(results.sort()).toEqual([false, true]);
    expect(await a.claim('k', NOW + 60, NOW)).toBe(false);
  });

  it('four threads racing on the same keys: one success per key', async () => {
    db(); // create and migrate once, so the threads race on claims, not on setup
    const keys = 300;
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { openDatabase, SqliteReplayGuard } = await import(workerData.module);
        const database = openDatabase(workerData.dataDir);
        const guard = new SqliteReplayGuard(database);
        const won = [];
        for (let i = 0; i < workerData.keys; i++) if (await guard.claim('key-' + i, workerData.exp, workerData.now)) won.push(i);
        database.close();
        parentPort.postMessage(won);
      })().catch((error) => parentPort.postMessage(String(error && error.stack || error)));
    `;
    const run = () =>
      new Promise<number[]>((resolve, reject) => {
        const worker = new Worker(code, {
          eval: true,
          workerData: { module: SQLITE_MODULE, dataDir, keys, exp: NOW + 60, now: NOW },
        });
        worker.once('message', (m: number[] | string) => (typeof m === 'string' ? reject(new Error(m)) : resolve(m)));
        worker.once('error', reject);
      });
    const won = (await Promise.all([run(), run(), run(), run()])).flat();
    expect(won).toHaveLength(keys);
    expect(new Set(won).size).toBe(keys);
  });

  it('a key can be claimed again only after it expires', async () => {
    const guard = new SqliteReplayGuard(db());
    expect(await guard.claim('k', NOW + 100, NOW)).toBe(true);
    expect(await guard.claim('k', NOW + 500, NOW + 99)).toBe(false);
    expect(await guard.claim('k', NOW + 500, NOW + 100)).toBe(false); // still held at its expiry second
    expect(await guard.claim('k', NOW + 500, NOW + 101)).toBe(true);
    // The new claim holds until its own expiry.
    expect(await guard.claim('k', NOW + 900, NOW + 400)).toBe(false);
  });

  it('a later claim with a shorter expiry does not shorten a live one', async () => {
    const guard = new SqliteReplayGuard(db());
    expect(await guard.claim('k', NOW + 1000, NOW)).toBe(true);
    expect(await guard.claim('k', NOW + 1, NOW)).toBe(false);
    expect(await guard.claim('k', NOW + 1, NOW + 500)).toBe(false);
  });

  it('purges expired rows now and then', async () => {
    const handle = db();
    const guard = new SqliteReplayGuard(handle);
    for (let i = 0; i < 10; i++) await guard.claim(`old-${i}`, NOW + 10, NOW);
    const count = () => Number(handle.prepare('SELECT COUNT(*) AS n FROM replay').get()?.n);
    expect(count()).toBe(10);
    await guard.claim('new', NOW + 1000, NOW + 30); // within a minute of the last purge: kept
    expect(count()).toBe(11);
    await guard.claim('newer', NOW + 1000, NOW + 120);
    expect(count()).toBe(2);
  });
});

function entry(seq: number): AuditEntry {
  return { seq, prev_hash: `h${seq - 1}`, hash: `h${seq}`, record: JSON.stringify({ seq }) };
}

describe('SqliteAuditStore', () => {
  it('inserts once per seq and reports the head', async () => {
    const store = new SqliteAuditStore(db());
    expect(await store.head()).toBeNull();
    expect(await store.insert(entry(1))).toBe(true);
    expect(await store.insert({ ...entry(1), record: 'other' })).toBe(false);
    expect(await store.insert(entry(2))).toBe(true);
    expect(await store.head()).toEqual({ seq: 2, hash: 'h2' });
    expect(await store.list({})).toEqual([entry(1), entry(2)]);
  });

  it('one conflict winner across connections', async () => {
    const a = new SqliteAuditStore(db());
    const b = new SqliteAuditStore(db());
    const results = await Promise.all([a.insert(entry(1)), b.insert({ ...entry(1), hash: 'x' })]);
    expect(results.sort()).toEqual([false, true]);
  });

  it('lists with cursors, limits and direction', async () => {
    const store = new SqliteAuditStore(db());
    for (let seq = 1; seq <= 10; seq++) await store.insert(entry(seq));
    const seqs = async (q: Parameters<typeof store.list>[0]) => (await store.list(q)).map((e) => e.seq);
    expect(await seqs({})).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await seqs({ afterSeq: 7 })).toEqual([8, 9, 10]);
    expect(await seqs({ beforeSeq: 3 })).toEqual([1, 2]);
    expect(await seqs({ afterSeq: 2, beforeSeq: 6 })).toEqual([3, 4, 5]);
    expect(await seqs({ limit: 3 })).toEqual([1, 2, 3]);
    expect(await seqs({ descending: true, limit: 3 })).toEqual([10, 9, 8]);
    expect(await seqs({ descending: true, beforeSeq: 5, limit: 2 })).toEqual([4, 3]);
    expect(await seqs({ limit: 0 })).toEqual([]);
    await expect(store.list({ limit: -1 })).rejects.toThrow(RangeError);
    await expect(store.list({ limit: 1.5 })).rejects.toThrow(RangeError);
  });
});

describe('SqliteSecretStore', () => {
  it('meets the SecretStore contract', async () => {
    const store = new SqliteSecretStore(db());
    const row = (name: string, version: number, created_at = NOW) => ({
      name,
      version,
      kek_id: 'k1',
      wrapped_key: `w-${name}-${version}`,
      iv: 'iv',
      ciphertext: `c-${name}-${version}`,
      created_at,
    });
    expect(await store.get('A')).toBeNull();
    expect(await store.insert(row('A', 1))).toBe(true);
    expect(await store.insert(row('A', 1))).toBe(false);
    expect(await store.insert(row('A', 2, NOW + 1))).toBe(true);
    expect(await store.insert(row('B', 1, NOW + 2))).toBe(true);
    expect(await store.get('A')).toEqual(row('A', 2, NOW + 1));
    expect(await store.get('A', 1)).toEqual(row('A', 1));
    expect(await store.get('A', 3)).toBeNull();
    expect(await store.list()).toEqual([
      { name: 'A', version: 2, versions: 2, created_at: NOW + 1 },
      { name: 'B', version: 1, versions: 1, created_at: NOW + 2 },
    ]);
    await store.rewrap('A', 1, 'k2', 'new-wrap');
    expect(await store.get('A', 1)).toEqual({ ...row('A', 1), kek_id: 'k2', wrapped_key: 'new-wrap' });
    await expect(store.rewrap('A', 9, 'k2', 'x')).rejects.toThrow(/does not exist/);
    expect((await store.all()).map((r) => `${r.name}${r.version}`)).toEqual(['A1', 'A2', 'B1']);
  });

  it('backs a SecretVault: versions, values, rotation, across reopen', async () => {
    const oldKek = await importKek(generateKekBase64());
    const newKek = await importKek(generateKekBase64());
    const vault = new SecretVault(new SqliteSecretStore(db()), { current: oldKek });
    expect((await vault.put('DATABASE_URL', 'postgres://one', NOW)).version).toBe(1);
    expect((await vault.put('DATABASE_URL', 'postgres://two', NOW)).version).toBe(2);
    expect(await vault.rotateKek(newKek)).toBe(2);

    const reopened = new SecretVault(new SqliteSecretStore(db()), { current: newKek });
    expect((await reopened.get('DATABASE_URL'))?.value).toBe('postgres://two');
    expect((await reopened.get('DATABASE_URL', 1))?.value).toBe('postgres://one');
    const raw = db().prepare('SELECT ciphertext, wrapped_key FROM secrets').all();
    expect(JSON.stringify(raw)).not.toContain('postgres');
  });

  it('concurrent puts through two connections get distinct versions', async () => {
    const kek = await importKek(generateKekBase64());
    const a = new SecretVault(new SqliteSecretStore(db()), { current: kek });
    const b = new SecretVault(new SqliteSecretStore(db()), { current: kek });
    const results = await Promise.all([a.put('X', '1', NOW), b.put('X', '2', NOW), a.put('X', '3', NOW)]);
    expect(results.map((r) => r.version).sort()).toEqual([1, 2, 3]);
  });
});
