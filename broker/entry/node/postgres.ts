// The storage ports on PostgreSQL (BROKER_DATABASE_URL), for several broker replicas sharing one database.
// Every promise a port makes is kept by PostgreSQL itself, never by a replica's memory: a replay claim is one
// upsert, an audit group one multi-row INSERT on the seq primary key (all or nothing; a replica that lost the
// race re-reads the head and re-chains), a rate-limit hit one upsert, a checkpoint insert-if-absent.
//
// Driver: postgres.js, chosen on measurement against pg (PostgreSQL 15 on loopback, pool of 10, concurrency
// 30, 2 cores): replay claims 15.7k/s against 13.3k/s, audit inserts 24.4k/s against 13.9k/s (pipelining);
// across a fast server shutdown both rejected the query in flight at once, but after the restart postgres.js
// answered the first query while pg's pool handed out a dead connection and failed it. Neither driver bounds
// a query in time, so every query here runs under a deadline: the server's statement_timeout, and on this
// side the same plus a grace, after which the pool is replaced (a hung connection must not keep the next
// requests waiting) and the caller gets an error the broker answers with 503 ERR_UNAVAILABLE.
import postgres from 'postgres';
import type {
  AuditCheckpoint,
  AuditEntry,
  AuditHead,
  AuditQuery,
  AuditStore,
  CheckpointStore,
  KeyStore,
  RateCounter,
  ReplayGuard,
  LeaseRow,
  LeaseStore,
  RevocationEntry,
  RevocationStore,
  SealedFields,
  SecretHead,
  SecretMeta,
  SecretRow,
  SecretStore,
  SigningKeyRow,
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
  toLease,
  toSecretRow,
  type SqlRow,
} from '../../src/store/rows.ts';
import { MIGRATIONS } from './postgres-migrations.gen.ts';

type Param = string | number | null | Buffer;
type Rows = SqlRow[] & { count: number };
type Run = (text: string, params?: Param[], opts?: { simple?: boolean }) => Promise<Rows>;

export interface PostgresOptions {
  url: string;
  /** Connections per process (BROKER_DATABASE_POOL_SIZE). */
  poolSize: number;
  /** Deadline of every statement (BROKER_DATABASE_STATEMENT_TIMEOUT_MS). */
  statementTimeoutMs: number;
  log?: (line: Record<string, unknown>) => void;
}

/** A query that missed its deadline, or a pool replaced under it. */
export class DatabaseUnavailableError extends Error {}

/** Time given to the server's own statement_timeout to answer before this side gives up on the connection. */
const GRACE_MS = 1000;

export class PostgresDatabase {
  readonly #opts: PostgresOptions;
  #sql: postgres.Sql;
  /** Every pool not yet ended: a replaced pool may still be reconnecting, and must not outlive end(). */
  readonly #pools = new Set<postgres.Sql>();
  #closed = false;

  constructor(opts: PostgresOptions) {
    this.#opts = opts;
    this.#sql = this.#connect();
  }

