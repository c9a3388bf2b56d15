// Upstream credentials the broker must remove itself (PostgreSQL logins: VALID UNTIL blocks new logins only).
// Each is a row in the LeaseStore from before it exists upstream until it is gone, so that a restart, a
// failed exchange or a failed removal never forgets one: the sweeper removes due leases, retries failures
// with a growing delay, and logs each failure. `status()` (the leases past their expiry and a grace, kept
// from the last sweep so that a probe costs no query) is what /readyz and the metrics look at.
import type { LeaseRow, LeaseStore } from './store/ports.ts';

export type LeaseRemover = (lease: LeaseRow) => Promise<void>;

export interface LeaseSweeperOptions {
  store: LeaseStore;
  /** By lease kind (a grant type). */
  removers: Record<string, LeaseRemover>;
  /** Epoch milliseconds. */
  now: () => number;
  log: (line: Record<string, unknown>) => void;
  /** Each removal attempt, by kind ("_other": a kind no remover knows, so a planted row cannot mint labels). */
  removal?: (kind: string, ok: boolean) => void;
  /** Each refreshed status: how many leases are overdue. */
  overdueChanged?: (count: number) => void;
  /** Seconds past its expiry before a lease still held counts as overdue [120: a sweep or two of slack]. */
  graceS?: number;
  /** How old a status may be before status() looks again (another process may have swept) [30 s]. */
  statusMaxAgeMs?: number;
}

export interface LeaseStatus {
  /** Leases past expiry + grace (at most one batch), earliest first. */
  overdue: LeaseRow[];
  /** Epoch milliseconds of the look. */
  checkedAt: number;
}

/** Retry delay after the n-th failure: 15 s doubling, at most 10 minutes. */
const retryDelay = (attempts: number) => Math.min(15 * 2 ** attempts, 600);
/** How many due leases one sweep takes on. */
const BATCH = 100;

export class LeaseSweeper {
  readonly #o: LeaseSweeperOptions;
  #running: Promise<{ removed: number; failed: number }> | undefined;
  #status: LeaseStatus | undefined;
  #refreshing: Promise<LeaseStatus> | undefined;

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
    const r = await this.#remove(lease);
    if (!r.ok || this.#status?.overdue.some((l) => l.id === id)) await this.refresh().catch(() => {});
    return r;
  }

  /** One pass over the due leases; overlapping calls share the pass in flight. */
  sweep(): Promise<{ removed: number; failed: number }> {
    this.#running ??= this.#sweep().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Leases past their expiry by more than the grace (a sweep that keeps failing), whatever their next retry. */
  async overdue(graceS = this.#o.graceS ?? 120): Promise<LeaseRow[]> {
    return this.#o.store.expired(Math.floor(this.#o.now() / 1000) - graceS, BATCH);
  }

  /** The status of the last sweep, or a fresh look when it is older than statusMaxAgeMs (or there was none). */
  async status(): Promise<LeaseStatus> {
    const held = this.#status;
    if (held && this.#o.now() - held.checkedAt <= (this.#o.statusMaxAgeMs ?? 30_000)) return held;
    return this.refresh();
  }

  /** Looks at the store again; concurrent callers share the look. */
  refresh(): Promise<LeaseStatus> {
    this.#refreshing ??= (async () => {
      const checkedAt = this.#o.now();
      const status = { overdue: await this.overdue(), checkedAt };
      this.#status = status;
      this.#o.overdueChanged?.(status.overdue.length);
      return status;
    })().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #sweep(): Promise<{ removed: number; failed: number }> {
    try {
      return await this.#pass();
    } finally {
      // After every pass, failed or not (a store that does not answer leaves the last status to age out).
      await this.refresh().catch(() => {});
    }
  }

  async #pass(): Promise<{ removed: number; failed: number }> {
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
    const kind = remover ? lease.kind : '_other';
    try {
      if (!remover) throw new Error(`no remover for lease kind ${lease.kind}`);
      await remover(lease);
      await this.#o.store.delete(lease.id);
      this.#o.removal?.(kind, true);
      this.#o.log({ level: 'info', event: 'lease.removed', kind: lease.kind, lease: lease.id });
      return { ok: true };
    } catch (err) {
      const detail = String((err as Error)?.message ?? err).slice(0, 300);
      this.#o.removal?.(kind, false);
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
