// The signing key and revocation ports on D1 (schema: migrations/0002_issuer.sql), with the node:sqlite
// semantics: insert-if-absent for keys, and a take that is one DELETE ... WHERE request_id AND owner RETURNING,
// so two revokes of one request cannot both get the entry and another identity cannot disturb it.
import type { D1Database } from '@cloudflare/workers-types';
import type { KeyStore, RevocationEntry, RevocationStore, SealedFields, SigningKeyRow } from '../../src/store/ports.ts';

export class D1KeyStore implements KeyStore {
  readonly #db: D1Database;

  constructor(db: D1Database) {
    this.#db = db;
  }

  async list(): Promise<SigningKeyRow[]> {
    const { results } = await this.#db.prepare('SELECT * FROM signing_keys ORDER BY activates_at, created_at, kid').all<SigningKeyRow>();
    return results;
  }

  async insert(r: SigningKeyRow): Promise<boolean> {
    const result = await this.#db
      .prepare(
        `INSERT INTO signing_keys (kid, alg, created_at, activates_at, public_jwk, kek_id, wrapped_key, iv, ciphertext)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kid) DO NOTHING`,
      )
      .bind(r.kid, r.alg, r.created_at, r.activates_at, r.public_jwk, r.kek_id, r.wrapped_key, r.iv, r.ciphertext)
      .run();
    return result.meta.changes === 1;
  }

  async delete(kid: string): Promise<void> {
    await this.#db.prepare('DELETE FROM signing_keys WHERE kid = ?').bind(kid).run();
  }

  async rewrap(kid: string, kekId: string, wrappedKey: string): Promise<void> {
    const result = await this.#db
      .prepare('UPDATE signing_keys SET kek_id = ?, wrapped_key = ? WHERE kid = ?')
      .bind(kekId, wrappedKey, kid)
      .run();
    // As on node:sqlite: a rotation that rewraps a key that is not there has lost track of the store.
    if (result.meta.changes !== 1) throw new Error(`no signing key ${kid} to rewrap`);
  }

  async reseal(kid: string, from: SealedFields, to: SealedFields): Promise<boolean> {
    const result = await this.#db
      .prepare(
        `UPDATE signing_keys SET kek_id = ?, wrapped_key = ?, iv = ?, ciphertext = ?
         WHERE kid = ? AND kek_id = ? AND wrapped_key = ? AND iv = ? AND ciphertext = ?`,
      )
      .bind(to.kek_id, to.wrapped_key, to.iv, to.ciphertext, kid, from.kek_id, from.wrapped_key, from.iv, from.ciphertext)
      .run();
    return result.meta.changes === 1;
  }
}

export class D1RevocationStore implements RevocationStore {
  readonly #db: D1Database;

  constructor(db: D1Database) {
    this.#db = db;
  }

  async put(e: RevocationEntry): Promise<void> {
    await this.#db
      .prepare(
        `INSERT OR REPLACE INTO revocations (request_id, owner, expires_at, kek_id, wrapped_key, iv, ciphertext)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(e.request_id, e.owner, e.expires_at, e.kek_id, e.wrapped_key, e.iv, e.ciphertext)
      .run();
  }

  /** One statement that checks the owner as it deletes (see RevocationStore.take). */
  async take(requestId: string, owner: string): Promise<RevocationEntry | null> {
    return (
      (await this.#db
        .prepare('DELETE FROM revocations WHERE request_id = ? AND owner = ? RETURNING *')
        .bind(requestId, owner)
        .first<RevocationEntry>()) ?? null
    );
  }

  async has(requestId: string): Promise<boolean> {
    return (await this.#db.prepare('SELECT 1 AS found FROM revocations WHERE request_id = ?').bind(requestId).first()) !== null;
  }

  async purge(now: number): Promise<void> {
    await this.#db.prepare('DELETE FROM revocations WHERE expires_at < ?').bind(now).run();
  }
}