  #connect(): postgres.Sql {
    const ms = this.#opts.statementTimeoutMs;
    const sql = postgres(this.#opts.url, {
      max: this.#opts.poolSize,
      connect_timeout: Math.max(1, Math.ceil(ms / 1000)),
      idle_timeout: 60,
      prepare: true,
      onnotice: () => {},
      // Server-side deadlines too: a statement waiting on a lock, or a transaction left open by a replica that
      // died, is ended by the server.
      connection: {
        application_name: 'secret-broker',
        statement_timeout: ms,
        idle_in_transaction_session_timeout: ms * 2,
      },
      // int8 (seq, epoch seconds) as numbers: every value the broker stores is far below 2^53.
      types: { int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } },
    });
    this.#pools.add(sql);
    return sql;
  }

  #end(sql: postgres.Sql, timeoutS: number): Promise<void> {
    return sql
      .end({ timeout: timeoutS })
      .catch(() => {})
      .finally(() => this.#pools.delete(sql));
  }

  /** One statement, under the deadline. */
  query(text: string, params: Param[] = []): Promise<Rows> {
    return this.#deadline((sql) => sql.unsafe(text, params, { prepare: true }) as unknown as Promise<Rows>);
  }

  /** A transaction (BEGIN ... COMMIT, rolled back when `fn` throws), all of it under one deadline. */
  transaction<T>(fn: (run: Run) => Promise<T>): Promise<T> {
    return this.#deadline(
      (sql) =>
        sql.begin((tx) =>
          fn(
            (text, params = [], opts = {}) =>
              (opts.simple ? tx.unsafe(text).simple() : tx.unsafe(text, params, { prepare: true })) as unknown as Promise<Rows>,
          ),
        ) as Promise<T>,
    );
  }

  async #deadline<T>(run: (sql: postgres.Sql) => Promise<T>): Promise<T> {
    if (this.#closed) throw new DatabaseUnavailableError('the database connection is closed');
    const sql = this.#sql;
    const pending = run(sql);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#reset(sql, 'a query missed its deadline');
        reject(new DatabaseUnavailableError(`the database did not answer within ${this.#opts.statementTimeoutMs + GRACE_MS} ms`));
      }, this.#opts.statementTimeoutMs + GRACE_MS);
    });
    // The loser of the race must not become an unhandled rejection.
    pending.catch(() => {});
    try {
      return await Promise.race([pending, deadline]);
    } catch (error) {
      // A lost connection: measured, the pool answered the first queries after a server restart with the
      // old server's termination error. New connections, so that service resumes with the database.
      if (isConnectionLost(error)) this.#reset(sql, error);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Replaces a pool whose connections stopped answering; its queries in flight fail now, not minutes later. */
  #reset(stale: postgres.Sql, why: unknown): void {
    if (this.#sql !== stale || this.#closed) return;
    this.#opts.log?.({ level: 'warn', event: 'database.pool_reset', detail: String((why as Error)?.message ?? why) });
    this.#sql = this.#connect();
    void this.#end(stale, 0);
  }

  /** Brings the schema up to date: one replica at a time (an advisory lock), each migration once. */
  async migrate(): Promise<void> {
    await this.transaction(async (run) => {
      await run("SELECT pg_advisory_xact_lock(hashtext('secret-broker:schema'))");
      await run('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
      const [row] = await run('SELECT COALESCE(MAX(version), 0) AS v FROM schema_version');
      const current = Number(row?.v ?? 0);
      if (current > MIGRATIONS.length) {
        throw new Error(`the database schema is version ${current}, newer than this broker knows (${MIGRATIONS.length}): upgrade`);
      }
      for (let version = current + 1; version <= MIGRATIONS.length; version++) {
        // Several statements in one string: the simple protocol (no parameters).
        await run(MIGRATIONS[version - 1]!.sql, [], { simple: true });
        await run('INSERT INTO schema_version (version) VALUES ($1)', [version]);
      }
    });
  }

  async end(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#pools].map((sql) => this.#end(sql, sql === this.#sql ? 2 : 0)));
  }
}

/** Opens the pool and migrates; the caller ends it. */
export async function openPostgres(opts: PostgresOptions): Promise<PostgresDatabase> {
  const db = new PostgresDatabase(opts);
  try {
    await db.migrate();
  } catch (error) {
    await db.end();
    throw error;
  }
  return db;
}

/** `?` placeholders (the SQL shared with SQLite, store/rows.ts) as PostgreSQL's `$1, $2, ...`. */
function numbered(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

/**
 * Errors that mean the connection is gone rather than the statement refused: postgres.js's own
 * (CONNECTION_*), the socket's, and the server's admin shutdown / crash / connection-exception classes.
 */
function isConnectionLost(error: unknown): boolean {
  const code = String((error as { code?: unknown })?.code ?? '');
  return /^(CONNECTION_|CONNECT_TIMEOUT|E(CONNREFUSED|CONNRESET|PIPE|HOSTUNREACH|NETUNREACH|TIMEDOUT))|^57P0[1-3]$|^08/.test(code);
}

const UNIQUE_VIOLATION = '23505';
const isUniqueViolation = (error: unknown) => (error as { code?: string })?.code === UNIQUE_VIOLATION;

/** Seconds between purges of expired rows, and writes between purges under load. */
const PURGE_INTERVAL_S = 60;
const PURGE_EVERY = 1000;

/** Runs a purge now and then, off the request path: a failed purge is retried later and fails nothing. */
class Purger {
  #since = 0;
  #last = Number.NEGATIVE_INFINITY;
  #running = false;
  readonly #purge: (now: number) => Promise<unknown>;
  constructor(purge: (now: number) => Promise<unknown>) {
    this.#purge = purge;
  }
  maybe(now: number): void {
    if (this.#running || (++this.#since < PURGE_EVERY && now - this.#last < PURGE_INTERVAL_S)) return;
    this.#since = 0;
    this.#last = now;
    this.#running = true;
    void this.#purge(now)
      .catch(() => {})
      .finally(() => {
        this.#running = false;
      });
  }
}

export class PgReplayGuard implements ReplayGuard {
  readonly #db: PostgresDatabase;
  readonly #purger: Purger;

  constructor(db: PostgresDatabase) {
    this.#db = db;
    // In small batches of rows no claim holds (SKIP LOCKED): a purge never makes a claim wait long.
    this.#purger = new Purger((now) =>
      db.query(
        `DELETE FROM replay WHERE key IN
           (SELECT key FROM replay WHERE expires_at < $1 ORDER BY expires_at LIMIT 5000 FOR UPDATE SKIP LOCKED)`,
        [now],
      ),
    );
  }

  async claim(key: string, expiresAt: number, now: number): Promise<boolean> {
    // One statement: a new key is inserted, a live key left alone (0 rows), an expired key taken over. A
    // concurrent insert of the same key waits for the first to commit and then sees it live: one winner.
    const result = await this.#db.query(
      `INSERT INTO replay (key, expires_at) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at, token_sha256 = NULL, uses = 1
       WHERE replay.expires_at < $3`,
      [Buffer.from(key, 'utf8'), expiresAt, now],
    );
    this.#purger.maybe(now);
    return result.count === 1;
  }

  async claimReuse(key: string, tokenSha256: string, expiresAt: number, now: number): Promise<number> {
    // The same upsert, which also counts up a live key held by the same token. A concurrent use waits on
    // the row lock and re-evaluates against the committed row, so each use gets its own count. A single-use
    // claim's NULL hash never equals a token's.
    const [row] = await this.#db.query(
      `INSERT INTO replay (key, expires_at, token_sha256, uses) VALUES ($1, $2, $3, 1)
       ON CONFLICT (key) DO UPDATE SET
         uses = CASE WHEN replay.expires_at < $4 THEN 1 ELSE replay.uses + 1 END,
         expires_at = CASE WHEN replay.expires_at < $4 THEN excluded.expires_at ELSE replay.expires_at END,
         token_sha256 = excluded.token_sha256
       WHERE replay.expires_at < $4 OR replay.token_sha256 = excluded.token_sha256
       RETURNING uses`,
      [Buffer.from(key, 'utf8'), expiresAt, Buffer.from(tokenSha256, 'hex'), now],
    );
    this.#purger.maybe(now);
    return row ? Number(row.uses) : 0;
  }
}

