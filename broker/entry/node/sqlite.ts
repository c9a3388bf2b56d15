// The storage ports on Node: one SQLite file (node:sqlite) in the data folder. Several broker processes may
// share the file: every promise a port makes (single-use claims, one audit entry per seq, one row per secret
// version) is kept by a single SQL statement, so SQLite's write lock is the only coordination needed.
// node:sqlite is synchronous; the methods are async only because the ports are.
import { chmodSync, closeSync, fdatasync, fstatSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { StatementSync } from 'node:sqlite';
import { DATABASE_FILE } from './database-file.ts';
import { MIGRATIONS } from './migrations.gen.ts';
import type {
  AuditCheckpoint,
  AuditEntry,
  AuditHead,
  AuditQuery,
  AuditStore,
  CheckpointStore,
  KeyStore,
  ReplayGuard,
  LeaseRow,
  LeaseStore,
  RevocationEntry,
  RevocationStore,
  SealedFields,
  SecretHead,
  SecretMeta,
  SigningKeyRow,
  SecretRow,
  SecretStore,
} from '../../src/store/ports.ts';
import {
  advanceHeadParams,
  LEASE_SQL,
  leaseParams,
  toLease,
  SECRET_COLUMNS,
  SECRET_LIST,
  secretParams,
  toSecretMeta,
  SECRET_SQL,
  REPLAY_SQL,
  toAuditEntry,
  toCheckpoint,
  toSecretHead,
  toSecretRead,
  toSecretRow,
} from '../../src/store/rows.ts';

// The schema is migrations/*.sql, shared with D1 (rendered into migrations.gen.ts by scripts/gen-migrations.ts);
// schema_version records how many have been applied. Append only, never edit an applied one.

export { DATABASE_FILE };

/** Opens (creating if needed) `<dataDir>/broker.db`, private to this user, and brings its schema up to date. */
export function openDatabase(dataDir: string): DatabaseSync {
  // The file holds wrapped secrets and the audit log: owner-only, whatever the umask.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, DATABASE_FILE);
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600); // also tightens a file created by something else; SQLite gives -wal/-shm this mode
  const db = new DatabaseSync(path);
  try {
    // busy_timeout first: other processes may hold the lock while we switch to WAL or migrate.
    db.exec('PRAGMA busy_timeout = 5000');
    // WAL: readers never block the writer. synchronous stays FULL: an audit entry must survive a crash (the
    // request path's batches get the same from WriteBatcher's own fdatasync of the WAL).
    db.exec('PRAGMA journal_mode = WAL');
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

function migrate(db: DatabaseSync): void {
  // IMMEDIATE takes the write lock up front, so two processes starting together migrate once.
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const current = Number(db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_version').get()?.v);
    if (current > MIGRATIONS.length) {
      throw new Error(`the database schema is version ${current}, newer than this broker knows (${MIGRATIONS.length}): upgrade`);
    }
    const record = db.prepare('INSERT INTO schema_version (version) VALUES (?)');
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version - 1]!.sql);
      record.run(version);
    }
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

function changedOne(statement: StatementSync, ...params: (string | number | null)[]): boolean {
  return Number(statement.run(...params).changes) === 1;
}

interface QueuedWrite {
  write: () => unknown;
  durable: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for the writes on the request path (replay claims, audit entries). One commit per write
 * capped the broker at a few hundred writes a second whatever the concurrency: writes queued in the same
 * turn of the event loop now share one transaction. Each write runs under its own savepoint, so one that
 * throws is undone and rejected alone; a failed BEGIN or COMMIT rejects them all.
 *
 * Durability without blocking: synchronous=FULL makes COMMIT fsync the WAL on the event loop (node:sqlite
 * is synchronous), which stopped every other request for the fsync (about 0.3 ms idle, several under disk
 * load: a fifth of the main thread at concurrency 32). So a batch commits with synchronous=NORMAL (atomic,
 * visible to every connection, safe from a crash of the process) and the WAL file is then fdatasync'ed on
 * the thread pool; a durable write's promise settles only after that sync, so it is on disk before anyone
 * hears of it, as with FULL. A WAL frame the sync might miss was already synced by the checkpoint that
 * moved it into the database file (SQLite syncs the WAL before every checkpoint). Without a WAL file to
 * sync (an in-memory or non-WAL database), and for a write alone in its batch, COMMIT syncs with FULL: one
 * request at a time gains nothing from the hand-off, which costs a thread-pool round trip (measured here:
 * 0.1-0.5 ms on an idle VM, more than the fsync it moves).
 *
 * A write may be `durable: false` (replay claims): it settles right after COMMIT and is fsynced only by the
 * next durable batch's sync (the WAL is one file) or a checkpoint. A claim must hold for every token that
 * got an answer, and every answer waits for its audit entry's durable write, which comes after the claim;
 * a claim lost with the machine's power belongs to a request that never answered.
 */
export class WriteBatcher {
  readonly #db: DatabaseSync;
  readonly #syncWal: (() => Promise<void>) | undefined;
  #queue: QueuedWrite[] = [];
  #scheduled = false;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#syncWal = walSyncer(db);
  }

  /** Runs `write` (synchronous statements only) in the next group commit; resolves after the commit. */
  run<T>(write: () => T, opts: { durable?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ write, durable: opts.durable ?? true, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // setImmediate, not a microtask: the writes of every request whose I/O completed in this turn join.
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    const outcomes: { ok: boolean; value: unknown }[] = [];
    const durable = batch.some((w) => w.durable);
    // A write alone (one request at a time) is synced by COMMIT itself: handing the sync to the thread pool
    // and back costs more than it frees when nobody else is waiting for the event loop.
    const syncWal = batch.length > 1 ? this.#syncWal : undefined;
    // Committed without an fsync: nothing durable, or the WAL is synced off the event loop below.
    const relaxed = !durable || syncWal !== undefined;
    try {
      if (relaxed) this.#db.exec('PRAGMA synchronous = NORMAL');
      this.#db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      this.#restoreSync(relaxed);
      for (const w of batch) w.reject(error);
      return;
    }
    try {
      for (const w of batch) {
        this.#db.exec('SAVEPOINT queued_write');
        try {
          const value = w.write();
          this.#db.exec('RELEASE queued_write');
          outcomes.push({ ok: true, value });
        } catch (error) {
          this.#db.exec('ROLLBACK TO queued_write');
          this.#db.exec('RELEASE queued_write');
          outcomes.push({ ok: false, value: error });
        }
      }
      this.#db.exec('COMMIT');
    } catch (error) {
      try {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      } catch {
        // The connection is unusable; the next BEGIN reports it.
      }
      this.#restoreSync(relaxed);
      for (const w of batch) w.reject(error);
      return;
    }
    this.#restoreSync(relaxed);
    const settle = (w: QueuedWrite, i: number) => {
      const o = outcomes[i]!;
      if (o.ok) w.resolve(o.value);
      else w.reject(o.value);
    };
    if (!durable || !syncWal) {
      batch.forEach(settle);
      return;
    }
    // Claims and writes that were undone settle now; the durable ones that went in, once on disk.
    const waiting: { w: QueuedWrite; i: number }[] = [];
    batch.forEach((w, i) => {
      if (w.durable && outcomes[i]!.ok) waiting.push({ w, i });
      else settle(w, i);
    });
    syncWal().then(
      () => {
        for (const { w, i } of waiting) settle(w, i);
      },
      // Committed but maybe not on disk: the durable writes fail (their requests fail closed).
      (error: unknown) => {
        for (const { w } of waiting) w.reject(error);
      },
    );
  }

  /** Every other write on the connection (secrets, keys, checkpoints) commits with synchronous=FULL. */
  #restoreSync(relaxed: boolean): void {
    if (!relaxed) return;
    try {
      this.#db.exec('PRAGMA synchronous = FULL');
    } catch {
      // Only fails on a closed or broken connection, which every later statement reports.
    }
  }
}

/**
 * fdatasync of the connection's WAL file on the thread pool, or undefined without one (in memory, or not in
 * WAL mode). The file is opened on first use and again if SQLite ever removed it (its link count is 0).
 */
function walSyncer(db: DatabaseSync): (() => Promise<void>) | undefined {
  const file = db.location();
  const mode = db.prepare('PRAGMA journal_mode').get() as { journal_mode?: string } | undefined;
  if (!file || mode?.journal_mode !== 'wal') return undefined;
  const wal: { fd?: number } = {};
  walFiles.register(db, wal);
  return () =>
    new Promise<void>((resolve, reject) => {
      try {
        if (wal.fd !== undefined && fstatSync(wal.fd).nlink === 0) {
          closeSync(wal.fd);
          delete wal.fd;
        }
        wal.fd ??= openSync(`${file}-wal`, 'r');
      } catch (error) {
        reject(error);
        return;
      }
      fdatasync(wal.fd, (error) => (error ? reject(error) : resolve()));
    });
}

/** Closes a WAL descriptor once its connection is gone (tests and the CLI open many). */
const walFiles = new FinalizationRegistry<{ fd?: number }>((wal) => {
  if (wal.fd === undefined) return;
  try {
    closeSync(wal.fd);
  } catch {
    // Already closed.
  }
});

/** One batcher per connection: every store on it shares the group commit. */
const batchers = new WeakMap<DatabaseSync, WriteBatcher>();

export function writeBatcher(db: DatabaseSync): WriteBatcher {
  let batcher = batchers.get(db);
  if (!batcher) {
    batcher = new WriteBatcher(db);
    batchers.set(db, batcher);
  }
  return batcher;
}

/** Seconds between purges of expired claims, and claims between purges under load. */
const PURGE_INTERVAL_S = 60;
const PURGE_EVERY_CLAIMS = 1000;

export class SqliteReplayGuard implements ReplayGuard {
  readonly #claim: StatementSync;
  readonly #claimReuse: StatementSync;
  readonly #purge: StatementSync;
  readonly #writes: WriteBatcher;
  #claimsSincePurge = 0;
  #lastPurge = Number.NEGATIVE_INFINITY;

  constructor(db: DatabaseSync) {
    this.#writes = writeBatcher(db);
    // One statement each (store/rows.ts REPLAY_SQL): SQLite runs it under its write lock, so across
    // connections and processes exactly one claim wins.
    this.#claim = db.prepare(REPLAY_SQL.claim);
    this.#claimReuse = db.prepare(REPLAY_SQL.claimReuse);
    this.#purge = db.prepare(REPLAY_SQL.purge);
  }

  claim(key: string, expiresAt: number, now: number): Promise<boolean> {
    // Claims of one turn share a commit, which need not wait for an fsync (see WriteBatcher).
    return this.#writes.run(
      () => {
        this.#maybePurge(now);
        return changedOne(this.#claim, key, expiresAt, now);
      },
      { durable: false },
    );
  }

  claimReuse(key: string, tokenSha256: string, expiresAt: number, now: number): Promise<number> {
    return this.#writes.run<number>(
      () => {
        this.#maybePurge(now);
        const row = this.#claimReuse.get(key, expiresAt, tokenSha256, now) as { uses: number } | undefined;
        return row ? Number(row.uses) : 0;
      },
      { durable: false },
    );
  }

  /** Purge before claiming: a failing database then fails the request (closed), never after a claim. */
  #maybePurge(now: number): void {
    if (++this.#claimsSincePurge >= PURGE_EVERY_CLAIMS || now - this.#lastPurge >= PURGE_INTERVAL_S) {
      this.#purge.run(now);
      this.#claimsSincePurge = 0;
      this.#lastPurge = now;
    }
  }
}

