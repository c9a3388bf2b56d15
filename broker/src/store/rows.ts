// Rows as both SQL stores return them (node:sqlite and D1 share one schema), mapped to the port types in one
// place so the two entries cannot drift apart.
import type { AuditCheckpoint, AuditEntry, LeaseRow, SecretHead, SecretMeta, SecretRow } from './ports.ts';

export type SqlRow = Record<string, unknown>;

export const SECRET_COLUMNS = 'name, version, kek_id, wrapped_key, iv, ciphertext, created_at, max_age';
/** SECRET_COLUMNS of a row, in order, for an INSERT. */
export function secretParams(row: SecretRow): (string | number | null)[] {
  return [row.name, row.version, row.kek_id, row.wrapped_key, row.iv, row.ciphertext, row.created_at, row.max_age ?? null];
}

/** The statements of SecretStore.read and the head writes, shared by node:sqlite and D1. */
const READ = `SELECT s.name, s.version, s.kek_id, s.wrapped_key, s.iv, s.ciphertext, s.created_at, s.max_age,
    h.name AS head_name, h.version AS head_version, h.kek_id AS head_kek_id, h.seal AS head_seal
  FROM (SELECT ? AS name) q
  LEFT JOIN secret_heads h ON h.name = q.name`;
const SET_HEAD = `ON CONFLICT (name) DO UPDATE SET version = excluded.version, kek_id = excluded.kek_id, seal = excluded.seal`;
export const SECRET_SQL = {
  /** One statement, so the row and the head come from one snapshot. Binds: name. */
  readLatest: `${READ} LEFT JOIN secrets s ON s.name = q.name AND s.version = (SELECT MAX(version) FROM secrets WHERE name = q.name)`,
  /** Binds: name, version. */
  readVersion: `${READ} LEFT JOIN secrets s ON s.name = q.name AND s.version = ?`,
  /**
   * Moves the head up to a version just inserted in the same transaction, only if that row is the one this
   * writer sealed (its wrapped key is unique). Binds: name, version, kek_id, seal, name, version, wrapped_key.
   */
  advanceHead: `INSERT INTO secret_heads (name, version, kek_id, seal)
    SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM secrets WHERE name = ? AND version = ? AND wrapped_key = ?)
    ${SET_HEAD} WHERE excluded.version > secret_heads.version`,
  /** Binds: name, version, kek_id, seal. */
  putHead: `INSERT INTO secret_heads (name, version, kek_id, seal) VALUES (?, ?, ?, ?)
    ${SET_HEAD} WHERE excluded.version >= secret_heads.version`,
  heads: 'SELECT name, version, kek_id, seal FROM secret_heads ORDER BY name',
} as const;

export function advanceHeadParams(row: SecretRow, head: SecretHead): (string | number)[] {
  return [head.name, head.version, head.kek_id, head.seal, row.name, row.version, row.wrapped_key];
}

export function toSecretHead(row: SqlRow): SecretHead {
  return { name: String(row.name), version: Number(row.version), kek_id: String(row.kek_id), seal: String(row.seal) };
}

/** A readLatest/readVersion result row (or none) as SecretStore.read answers. */
export function toSecretRead(row: SqlRow | null | undefined): { row: SecretRow | null; head: SecretHead | null } {
  if (!row) return { row: null, head: null };
  const head =
    row.head_name === null || row.head_name === undefined
      ? null
      : toSecretHead({ name: row.head_name, version: row.head_version, kek_id: row.head_kek_id, seal: row.head_seal });
  return { row: row.name === null || row.name === undefined ? null : toSecretRow(row), head };
}

export function toAuditEntry(row: SqlRow): AuditEntry {
  return { seq: Number(row.seq), prev_hash: String(row.prev_hash), hash: String(row.hash), record: String(row.record) };
}

export function toCheckpoint(row: SqlRow): AuditCheckpoint {
  return { seq: Number(row.seq), hash: String(row.hash), time: String(row.time), kid: String(row.kid), jws: String(row.jws) };
}