export class PgRateCounter implements RateCounter {
  readonly #db: PostgresDatabase;
  readonly #purger: Purger;

  constructor(db: PostgresDatabase) {
    this.#db = db;
    this.#purger = new Purger((now) => db.query('DELETE FROM rate_counters WHERE expires_at < $1', [now]));
  }

  async hit(key: string, windowStart: number, windowS: number): Promise<number> {
    const [row] = await this.#db.query(
      `INSERT INTO rate_counters (key, window_start, expires_at, count) VALUES ($1, $2, $3, 1)
       ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1 RETURNING count`,
      [Buffer.from(key, 'utf8'), windowStart, windowStart + windowS],
    );
    // A window that ended before this one started is over for every limit.
    this.#purger.maybe(windowStart);
    return Number(row?.count);
  }
}

const AUDIT_COLUMNS = 'seq, prev_hash, hash, record';

export class PgAuditStore implements AuditStore {
  readonly #db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.#db = db;
  }

  async head(): Promise<AuditHead | null> {
    const [row] = await this.#db.query('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
    return row ? { seq: Number(row.seq), hash: String(row.hash) } : null;
  }

  async insert(e: AuditEntry): Promise<boolean> {
    const result = await this.#db.query(`INSERT INTO audit (${AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4) ON CONFLICT (seq) DO NOTHING`, [
      e.seq,
      e.prev_hash,
      e.hash,
      e.record,
    ]);
    return result.count === 1;
  }

  async insertMany(entries: AuditEntry[]): Promise<boolean> {
    if (entries.length === 0) return true;
    // One statement, so all or nothing: a seq another replica took fails it whole (unique violation).
    const values = entries.map((_, i) => `($${i * 4 + 1}, $${i * 4 + 2}, $${i * 4 + 3}, $${i * 4 + 4})`).join(', ');
    try {
      await this.#db.query(
        `INSERT INTO audit (${AUDIT_COLUMNS}) VALUES ${values}`,
        entries.flatMap((e) => [e.seq, e.prev_hash, e.hash, e.record]),
      );
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async list(query: AuditQuery): Promise<AuditEntry[]> {
    const { limit } = query;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
      throw new RangeError('audit list: limit must be a non-negative integer');
    }
    // LIMIT NULL is no limit.
    const rows = await this.#db.query(
      `SELECT ${AUDIT_COLUMNS} FROM audit WHERE seq > $1 AND seq < $2 ORDER BY seq ${query.descending ? 'DESC' : 'ASC'} LIMIT $3`,
      [query.afterSeq ?? Number.MIN_SAFE_INTEGER, query.beforeSeq ?? Number.MAX_SAFE_INTEGER, limit ?? null],
    );
    return rows.map(toAuditEntry);
  }
}