/** Thrown inside a batched write to undo an insertMany whose chain position was taken meanwhile. */
const SEQ_TAKEN = Symbol('seq taken');

export class SqliteAuditStore implements AuditStore {
  readonly #head: StatementSync;
  readonly #insert: StatementSync;
  readonly #ascending: StatementSync;
  readonly #descending: StatementSync;
  readonly #writes: WriteBatcher;

  constructor(db: DatabaseSync) {
    this.#writes = writeBatcher(db);
    this.#head = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
    this.#insert = db.prepare('INSERT INTO audit (seq, prev_hash, hash, record) VALUES (?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING');
    // Absent bounds become sentinels and an absent limit becomes -1 (no limit), so two statements serve all.
    const select = 'SELECT seq, prev_hash, hash, record FROM audit WHERE seq > ? AND seq < ? ORDER BY seq';
    this.#ascending = db.prepare(`${select} ASC LIMIT ?`);
    this.#descending = db.prepare(`${select} DESC LIMIT ?`);
  }

  async head(): Promise<AuditHead | null> {
    const row = this.#head.get();
    return row ? { seq: Number(row.seq), hash: String(row.hash) } : null;
  }

  insert(entry: AuditEntry): Promise<boolean> {
    return this.#writes.run(() => changedOne(this.#insert, entry.seq, entry.prev_hash, entry.hash, entry.record));
  }

