// The checkpointer: signs the audit chain's head as it grows (the format and why: checkpoint-format.ts), and
// refuses to sign a chain that lost records no checkpoint vouches for.
import type { JWK } from 'jose';
import type { AuditCheckpoint, AuditEntry, AuditHead, AuditQuery, AuditStore, CheckpointStore } from '../store/ports.ts';
import { GENESIS_HASH } from './chain.ts';
import {
  GENESIS,
  signCheckpoint,
  verifyCheckpoint,
  type ChainLink,
  type CheckpointPayload,
  type CheckpointSigner,
} from './checkpoint-format.ts';

export interface CheckpointerOptions {
  audit: AuditStore;
  checkpoints: CheckpointStore;
  signer: CheckpointSigner;
  /** Epoch milliseconds. */
  now: () => number;
  /** Sign once this many records were appended since the last checkpoint [1000]. */
  everyRecords?: number;
  /** Sign when the head has moved and the last checkpoint is this old [10 minutes]. */
  intervalMs?: number;
  log?: (line: Record<string, unknown>) => void;
}

/** How many recent checkpoints are read to find the newest valid one and the latest anchor. */
const RECENT = 20;

/** Why the checkpointer refuses to sign (a readiness check reads it through `Checkpointer.status()`). */
export type CheckpointRefusal =
  /** The chain starts after seq 1 and no valid checkpoint anchors it there (records removed). */
  | 'start_unanchored'
  /** The first record is seq 1 (or below) but does not continue from the genesis hash. */
  | 'start_rewritten'
  /** The newest valid checkpoint names a record the chain no longer holds as signed (cut off or rewritten). */
  | 'checkpoint_mismatch';

export type CheckpointerStatus = { ok: true } | { ok: false; reason: CheckpointRefusal; detail: string };

/** What a refusal tells the operator to do, in the log line and the status. */
const FIX =
  'the broker will not sign over it (that would vouch for the cut); restore the audit tables from a backup, ' +
  'then run `secret-broker audit verify` (with --checkpoint for checkpoints kept elsewhere) to see what is missing';

/**
 * Signs the chain head every `everyRecords` appends or `intervalMs`, whichever comes first, and again when
 * the key that signed the last checkpoint is gone (so the newest checkpoint always verifies). Appends never
 * wait for a checkpoint, and a failed checkpoint never fails a request: the chain is the audit, checkpoints
 * only make cutting it detectable.
 *
 * The anchor it signs (where the chain may start) comes only from genesis, from a valid checkpoint already in
 * the store, or from a prune (`checkpointNow(anchor)`, after retention verified the store). A chain that
 * starts anywhere else lost its oldest records: the checkpointer refuses to sign, logs
 * `audit.checkpoint_refused` and reports it in `status()`, rather than vouching for the cut.
 */
export class Checkpointer {
  private readonly opts: CheckpointerOptions;
  private running: Promise<AuditCheckpoint | null> | null = null;
  private again = false;
  private lastSeq = 0;
  private state: CheckpointerStatus = { ok: true };

  constructor(opts: CheckpointerOptions) {
    this.opts = opts;
  }

  get everyRecords(): number {
    return this.opts.everyRecords ?? 1000;
  }

  get intervalMs(): number {
    return this.opts.intervalMs ?? 10 * 60_000;
  }

  /**
   * The outcome of the last check (every tick checks, due or not): `ok: false` while the stored chain has
   * lost records that no checkpoint vouches for and nothing is being signed. For readiness checks.
   */
  status(): CheckpointerStatus {
    return this.state;
  }

  /** The audit store, reporting appends so that a checkpoint follows every `everyRecords`. */
  watch(store: AuditStore): AuditStore {
    return {
      head: () => store.head(),
      list: (q) => store.list(q),
      insert: async (entry) => {
        const inserted = await store.insert(entry);
        if (inserted && entry.seq - this.lastSeq >= this.everyRecords) void this.tick();
        return inserted;
      },
      ...(store.insertMany && {
        insertMany: async (entries: AuditEntry[]) => {
          const inserted = await store.insertMany!(entries);
          const last = entries.at(-1);
          if (inserted && last && last.seq - this.lastSeq >= this.everyRecords) void this.tick();
          return inserted;
        },
      }),
    };
  }