/** "seq:hash" of the anchor a checkpoint's JWS signs (checkpoint-format.ts), or "" when unreadable. */
function anchorOf(jws: string): string {
  try {
    const payload = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      anchor?: { seq?: unknown; hash?: unknown };
    };
    return `${String(payload.anchor?.seq)}:${String(payload.anchor?.hash)}`;
  } catch {
    return '';
  }
}

export class PgCheckpointStore implements CheckpointStore {
  readonly #db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.#db = db;
  }

  async insert(c: AuditCheckpoint): Promise<void> {
    // Two replicas due at the same moment sign the same head with the same key and anchor: kept once. A
    // re-signing by another key, or a prune's new anchor, is a different row.
    await this.#db.query(
      `INSERT INTO audit_checkpoints (seq, hash, time, kid, jws, anchor) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (seq, hash, kid, anchor) DO NOTHING`,
      [c.seq, c.hash, c.time, c.kid, c.jws, anchorOf(c.jws)],
    );
  }

  async list(query: AuditQuery): Promise<AuditCheckpoint[]> {
    const order = query.descending ? 'DESC' : 'ASC';
    const rows = await this.#db.query(
      `SELECT seq, hash, time, kid, jws FROM audit_checkpoints WHERE seq > $1 AND seq < $2 ORDER BY seq ${order}, id ${order} LIMIT $3`,
      [query.afterSeq ?? Number.MIN_SAFE_INTEGER, query.beforeSeq ?? Number.MAX_SAFE_INTEGER, query.limit ?? null],
    );
    return rows.map(toCheckpoint);
  }

  pruneThrough(seq: number): Promise<{ records: number; checkpoints: number }> {
    return this.#db.transaction(async (run) => {
      const records = (await run('DELETE FROM audit WHERE seq <= $1', [seq])).count;
      const checkpoints = (await run('DELETE FROM audit_checkpoints WHERE seq <= $1', [seq])).count;
      return { records, checkpoints };
    });
  }
}