  async insertMany(entries: AuditEntry[]): Promise<boolean> {
    try {
      return await this.#writes.run(() => {
        for (const e of entries) {
          // All or nothing: a later entry must never land after an earlier one that did not.
          if (!changedOne(this.#insert, e.seq, e.prev_hash, e.hash, e.record)) throw SEQ_TAKEN;
        }
        return true;
      });
    } catch (error) {
      if (error === SEQ_TAKEN) return false;
      throw error;
    }
  }

  async list(query: AuditQuery): Promise<AuditEntry[]> {
    const { limit } = query;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
      throw new RangeError('audit list: limit must be a non-negative integer');
    }
    const statement = query.descending ? this.#descending : this.#ascending;
    const rows = statement.all(query.afterSeq ?? Number.MIN_SAFE_INTEGER, query.beforeSeq ?? Number.MAX_SAFE_INTEGER, limit ?? -1);
    return rows.map(toAuditEntry);
  }
}

export class SqliteCheckpointStore implements CheckpointStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #ascending: StatementSync;
  readonly #descending: StatementSync;
  readonly #pruneAudit: StatementSync;
  readonly #pruneCheckpoints: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert = db.prepare('INSERT INTO audit_checkpoints (seq, hash, time, kid, jws) VALUES (?, ?, ?, ?, ?)');
    const select = 'SELECT seq, hash, time, kid, jws FROM audit_checkpoints WHERE seq > ? AND seq < ?';
    this.#ascending = db.prepare(`${select} ORDER BY seq ASC, id ASC LIMIT ?`);
    this.#descending = db.prepare(`${select} ORDER BY seq DESC, id DESC LIMIT ?`);
    this.#pruneAudit = db.prepare('DELETE FROM audit WHERE seq <= ?');
    this.#pruneCheckpoints = db.prepare('DELETE FROM audit_checkpoints WHERE seq <= ?');
  }

  async insert(c: AuditCheckpoint): Promise<void> {
    this.#insert.run(c.seq, c.hash, c.time, c.kid, c.jws);
  }

  async list(query: AuditQuery): Promise<AuditCheckpoint[]> {
    const statement = query.descending ? this.#descending : this.#ascending;
    return statement
      .all(query.afterSeq ?? Number.MIN_SAFE_INTEGER, query.beforeSeq ?? Number.MAX_SAFE_INTEGER, query.limit ?? -1)
      .map(toCheckpoint);
  }

  async pruneThrough(seq: number): Promise<{ records: number; checkpoints: number }> {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const records = Number(this.#pruneAudit.run(seq).changes);
      const checkpoints = Number(this.#pruneCheckpoints.run(seq).changes);
      this.#db.exec('COMMIT');
      return { records, checkpoints };
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }
}

export class SqliteSecretStore implements SecretStore {
  readonly #db: DatabaseSync;
  readonly #readLatest: StatementSync;
  readonly #readVersion: StatementSync;
  readonly #advanceHead: StatementSync;
  readonly #putHead: StatementSync;
  readonly #heads: StatementSync;
  readonly #latest: StatementSync;
  readonly #version: StatementSync;
  readonly #insert: StatementSync;
  readonly #rewrap: StatementSync;
  readonly #all: StatementSync;
  readonly #list: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#readLatest = db.prepare(SECRET_SQL.readLatest);
    this.#readVersion = db.prepare(SECRET_SQL.readVersion);
    this.#advanceHead = db.prepare(SECRET_SQL.advanceHead);
    this.#putHead = db.prepare(SECRET_SQL.putHead);
    this.#heads = db.prepare(SECRET_SQL.heads);
    this.#latest = db.prepare(`SELECT ${SECRET_COLUMNS} FROM secrets WHERE name = ? ORDER BY version DESC LIMIT 1`);
    this.#version = db.prepare(`SELECT ${SECRET_COLUMNS} FROM secrets WHERE name = ? AND version = ?`);
    this.#insert = db.prepare(
      `INSERT INTO secrets (${SECRET_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name, version) DO NOTHING`,
    );
    this.#rewrap = db.prepare('UPDATE secrets SET kek_id = ?, wrapped_key = ? WHERE name = ? AND version = ?');
    this.#all = db.prepare(`SELECT ${SECRET_COLUMNS} FROM secrets ORDER BY created_at, name, version`);
    this.#list = db.prepare(SECRET_LIST);
  }

  async get(name: string, version?: number): Promise<SecretRow | null> {
    const row = version === undefined ? this.#latest.get(name) : this.#version.get(name, version);
    return row ? toSecretRow(row) : null;
  }

  async read(name: string, version?: number): Promise<{ row: SecretRow | null; head: SecretHead | null }> {
    return toSecretRead(version === undefined ? this.#readLatest.get(name) : this.#readVersion.get(name, version));
  }

  async insert(row: SecretRow, head?: SecretHead): Promise<boolean> {
    const insertRow = () => changedOne(this.#insert, ...secretParams(row));
    if (!head) return insertRow();
    // The version and its head in one transaction: no reader or crash ever sees one without the other.
    // Synchronous from BEGIN to COMMIT, so the connection's batched writes cannot interleave.
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const inserted = insertRow();
      if (inserted) this.#advanceHead.run(...advanceHeadParams(row, head));
      this.#db.exec('COMMIT');
      return inserted;
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  async heads(): Promise<SecretHead[]> {
    return this.#heads.all().map(toSecretHead);
  }

  async putHead(head: SecretHead): Promise<void> {
    this.#putHead.run(head.name, head.version, head.kek_id, head.seal);
  }

  async rewrap(name: string, version: number, kekId: string, wrappedKey: string): Promise<void> {
    if (!changedOne(this.#rewrap, kekId, wrappedKey, name, version)) {
      throw new Error(`secret ${name} version ${version} does not exist`);
    }
  }

  async all(): Promise<SecretRow[]> {
    return this.#all.all().map(toSecretRow);
  }

  async list(): Promise<SecretMeta[]> {
    return this.#list.all().map(toSecretMeta);
  }
}

export class SqliteKeyStore implements KeyStore {
  readonly #rewrap: StatementSync;
  readonly #reseal: StatementSync;
  readonly #list: StatementSync;
  readonly #insert: StatementSync;
  readonly #delete: StatementSync;

  constructor(db: DatabaseSync) {
    this.#list = db.prepare('SELECT * FROM signing_keys ORDER BY activates_at, created_at, kid');
    this.#insert = db.prepare(
      `INSERT INTO signing_keys (kid, alg, created_at, activates_at, public_jwk, kek_id, wrapped_key, iv, ciphertext)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kid) DO NOTHING`,
    );
    this.#delete = db.prepare('DELETE FROM signing_keys WHERE kid = ?');
    this.#rewrap = db.prepare('UPDATE signing_keys SET kek_id = ?, wrapped_key = ? WHERE kid = ?');
    this.#reseal = db.prepare(
      `UPDATE signing_keys SET kek_id = ?, wrapped_key = ?, iv = ?, ciphertext = ?
       WHERE kid = ? AND kek_id = ? AND wrapped_key = ? AND iv = ? AND ciphertext = ?`,
    );
  }

  async reseal(kid: string, from: SealedFields, to: SealedFields): Promise<boolean> {
    return changedOne(
      this.#reseal,
      to.kek_id,
      to.wrapped_key,
      to.iv,
      to.ciphertext,
      kid,
      from.kek_id,
      from.wrapped_key,
      from.iv,
      from.ciphertext,
    );
  }

  async rewrap(kid: string, kekId: string, wrappedKey: string): Promise<void> {
    if (Number(this.#rewrap.run(kekId, wrappedKey, kid).changes) !== 1) throw new Error(`no signing key ${kid} to rewrap`);
  }

  async list(): Promise<SigningKeyRow[]> {
    return this.#list.all() as unknown as SigningKeyRow[];
  }

  async insert(r: SigningKeyRow): Promise<boolean> {
    return changedOne(this.#insert, r.kid, r.alg, r.created_at, r.activates_at, r.public_jwk, r.kek_id, r.wrapped_key, r.iv, r.ciphertext);
  }

  async delete(kid: string): Promise<void> {
    this.#delete.run(kid);
  }
}

export class SqliteRevocationStore implements RevocationStore {
  readonly #put: StatementSync;
  readonly #take: StatementSync;
  readonly #has: StatementSync;
  readonly #purge: StatementSync;

  constructor(db: DatabaseSync) {
    this.#put = db.prepare(
      `INSERT OR REPLACE INTO revocations (request_id, owner, expires_at, kek_id, wrapped_key, iv, ciphertext)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    // One statement that checks the owner as it deletes: two revokes cannot both get the entry, and another
    // identity's revoke leaves it in place.
    this.#take = db.prepare('DELETE FROM revocations WHERE request_id = ? AND owner = ? RETURNING *');
    this.#has = db.prepare('SELECT 1 AS found FROM revocations WHERE request_id = ?');
    this.#purge = db.prepare('DELETE FROM revocations WHERE expires_at < ?');
  }

  async put(e: RevocationEntry): Promise<void> {
    this.#put.run(e.request_id, e.owner, e.expires_at, e.kek_id, e.wrapped_key, e.iv, e.ciphertext);
  }

  async take(requestId: string, owner: string): Promise<RevocationEntry | null> {
    return (this.#take.get(requestId, owner) as unknown as RevocationEntry | undefined) ?? null;
  }

  async has(requestId: string): Promise<boolean> {
    return this.#has.get(requestId) !== undefined;
  }

  async purge(now: number): Promise<void> {
    this.#purge.run(now);
  }
}

export class SqliteLeaseStore implements LeaseStore {
  readonly #put: StatementSync;
  readonly #get: StatementSync;
  readonly #due: StatementSync;
  readonly #expired: StatementSync;
  readonly #failed: StatementSync;
  readonly #delete: StatementSync;

  constructor(db: DatabaseSync) {
    this.#put = db.prepare(LEASE_SQL.put);
    this.#get = db.prepare(LEASE_SQL.get);
    this.#due = db.prepare(LEASE_SQL.due);
    this.#expired = db.prepare(LEASE_SQL.expired);
    this.#failed = db.prepare(LEASE_SQL.failed);
    this.#delete = db.prepare(LEASE_SQL.delete);
  }

  async put(l: LeaseRow): Promise<void> {
    this.#put.run(...leaseParams(l));
  }

  async get(id: string): Promise<LeaseRow | null> {
    const row = this.#get.get(id);
    return row ? toLease(row) : null;
  }

  async due(now: number, limit: number): Promise<LeaseRow[]> {
    return this.#due.all(now, limit).map(toLease);
  }

  async expired(before: number, limit: number): Promise<LeaseRow[]> {
    return this.#expired.all(before, limit).map(toLease);
  }

  async failed(id: string, error: string, dueAt: number): Promise<void> {
    this.#failed.run(error, dueAt, id);
  }

  async delete(id: string): Promise<void> {
    this.#delete.run(id);
  }
}
