// Single use of a token id on Workers: a SQLite-backed Durable Object (docs/SECURITY.md: "On Workers that is a
// Durable Object, not KV"). A Durable Object runs one event at a time, and `claim` checks and sets in one
// synchronous SQL statement with no await in between, so any number of concurrent copies of a token yield
// exactly one `true`. The output gate holds the RPC answer until the write is durable, so a claim is never
// reported before it is stored. An alarm deletes claims once they have expired.
import { DurableObject } from 'cloudflare:workers';
import type { DurableObjectNamespace, DurableObjectState } from '@cloudflare/workers-types';
import type { RateCounter } from '../../src/store/ports.ts';
import type { ReplayGuard } from '../../src/store/ports.ts';
import { REPLAY_SQL } from '../../src/store/rows.ts';
import { sha256Hex } from '../../src/util/encoding.ts';

/** Claims are spread over 16^SHARD_HEX_DIGITS objects so that no single object carries all traffic. */
const SHARD_HEX_DIGITS = 2;
/** Purges run at most this often, however claims expire. */
const MIN_PURGE_INTERVAL_MS = 60_000;
const MAX_KEY_LENGTH = 1024;

export class ReplayGuardObject extends DurableObject<unknown> {
  /** The scheduled alarm time, null when none, undefined until read from storage (after a restart). */
  #alarmAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    // Synchronous and idempotent: the table exists before any event is delivered.
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS replay (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
       CREATE INDEX IF NOT EXISTS replay_expires_at ON replay (expires_at);
       CREATE TABLE IF NOT EXISTS rate (key TEXT PRIMARY KEY, window_start INTEGER NOT NULL, count INTEGER NOT NULL, until INTEGER NOT NULL) WITHOUT ROWID;`,
    );
    // Reuse by design (`replay: reuse`): objects made before it have the table without these columns; SQLite
    // has no ADD COLUMN IF NOT EXISTS, so the columns are looked up first.
    const columns = new Set(
      ctx.storage.sql
        .exec<{ name: string }>("SELECT name FROM pragma_table_info('replay')")
        .toArray()
        .map((c) => c.name),
    );
    if (!columns.has('token_sha256')) ctx.storage.sql.exec('ALTER TABLE replay ADD COLUMN token_sha256 TEXT');
    if (!columns.has('uses')) ctx.storage.sql.exec('ALTER TABLE replay ADD COLUMN uses INTEGER NOT NULL DEFAULT 1');
  }

  /**
   * Records `key` as used until `expiresAt` (epoch seconds); true for the first claim only. The statement
   * inserts a new key, takes over an expired one, and leaves a live one alone (then RETURNING yields no row).
   */
  async claim(key: string, expiresAt: number, now: number): Promise<boolean> {
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) throw new TypeError('claim: invalid key');
    if (!Number.isSafeInteger(expiresAt) || !Number.isSafeInteger(now)) throw new TypeError('claim: times must be integers');
    const won = this.ctx.storage.sql.exec(`${REPLAY_SQL.claim} RETURNING key`, key, expiresAt, now).toArray().length === 1;
    // After the decision: scheduling a purge never delays or changes it.
    if (won) await this.#schedulePurge(expiresAt * 1000);
    return won;
  }

  /**
   * A use of `key` by the token hashing to `tokenSha256` (hex): the use count including this one, or 0 when a
   * live claim belongs to another token or is single-use. One statement, as for claim.
   */
  async claimReuse(key: string, tokenSha256: string, expiresAt: number, now: number): Promise<number> {
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) throw new TypeError('claimReuse: invalid key');
    if (typeof tokenSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(tokenSha256)) throw new TypeError('claimReuse: invalid token hash');
    if (!Number.isSafeInteger(expiresAt) || !Number.isSafeInteger(now)) throw new TypeError('claimReuse: times must be integers');
    const rows = this.ctx.storage.sql.exec<{ uses: number }>(REPLAY_SQL.claimReuse, key, expiresAt, tokenSha256, now).toArray();
    const uses = rows[0]?.uses ?? 0;
    if (uses === 1) await this.#schedulePurge(expiresAt * 1000);
    return uses;
  }

  /**
   * Rate limits (BROKER_RATE_LIMITS): counts a hit of `key` in the fixed window starting at `windowStart` and
   * returns the count so far, in one statement (a new window restarts the count).
   */
  async hit(key: string, windowStart: number, windowS: number): Promise<number> {
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) throw new TypeError('hit: invalid key');
    if (!Number.isSafeInteger(windowStart) || !Number.isSafeInteger(windowS)) throw new TypeError('hit: times must be integers');
    const row = this.ctx.storage.sql
      .exec<{ count: number }>(
        `INSERT INTO rate (key, window_start, count, until) VALUES (?, ?, 1, ?)
         ON CONFLICT (key) DO UPDATE SET
           count = CASE WHEN rate.window_start = excluded.window_start THEN rate.count + 1 ELSE 1 END,
           window_start = excluded.window_start, until = excluded.until
         RETURNING count`,
        key,
        windowStart,
        windowStart + windowS,
      )
      .one();
    await this.#schedulePurge((windowStart + windowS) * 1000);
    return row.count;
  }

  override async alarm(): Promise<void> {
    this.ctx.storage.sql.exec('DELETE FROM rate WHERE until < ?', Math.floor(Date.now() / 1000));
    this.ctx.storage.sql.exec(REPLAY_SQL.purge, Math.floor(Date.now() / 1000));
    const next = this.ctx.storage.sql
      .exec<{ next: number | null }>(
        'SELECT MIN(t) AS next FROM (SELECT MIN(expires_at) AS t FROM replay UNION ALL SELECT MIN(until) FROM rate)',
      )
      .one().next;
    this.#alarmAt = null;
    // A shard with nothing left to expire schedules nothing, so idle shards do no work.
    if (next !== null) await this.#schedulePurge((next + 1) * 1000);
  }

  async #schedulePurge(atMs: number): Promise<void> {
    if (this.#alarmAt === undefined) this.#alarmAt = await this.ctx.storage.getAlarm();
    if (this.#alarmAt !== null) return;
    const at = Math.max(atMs, Date.now() + MIN_PURGE_INTERVAL_MS);
    await this.ctx.storage.setAlarm(at);
    this.#alarmAt = at;
  }
}

/** The ReplayGuard port over the Durable Object namespace: the same key always reaches the same object. */
export class DoReplayGuard implements ReplayGuard {
  readonly #namespace: DurableObjectNamespace<ReplayGuardObject>;

  constructor(namespace: DurableObjectNamespace<ReplayGuardObject>) {
    this.#namespace = namespace;
  }

  async claim(key: string, expiresAt: number, now: number): Promise<boolean> {
    const shard = (await sha256Hex(key)).slice(0, SHARD_HEX_DIGITS);
    // A stub per call: stubs are cheap, and one made while serving one request is not reused by another.
    const stub = this.#namespace.get(this.#namespace.idFromName(`replay-${shard}`));
    return stub.claim(key, expiresAt, now);
  }

  async claimReuse(key: string, tokenSha256: string, expiresAt: number, now: number): Promise<number> {
    // Sharded by the key alone, so every use of a jti, by whichever token, meets in one object.
    const shard = (await sha256Hex(key)).slice(0, SHARD_HEX_DIGITS);
    return this.#namespace.get(this.#namespace.idFromName(`replay-${shard}`)).claimReuse(key, tokenSha256, expiresAt, now);
  }
}

/** Rate-limit counters in the same Durable Objects, sharded the same way. */
export class DoRateCounter implements RateCounter {
  readonly #namespace: DurableObjectNamespace<ReplayGuardObject>;

  constructor(namespace: DurableObjectNamespace<ReplayGuardObject>) {
    this.#namespace = namespace;
  }

  async hit(key: string, windowStart: number, windowS: number): Promise<number> {
    const shard = (await sha256Hex(key)).slice(0, SHARD_HEX_DIGITS);
    return this.#namespace.get(this.#namespace.idFromName(`rate-${shard}`)).hit(key, windowStart, windowS);
  }
}
