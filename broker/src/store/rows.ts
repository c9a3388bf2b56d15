// Rows as both SQL stores return them (node:sqlite and D1 share one schema), mapped to the port types in one
// place so the two entries cannot drift apart.
import type { AuditCheckpoint, AuditEntry, SecretRow } from './ports.ts';

export type SqlRow = Record<string, unknown>;

export const SECRET_COLUMNS = 'name, version, kek_id, wrapped_key, iv, ciphertext, created_at';

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
  };
}
