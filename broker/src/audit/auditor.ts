// Appends records to the chain. Within one isolate appends are serialised (no wasted retries) and grouped:
// the records that arrive while a write is in flight go into the next one together (one head read, one
// commit where the store has insertMany), so that a store whose commits are slow (an fsync each) does not
// cap the broker at one request per commit. Each group is written by one of its own requests (the first
// waiting), never by an earlier one: on Workers a request's I/O ends with its response, so a request must
// not be left to write the records of requests after it. Across isolates or processes the store's
// insert-if-absent on seq resolves races and the loser retries.
import { BrokerError } from '../errors.ts';
import type { AuditEntry, AuditStore } from '../store/ports.ts';
import { type Sha256Hex, webSha256Hex } from '../util/digest.ts';
import { buildEntry, GENESIS_HASH } from './chain.ts';
import type { StageTimes } from '../metrics.ts';
import type { AuditRecord } from './record.ts';

const MAX_ATTEMPTS = 50;
/** Records written together at most. */
const MAX_GROUP = 256;

interface Pending {
  record: AuditRecord;
  /** performance.now() when the group holding this record began writing. */
  writing?: number;
  outcome?: { ok: true; entry: AuditEntry } | { ok: false; error: BrokerError };
}

/** What may watch the audit log (metrics, alerts/alerter.ts); every method is optional and never blocks a write. */
export interface AuditObserver {
  /** A record was durably stored as `entry`. */
  appended?(record: AuditRecord, entry: AuditEntry): void;
  /** A record could not be stored (the request then failed closed). */
  failed?(record: AuditRecord, error: unknown): void;
  /** A group write took `seconds` (head read and commit) and was stored, or not. */
  written?(seconds: number, ok: boolean): void;
}

export class Auditor {
  readonly store: AuditStore;
  private queue: Pending[] = [];
  /** The write in flight, if any: settles when its group is settled. */
  private writing: Promise<void> | null = null;
  /** The last write failed in the store (not a lost race); cleared by the next write that succeeds. */
  private failing = false;

  /** Told of every record written, every one that could not be, and each group write's time; never blocks a write. */
  private readonly observer: AuditObserver | undefined;

  /** The chain hash (util/digest.ts): synchronous where the platform has one, so a group hashes without waiting. */
  private readonly hash: Sha256Hex;

  constructor(store: AuditStore, observer?: AuditObserver, hash: Sha256Hex = webSha256Hex) {
    this.store = store;
    this.observer = observer;
    this.hash = hash;
  }

  /**
   * Resolves once the record is durably stored; throws ERR_UNAVAILABLE when it cannot be. `stages` is told
   * how long the record waited for earlier groups (audit_queue) and how long its own group took (audit_write).
   */
  async append(record: AuditRecord, stages?: StageTimes): Promise<AuditEntry> {
    const queued = performance.now();
    const me: Pending = { record };
    this.queue.push(me);
    // Wait for the write in flight; then, unless a group took this record meanwhile, lead the next group.
    while (!me.outcome) {
      this.writing ??= this.appendGroup(this.queue.splice(0, MAX_GROUP)).finally(() => {
        this.writing = null;
      });
      await this.writing;
    }
    const outcome = me.outcome;
    if (stages) {
      const done = performance.now();
      const writing = me.writing ?? queued;
      stages.audit_queue = (writing - queued) / 1000;
      stages.audit_write = (done - writing) / 1000;
    }
    try {
      if (outcome.ok) this.observer?.appended?.(record, outcome.entry);
      else this.observer?.failed?.(record, outcome.error);
    } catch {
      // An observer's bug must not change what the request sees.
    }
    if (outcome.ok) return outcome.entry;
    throw outcome.error;
  }

  /**
   * Called before anything is minted: after a failed write the store must answer again first, so that
   * nothing is minted for a request whose record could not be kept. Free while writes succeed.
   */
  async ensureAvailable(): Promise<void> {
    if (!this.failing) return;
    try {
      await this.store.head();
    } catch (err) {
      throw new BrokerError('ERR_UNAVAILABLE', 'audit.unavailable', { cause: err });
    }
  }

  /** Writes a group in order and gives every record its outcome: its entry once stored, else the error. */
  private async appendGroup(group: Pending[]): Promise<void> {
    const started = performance.now();
    for (const p of group) p.writing = started;
    let done = 0;
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS && done < group.length; attempt++) {
        const head = await this.store.head();
        const entries: AuditEntry[] = [];
        let seq = head?.seq ?? 0;
        let prev = head?.hash ?? GENESIS_HASH;
        for (const p of group.slice(done)) {
          const entry = await buildEntry(++seq, prev, p.record, this.hash);
          entries.push(entry);
          prev = entry.hash;
        }
        if (entries.length > 1 && this.store.insertMany) {
          if (await this.store.insertMany(entries)) {
            for (const [i, entry] of entries.entries()) group[done + i]!.outcome = { ok: true, entry };
            done += entries.length;
          }
          continue;
        }
        // One at a time: a conflict keeps what went in and re-chains the rest on the new head.
        for (const entry of entries) {
          if (!(await this.store.insert(entry))) break;
          group[done++]!.outcome = { ok: true, entry };
        }
      }
      if (done > 0) this.failing = false;
      this.observer?.written?.((performance.now() - started) / 1000, true);
    } catch (err) {
      this.failing = true;
      this.observer?.written?.((performance.now() - started) / 1000, false);
      const error = new BrokerError('ERR_UNAVAILABLE', 'audit.write_failed', { cause: err });
      for (const p of group.slice(done)) p.outcome = { ok: false, error };
      return;
    }
    if (done === group.length) return;
    // Only now: an Error captures a stack, which every group would otherwise pay for.
    const contention = new BrokerError('ERR_UNAVAILABLE', 'audit.contention');
    for (const p of group.slice(done)) p.outcome = { ok: false, error: contention };
  }
}