export function toSecretRow(row: SqlRow): SecretRow {
  return {
    name: String(row.name),
    version: Number(row.version),
    kek_id: String(row.kek_id),
    wrapped_key: String(row.wrapped_key),
    iv: String(row.iv),
    ciphertext: String(row.ciphertext),
    created_at: Number(row.created_at),
    ...maxAgeOf(row),
  };
}

/** The max_age column (NULL: none) as the optional port field. */
export function maxAgeOf(row: SqlRow): { max_age?: number } {
  return row.max_age === null || row.max_age === undefined ? {} : { max_age: Number(row.max_age) };
}

/** The list() statement of every SQL adapter: the newest version per name, with the count. */
export const SECRET_LIST = `SELECT s.name, s.version, s.created_at, s.max_age, n.versions FROM secrets s
  JOIN (SELECT name, MAX(version) AS version, COUNT(*) AS versions FROM secrets GROUP BY name) n
    ON s.name = n.name AND s.version = n.version
  ORDER BY s.name`;

export function toSecretMeta(row: SqlRow): SecretMeta {
  return {
    name: String(row.name),
    version: Number(row.version),
    versions: Number(row.versions),
    created_at: Number(row.created_at),
    ...maxAgeOf(row),
  };
}

/** The LeaseStore statements (migrations/0006_leases.sql), each a single one, shared by node:sqlite and D1. */
export const LEASE_SQL = {
  /** Binds: leaseParams. */
  put: 'INSERT OR REPLACE INTO leases (id, kind, target, expires_at, due_at, attempts, last_error) VALUES (?, ?, ?, ?, ?, ?, ?)',
  /** Binds: id. */
  get: 'SELECT * FROM leases WHERE id = ?',
  /** Binds: now, limit. */
  due: 'SELECT * FROM leases WHERE due_at <= ? ORDER BY due_at, id LIMIT ?',
  /** Binds: before, limit. */
  expired: 'SELECT * FROM leases WHERE expires_at < ? ORDER BY expires_at, id LIMIT ?',
  /** Binds: error, due_at, id. */
  failed: 'UPDATE leases SET attempts = attempts + 1, last_error = ?, due_at = ? WHERE id = ?',
  /** Binds: id. */
  delete: 'DELETE FROM leases WHERE id = ?',
} as const;

/** LEASE_SQL.put's parameters, in order. */
export function leaseParams(l: LeaseRow): (string | number | null)[] {
  return [l.id, l.kind, l.target, l.expires_at, l.due_at, l.attempts, l.last_error];
}

export function toLease(row: SqlRow): LeaseRow {
  return {
    id: String(row.id),
    kind: String(row.kind),
    target: String(row.target),
    expires_at: Number(row.expires_at),
    due_at: Number(row.due_at),
    attempts: Number(row.attempts),
    last_error: row.last_error === null || row.last_error === undefined ? null : String(row.last_error),
  };
}

/**
 * The replay claim statements, shared by node:sqlite (SqliteReplayGuard) and the Workers replay Durable
 * Object, whose SQLite runs them the same way. `claim` inserts a new key, takes over an expired one and
 * leaves a live one alone (0 changes; with RETURNING, no row). Binds: key, expires_at, now.
 * `claimReuse` also counts a live key up when the same token holds it; a single-use claim's NULL hash never
 * equals a token's, so it is never reused. Binds: ?1 key, ?2 expires_at, ?3 token_sha256, ?4 now.
 */
export const REPLAY_SQL = {
  claim: `INSERT INTO replay (key, expires_at) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at, token_sha256 = NULL, uses = 1
    WHERE replay.expires_at < ?`,
  claimReuse: `INSERT INTO replay (key, expires_at, token_sha256, uses) VALUES (?1, ?2, ?3, 1)
    ON CONFLICT (key) DO UPDATE SET
      uses = CASE WHEN replay.expires_at < ?4 THEN 1 ELSE replay.uses + 1 END,
      expires_at = CASE WHEN replay.expires_at < ?4 THEN excluded.expires_at ELSE replay.expires_at END,
      token_sha256 = excluded.token_sha256
    WHERE replay.expires_at < ?4 OR replay.token_sha256 = excluded.token_sha256
    RETURNING uses`,
  /** Binds: now. */
  purge: 'DELETE FROM replay WHERE expires_at < ?',
} as const;
