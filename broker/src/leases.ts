// Upstream credentials the broker must remove itself (PostgreSQL logins: VALID UNTIL blocks new logins only).
// Each is a row in the LeaseStore from before it exists upstream until it is gone, so that a restart, a
// failed exchange or a failed removal never forgets one: the sweeper removes due leases, retries failures
// with a growing delay, and logs each failure; `overdue` is what /readyz and the metrics look at.
import type { LeaseRow, LeaseStore } from './store/ports.ts';

export type LeaseRemover = (lease: LeaseRow) => Promise<void>;

export interface LeaseSweeperOptions {
  store: LeaseStore;
  /** By lease kind (a grant type). */
  removers: Record<string, LeaseRemover>;
  /** Epoch milliseconds. */
  now: () => number;
  log: (line: Record<string, unknown>) => void;
}

/** Retry delay after the n-th failure: 15 s doubling, at most 10 minutes. */
const retryDelay = (attempts: number) => Math.min(15 * 2 ** attempts, 600);
/** How many due leases one sweep takes on. */
const BATCH = 100;

export class LeaseSweeper {
  readonly #o: LeaseSweeperOptions;
  #running: Promise<{ removed: number; failed: number }> | undefined;

  constructor(options: LeaseSweeperOptions) {
    this.#o = options;
  }

  get store(): LeaseStore {
    return this.#o.store;
  }

  /** Removes the lease's credential now (revoke, a failed exchange). False, with the lease kept for a retry, on failure. */
  async end(id: string): Promise<{ ok: true } | { ok: false; detail: string }> {
    const lease = await this.#o.store.get(id);
    if (!lease) return { ok: true };
    return this.#remove(lease);
  }

  /** One pass over the due leases; overlapping calls share the pass in flight. */
  sweep(): Promise<{ removed: number; failed: number }> {
    this.#running ??= this.#sweep().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Leases past their expiry by more than `graceS` (a sweep that keeps failing). */
  async overdue(graceS = 120): Promise<LeaseRow[]> {
    const now = Math.floor(this.#o.now() / 1000);
    return (await this.#o.store.due(now, BATCH)).filter((l) => l.expires_at + graceS < now);
  }

  async #sweep(): Promise<{ removed: number; failed: number }> {
    const due = await this.#o.store.due(Math.floor(this.#o.now() / 1000), BATCH);
    let removed = 0;
    let failed = 0;
    for (const lease of due) {
      const r = await this.#remove(lease);
      if (r.ok) removed++;
      else failed++;
    }
    return { removed, failed };
  }

  async #remove(lease: LeaseRow): Promise<{ ok: true } | { ok: false; detail: string }> {
    const remover = Object.hasOwn(this.#o.removers, lease.kind) ? this.#o.removers[lease.kind] : undefined;
    try {
      if (!remover) throw new Error(`no remover for lease kind ${lease.kind}`);
      await remover(lease);
      await this.#o.store.delete(lease.id);
      this.#o.log({ level: 'info', event: 'lease.removed', kind: lease.kind, lease: lease.id });
      return { ok: true };
    } catch (err) {
      const detail = String((err as Error)?.message ?? err).slice(0, 300);
      const now = Math.floor(this.#o.now() / 1000);
      this.#o.log({
        level: 'error',
        event: 'lease.remove_failed',
        kind: lease.kind,
        lease: lease.id,
        attempts: lease.attempts + 1,
        detail,
      });
      await this.#o.store.failed(lease.id, detail, now + retryDelay(lease.attempts)).catch(() => {});
      return { ok: false, detail };
    }
  }
}
