// The audit and secret ports on D1, with the same semantics as the node:sqlite ports
// (broker/entry/node/sqlite.ts): every promise a port makes (one audit entry per seq, one row per secret
// version) is kept by a single SQL statement, so D1's serialised writes are the only coordination needed,
// across isolates and colos alike. Schema: migrations/0001_init.sql.
import type { D1Database } from '@cloudflare/workers-types';
import type {
  AuditCheckpoint,
  AuditEntry,
  AuditHead,
  AuditQuery,
  AuditStore,
  CheckpointStore,
  LeaseRow,
  LeaseStore,
  SecretHead,
  SecretMeta,
  SecretRow,
  SecretStore,
} from '../../src/store/ports.ts';
import {
  advanceHeadParams,
  SECRET_COLUMNS,
  SECRET_LIST,
  secretParams,
  toSecretMeta,
  SECRET_SQL,
  toAuditEntry,
  toCheckpoint,
  toSecretHead,
  toSecretRead,
  toSecretRow,
  LEASE_SQL,
  leaseParams,
  toLease,
} from '../../src/store/rows.ts';

type Row = Record<string, unknown>;

export class D1AuditStore implements AuditStore {
  readonly #db: D1Database;

  constructor(db: D1Database) {
    this.#db = db;
  }

  async head(): Promise<AuditHead | null> {
    const row = await this.#db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').first<Row>();
    return row ? { seq: Number(row.seq), hash: String(row.hash) } : null;
  }

  async insert(entry: AuditEntry): Promise<boolean> {
    const result = await this.#db
      .prepare('INSERT INTO audit (seq, prev_hash, hash, record) VALUES (?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING')
      .bind(entry.seq, entry.prev_hash, entry.hash, entry.record)
      .run();
    return result.meta.changes === 1;
  }

  /**
   * The records of concurrent requests in one D1 batch (one transaction, one round trip). All or nothing: a
   * plain INSERT makes a taken seq fail the batch, which D1 rolls back whole.
   */
  async insertMany(entries: AuditEntry[]): Promise<boolean> {
    const insert = this.#db.prepare('INSERT INTO audit (seq, prev_hash, hash, record) VALUES (?, ?, ?, ?)');
    try {
      await this.#db.batch(entries.map((e) => insert.bind(e.seq, e.prev_hash, e.hash, e.record)));
      return true;
    } catch (err) {
      if (/UNIQUE constraint failed/i.test(String((err as Error)?.message ?? err))) return false;
      throw err;
    }
  }

  async list(query: AuditQuery): Promise<AuditEntry[]> {
    const { limit } = query;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
      throw new RangeError('audit list: limit must be a non-negative integer');
    }
    // Absent bounds become sentinels and an absent limit becomes -1 (no limit), as on Node.
    const order = query.descending ? 'DESC' : 'ASC';
    const { results } = await this.#db
      .prepare(`SELECT seq, prev_hash, hash, record FROM audit WHERE seq > ? AND seq < ? ORDER BY seq ${order} LIMIT ?`)
      .bind(query.afterSeq ?? Number.MIN_SAFE_INTEGER, query.beforeSeq ?? Number.MAX_SAFE_INTEGER, limit ?? -1)
      .all<Row>();
    return results.map(toAuditEntry);
  }
}

export class D1SecretStore implements SecretStore {
  readonly #db: D1Database;

  constructor(db: D1Database) {
    this.#db = db;
  }

  async get(name: string, version?: number): Promise<SecretRow | null> {
    const statement =
      version === undefined
        ? this.#db.prepare(`SELECT ${SECRET_COLUMNS} FROM secrets WHERE name = ? ORDER BY version DESC LIMIT 1`).bind(name)
        : this.#db.prepare(`SELECT ${SECRET_COLUMNS} FROM secrets WHERE name = ? AND version = ?`).bind(name, version);
    const row = await statement.first<Row>();
    return row ? toSecretRow(row) : null;
  }

  async read(name: string, version?: number): Promise<{ row: SecretRow | null; head: SecretHead | null }> {
    const statement =
      version === undefined
        ? this.#db.prepare(SECRET_SQL.readLatest).bind(name)
        : this.#db.prepare(SECRET_SQL.readVersion).bind(name, version);
    return toSecretRead(await statement.first<Row>());
  }

  async insert(row: SecretRow, head?: SecretHead): Promise<boolean> {
    const insert = this.#db
      .prepare(`INSERT INTO secrets (${SECRET_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name, version) DO NOTHING`)
      .bind(...secretParams(row));
    if (!head) return (await insert.run()).meta.changes === 1;
    // One batch is one transaction: the version and its head land together. The head statement checks
    // that the row is this writer's, so a writer that lost the version moves nothing.
    const [inserted] = await this.#db.batch([insert, this.#db.prepare(SECRET_SQL.advanceHead).bind(...advanceHeadParams(row, head))]);
    return inserted?.meta.changes === 1;
  }