  /**
   * Signs a checkpoint if one is due; never throws (logs instead). One run at a time: a tick asked for
   * while one runs makes it check again when done, and its caller waits for that too.
   */
  tick(): Promise<AuditCheckpoint | null> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let signed: AuditCheckpoint | null = null;
      do {
        this.again = false;
        signed =
          (await this.run(false).catch((err: unknown) => {
            this.opts.log?.({ level: 'error', event: 'audit.checkpoint_failed', detail: String((err as Error)?.message ?? err) });
            return null;
          })) ?? signed;
      } while (this.again);
      return signed;
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Resolves once a checkpoint run in progress, if any, has finished (tests and shutdown wait on it). */
  async settled(): Promise<void> {
    await this.running;
  }

  /**
   * Signs the current head now (export, shutdown, prune), with `anchor` when it moves (prune: the caller
   * verified the store first). Null when there is nothing to sign or signing is refused (see status()).
   */
  async checkpointNow(anchor?: ChainLink): Promise<AuditCheckpoint | null> {
    await this.running;
    return this.run(true, anchor);
  }

  private async run(force: boolean, newAnchor?: ChainLink): Promise<AuditCheckpoint | null> {
    // Checkpoints before the head: every checkpoint listed then names a record the head read sees, so one
    // signed meanwhile by another process cannot look like a cut tail.
    const keys = await this.opts.signer.verificationKeys();
    const recent = await latestCheckpoints(this.opts.checkpoints, keys);
    const head = await this.opts.audit.head();
    const latest = recent.latest;
    if (!head) {
      if (latest)
        return this.refuse(
          'checkpoint_mismatch',
          `the audit log is empty, but the checkpoint signed ${latest.payload.time} names record seq ${latest.payload.seq}: the records were deleted`,
          0,
        );
      return null;
    }
    let anchor: ChainLink;
    if (newAnchor) anchor = newAnchor;
    else {
      const found = await this.anchorFor(head, recent, keys);
      if (!found.ok) return this.refuse(found.reason, found.detail, head.seq);
      anchor = found.anchor;
    }
    if (!this.state.ok) this.opts.log?.({ level: 'info', event: 'audit.checkpoint_resumed', seq: head.seq });
    this.state = { ok: true };
    const nowMs = this.opts.now();
    if (latest) this.lastSeq = Math.max(this.lastSeq, latest.payload.seq);
    const due =
      force ||
      !latest ||
      head.seq - latest.payload.seq >= this.everyRecords ||
      (head.seq > latest.payload.seq && nowMs - Date.parse(latest.payload.time) >= this.intervalMs);
    if (!due) return null;
    const checkpoint = await signCheckpoint(this.opts.signer, head, anchor, nowMs);
    await this.opts.checkpoints.insert(checkpoint);
    this.lastSeq = Math.max(this.lastSeq, head.seq);
    return checkpoint;
  }

  private refuse(reason: CheckpointRefusal, detail: string, headSeq: number): null {
    this.state = { ok: false, reason, detail: `${detail}; ${FIX}` };
    // Not again on every append: the next attempt is the next tick, or everyRecords later.
    this.lastSeq = Math.max(this.lastSeq, headSeq);
    this.opts.log?.({ level: 'error', event: 'audit.checkpoint_refused', reason, detail: this.state.detail });
    return null;
  }