export class PgSecretStore implements SecretStore {
  readonly #db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.#db = db;
  }

  async get(name: string, version?: number): Promise<SecretRow | null> {
    const [row] =
      version === undefined
        ? await this.#db.query(`SELECT ${SECRET_COLUMNS} FROM secrets WHERE name = $1 ORDER BY version DESC LIMIT 1`, [name])
        : await this.#db.query(`SELECT ${SECRET_COLUMNS} FROM secrets WHERE name = $1 AND version = $2`, [name, version]);
    return row ? toSecretRow(row) : null;
  }

  async read(name: string, version?: number): Promise<{ row: SecretRow | null; head: SecretHead | null }> {
    const [row] =
      version === undefined
        ? await this.#db.query(numbered(SECRET_SQL.readLatest), [name])
        : await this.#db.query(numbered(SECRET_SQL.readVersion), [name, version]);
    return toSecretRead(row);
  }

  async insert(row: SecretRow, head?: SecretHead): Promise<boolean> {
    const insert = `INSERT INTO secrets (${SECRET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name, version) DO NOTHING`;
    const params = secretParams(row);
    if (!head) return (await this.#db.query(insert, params)).count === 1;
    // The version and its head in one transaction: no reader or crash ever sees one without the other.
    return this.#db.transaction(async (run) => {
      const inserted = (await run(insert, params)).count === 1;
      if (inserted) await run(numbered(SECRET_SQL.advanceHead), advanceHeadParams(row, head));
      return inserted;
    });
  }

  async rewrap(name: string, version: number, kekId: string, wrappedKey: string): Promise<void> {
    const result = await this.#db.query('UPDATE secrets SET kek_id = $1, wrapped_key = $2 WHERE name = $3 AND version = $4', [
      kekId,
      wrappedKey,
      name,
      version,
    ]);
    if (result.count !== 1) throw new Error(`secret ${name} version ${version} does not exist`);
  }

  async all(): Promise<SecretRow[]> {
    return (await this.#db.query(`SELECT ${SECRET_COLUMNS} FROM secrets ORDER BY created_at, name, version`)).map(toSecretRow);
  }

  async list(): Promise<SecretMeta[]> {
    const rows = await this.#db.query(SECRET_LIST);
    return rows.map(toSecretMeta);
  }

  async heads(): Promise<SecretHead[]> {
    return (await this.#db.query(SECRET_SQL.heads)).map(toSecretHead);
  }

  async putHead(head: SecretHead): Promise<void> {
    await this.#db.query(numbered(SECRET_SQL.putHead), [head.name, head.version, head.kek_id, head.seal]);
  }
}

const KEY_COLUMNS = 'kid, alg, created_at, activates_at, public_jwk, kek_id, wrapped_key, iv, ciphertext';

export class PgKeyStore implements KeyStore {
  readonly #db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.#db = db;
  }

  async list(): Promise<SigningKeyRow[]> {
    const rows = await this.#db.query(`SELECT ${KEY_COLUMNS} FROM signing_keys ORDER BY activates_at, created_at, kid`);
    return rows.map((r) => ({
      kid: String(r.kid),
      alg: 'RS256',
      created_at: Number(r.created_at),
      activates_at: Number(r.activates_at),
      public_jwk: String(r.public_jwk),
      kek_id: String(r.kek_id),
      wrapped_key: String(r.wrapped_key),
      iv: String(r.iv),
      ciphertext: String(r.ciphertext),
    }));
  }

  async insert(r: SigningKeyRow): Promise<boolean> {
    const result = await this.#db.query(
      `INSERT INTO signing_keys (${KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (kid) DO NOTHING`,
      [r.kid, r.alg, r.created_at, r.activates_at, r.public_jwk, r.kek_id, r.wrapped_key, r.iv, r.ciphertext],
    );
    return result.count === 1;
  }

  async delete(kid: string): Promise<void> {
    await this.#db.query('DELETE FROM signing_keys WHERE kid = $1', [kid]);
  }

  async rewrap(kid: string, kekId: string, wrappedKey: string): Promise<void> {
    const result = await this.#db.query('UPDATE signing_keys SET kek_id = $1, wrapped_key = $2 WHERE kid = $3', [kekId, wrappedKey, kid]);
    if (result.count !== 1) throw new Error(`no signing key ${kid} to rewrap`);
  }

  async reseal(kid: string, from: SealedFields, to: SealedFields): Promise<boolean> {
    const result = await this.#db.query(
      `UPDATE signing_keys SET kek_id = $1, wrapped_key = $2, iv = $3, ciphertext = $4
       WHERE kid = $5 AND kek_id = $6 AND wrapped_key = $7 AND iv = $8 AND ciphertext = $9`,
      [to.kek_id, to.wrapped_key, to.iv, to.ciphertext, kid, from.kek_id, from.wrapped_key, from.iv, from.ciphertext],
    );
    return result.count === 1;
  }
}