  async heads(): Promise<SecretHead[]> {
    const { results } = await this.#db.prepare(SECRET_SQL.heads).all<Row>();
    return results.map(toSecretHead);
  }

  async putHead(head: SecretHead): Promise<void> {
    await this.#db.prepare(SECRET_SQL.putHead).bind(head.name, head.version, head.kek_id, head.seal).run();
  }

  async rewrap(name: string, version: number, kekId: string, wrappedKey: string): Promise<void> {
    const result = await this.#db
      .prepare('UPDATE secrets SET kek_id = ?, wrapped_key = ? WHERE name = ? AND version = ?')
      .bind(kekId, wrappedKey, name, version)
      .run();
    if (result.meta.changes !== 1) throw new Error(`secret ${name} version ${version} does not exist`);
  }

  async all(): Promise<SecretRow[]> {
    const { results } = await this.#db.prepare(`SELECT ${SECRET_COLUMNS} FROM secrets ORDER BY created_at, name, version`).all<Row>();
    return results.map(toSecretRow);
  }

  async list(): Promise<SecretMeta[]> {
    const { results } = await this.#db.prepare(SECRET_LIST).all<Row>();
    return results.map(toSecretMeta);
  }
}

/** Signed audit checkpoints on D1 (migrations/0003_audit_checkpoints.sql), as SqliteCheckpointStore. */
export class D1CheckpointStore implements CheckpointStore {
  readonly #db: D1Database;

  constructor(db: D1Database) {
    this.#db = db;
  }

  async insert(c: AuditCheckpoint): Promise<void> {
    await this.#db
      .prepare('INSERT INTO audit_checkpoints (seq, hash, time, kid, jws) VALUES (?, ?, ?, ?, ?)')
      .bind(c.seq, c.hash, c.time, c.kid, c.jws)
      .run();
  }

  async list(query: AuditQuery): Promise<AuditCheckpoint[]> {
    const order = query.descending ? 'DESC' : 'ASC';
    const { results } = await this.#db
      .prepare(
        `SELECT seq, hash, time, kid, jws FROM audit_checkpoints WHERE seq > ? AND seq < ? ORDER BY seq ${order}, id ${order} LIMIT ?`,
      )
      .bind(query.afterSeq ?? Number.MIN_SAFE_INTEGER, query.beforeSeq ?? Number.MAX_SAFE_INTEGER, query.limit ?? -1)
      .all<Row>();
    return results.map(toCheckpoint);
  }

  /** Both deletes in one batch: one transaction, as on Node. */
  async pruneThrough(seq: number): Promise<{ records: number; checkpoints: number }> {
    const [records, checkpoints] = await this.#db.batch([
      this.#db.prepare('DELETE FROM audit WHERE seq <= ?').bind(seq),
      this.#db.prepare('DELETE FROM audit_checkpoints WHERE seq <= ?').bind(seq),
    ]);
    return { records: records?.meta.changes ?? 0, checkpoints: checkpoints?.meta.changes ?? 0 };
  }
}

/** Upstream logins to remove (the `postgres` grant): the statements of SqliteLeaseStore (store/rows.ts). */
export class D1LeaseStore implements LeaseStore {
  readonly #db: D1Database;

  constructor(db: D1Database) {
    this.#db = db;
  }

  async put(l: LeaseRow): Promise<void> {
    await this.#db
      .prepare(LEASE_SQL.put)
      .bind(...leaseParams(l))
      .run();
  }

  async get(id: string): Promise<LeaseRow | null> {
    const row = await this.#db.prepare(LEASE_SQL.get).bind(id).first<Row>();
    return row ? toLease(row) : null;
  }

  async due(now: number, limit: number): Promise<LeaseRow[]> {
    const { results } = await this.#db.prepare(LEASE_SQL.due).bind(now, limit).all<Row>();
    return results.map(toLease);
  }

  async expired(before: number, limit: number): Promise<LeaseRow[]> {
    const { results } = await this.#db.prepare(LEASE_SQL.expired).bind(before, limit).all<Row>();
    return results.map(toLease);
  }

  async failed(id: string, error: string, dueAt: number): Promise<void> {
    await this.#db.prepare(LEASE_SQL.failed).bind(error, dueAt, id).run();
  }

  async delete(id: string): Promise<void> {
    await this.#db.prepare(LEASE_SQL.delete).bind(id).run();
  }
}