  /**
   * The anchor for the next checkpoint, checked against the stored chain: the newest valid checkpoint must
   * still match it, and its first record must continue from genesis or from an anchor a valid checkpoint
   * signed. Never the chain's own start: that would let anyone who deletes the oldest records (and the
   * checkpoints) have the broker sign the cut.
   */
  private async anchorFor(
    head: AuditHead,
    recent: Awaited<ReturnType<typeof latestCheckpoints>>,
    keys: readonly JWK[],
  ): Promise<{ ok: true; anchor: ChainLink } | { ok: false; reason: CheckpointRefusal; detail: string }> {
    const audit = this.opts.audit;
    const latest = recent.latest?.payload;
    if (latest) {
      const [signed] = latest.seq <= head.seq ? await audit.list({ afterSeq: latest.seq - 1, limit: 1 }) : [];
      if (!signed || signed.seq !== latest.seq || signed.hash !== latest.hash) {
        return {
          ok: false,
          reason: 'checkpoint_mismatch',
          detail: `the checkpoint signed ${latest.time} names record seq ${latest.seq}, which the chain (head seq ${head.seq}) no longer holds as signed: records were cut off, removed or rewritten`,
        };
      }
    }
    const [first] = await audit.list({ limit: 1 });
    if (!first) return { ok: true, anchor: recent.anchor ?? GENESIS };
    if (first.seq <= 1) {
      if (first.seq === 1 && first.prev_hash === GENESIS_HASH) return { ok: true, anchor: recent.anchor ?? GENESIS };
      return {
        ok: false,
        reason: 'start_rewritten',
        detail: `the first record (seq ${first.seq}) does not continue from the genesis hash: the start of the chain was rewritten`,
      };
    }
    const start: ChainLink = { seq: first.seq - 1, hash: first.prev_hash };
    const anchors = recent.anchors;
    const anchorsStart = (list: readonly ChainLink[]) => list.some((a) => a.seq === start.seq && a.hash === start.hash);
    // The oldest checkpoints too: after a prune that crashed before deleting, the store may start at an
    // earlier prune point than the recent checkpoints name.
    if (!anchorsStart(anchors)) anchors.push(...(await validAnchors(this.opts.checkpoints, keys, { limit: RECENT })));
    if (anchorsStart(anchors)) {
      return { ok: true, anchor: anchors.reduce((a, b) => (b.seq > a.seq ? b : a), start) };
    }
    return {
      ok: false,
      reason: 'start_unanchored',
      detail: `the chain starts at seq ${first.seq}, but no valid checkpoint anchors it there (no signed prune point at seq ${start.seq}): records up to seq ${start.seq} were removed without a prune`,
    };
  }
}

/** The newest valid checkpoint among the recent ones, and the furthest anchor any of them names. */
export async function latestCheckpoints(
  store: CheckpointStore,
  keys: readonly JWK[],
): Promise<{ latest: { checkpoint: AuditCheckpoint; payload: CheckpointPayload } | null; anchor: ChainLink | null; anchors: ChainLink[] }> {
  const imported = new Map<string, Promise<CryptoKey | Uint8Array>>();
  let latest: { checkpoint: AuditCheckpoint; payload: CheckpointPayload } | null = null;
  let anchor: ChainLink | null = null;
  const anchors: ChainLink[] = [];
  for (const checkpoint of await store.list({ descending: true, limit: RECENT })) {
    const check = await verifyCheckpoint(checkpoint.jws, keys, imported);
    if (!check.ok) continue;
    latest ??= { checkpoint, payload: check.payload };
    anchors.push(check.payload.anchor);
    if (!anchor || check.payload.anchor.seq > anchor.seq) anchor = check.payload.anchor;
  }
  return { latest, anchor, anchors };
}

async function validAnchors(store: CheckpointStore, keys: readonly JWK[], query: AuditQuery): Promise<ChainLink[]> {
  const imported = new Map<string, Promise<CryptoKey | Uint8Array>>();
  const out: ChainLink[] = [];
  for (const checkpoint of await store.list(query)) {
    const check = await verifyCheckpoint(checkpoint.jws, keys, imported);
    if (check.ok) out.push(check.payload.anchor);
  }
  return out;
}