const REVOCATION_COLUMNS = 'request_id, owner, expires_at, kek_id, wrapped_key, iv, ciphertext';

export class PgRevocationStore implements RevocationStore {
  readonly #db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.#db = db;
  }

  async put(e: RevocationEntry): Promise<void> {
    await this.#db.query(
      `INSERT INTO revocations (${REVOCATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (request_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, kek_id = excluded.kek_id,
         wrapped_key = excluded.wrapped_key, iv = excluded.iv, ciphertext = excluded.ciphertext`,
      [e.request_id, e.owner, e.expires_at, e.kek_id, e.wrapped_key, e.iv, e.ciphertext],
    );
  }

  async take(requestId: string, owner: string): Promise<RevocationEntry | null> {
    // One statement that checks the owner as it deletes (see the port).
    const [row] = await this.#db.query(`DELETE FROM revocations WHERE request_id = $1 AND owner = $2 RETURNING ${REVOCATION_COLUMNS}`, [
      requestId,
      owner,
    ]);
    if (!row) return null;
    return {
      request_id: String(row.request_id),
      owner: String(row.owner),
      expires_at: Number(row.expires_at),
      kek_id: String(row.kek_id),
      wrapped_key: String(row.wrapped_key),
      iv: String(row.iv),
      ciphertext: String(row.ciphertext),
    };
  }

  async has(requestId: string): Promise<boolean> {
    return (await this.#db.query('SELECT 1 FROM revocations WHERE request_id = $1', [requestId])).length > 0;
  }

  async purge(now: number): Promise<void> {
    await this.#db.query('DELETE FROM revocations WHERE expires_at < $1', [now]);
  }
}

const LEASE_COLUMNS = 'id, kind, target, expires_at, due_at, attempts, last_error';

export class PgLeaseStore implements LeaseStore {
  readonly #db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.#db = db;
  }

  async put(l: LeaseRow): Promise<void> {
    await this.#db.query(
      `INSERT INTO leases (${LEASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, target = excluded.target, expires_at = excluded.expires_at,
         due_at = excluded.due_at, attempts = excluded.attempts, last_error = excluded.last_error`,
      [l.id, l.kind, l.target, l.expires_at, l.due_at, l.attempts, l.last_error],
    );
  }

  async get(id: string): Promise<LeaseRow | null> {
    const [row] = await this.#db.query(`SELECT ${LEASE_COLUMNS} FROM leases WHERE id = $1`, [id]);
    return row ? toLease(row) : null;
  }

  async due(now: number, limit: number): Promise<LeaseRow[]> {
    const rows = await this.#db.query(`SELECT ${LEASE_COLUMNS} FROM leases WHERE due_at <= $1 ORDER BY due_at, id LIMIT $2`, [now, limit]);
    return rows.map(toLease);
  }

  async expired(before: number, limit: number): Promise<LeaseRow[]> {
    const rows = await this.#db.query(`SELECT ${LEASE_COLUMNS} FROM leases WHERE expires_at < $1 ORDER BY expires_at, id LIMIT $2`, [
      before,
      limit,
    ]);
    return rows.map(toLease);
  }

  async failed(id: string, error: string, dueAt: number): Promise<void> {
    await this.#db.query('UPDATE leases SET attempts = attempts + 1, last_error = $1, due_at = $2 WHERE id = $3', [error, dueAt, id]);
  }

  async delete(id: string): Promise<void> {
    await this.#db.query('DELETE FROM leases WHERE id = $1', [id]);
  }
}
