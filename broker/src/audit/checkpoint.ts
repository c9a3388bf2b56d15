// Signed checkpoints of the audit chain. The hash chain alone shows edits, removals and reordering, but
// anyone who can write the store can cut its tail off, or rewrite it from some record on and recompute every
// hash. A checkpoint is the broker vouching, with its signing key, that record `seq` has `hash`:
//   - a chain (store or export) that ends before a checkpoint's seq was truncated;
//   - a chain whose hash at a checkpoint's seq differs was rewritten at or before that seq;
//   - the `anchor` names where the chain may start: genesis, or the prune point of the last retention run,
//     so that removing old records without the key (which prunes sign) is caught as well.
// Checkpoints live in their own table, not as records in the chain: a truncation of the chain would take
// in-chain checkpoints along with it, pruning must keep the one at the prune point, and the chain stays one
// record per request.
import { base64url, compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import type { AuditCheckpoint, AuditEntry, AuditHead, AuditQuery, AuditStore, CheckpointStore } from '../store/ports.ts';
import { GENESIS_HASH, verifyChain, type ExportedEntry } from './chain.ts';

export const CHECKPOINT_TYP = 'audit-checkpoint+jwt';

export interface ChainLink {
  seq: number;
  hash: string;
}

export interface CheckpointPayload {
  iss: string;
  seq: number;
  hash: string;
  time: string;
  /** Where the chain may start: genesis (seq 0) or the last prune point. */
  anchor: ChainLink;
}

/** What signs and verifies checkpoints: the broker's issuer (issuer/issuer.ts). */
export interface CheckpointSigner {
  publicUrl: string;
  signJws(payload: Record<string, unknown>, typ: string): Promise<{ jws: string; kid: string }>;
  verificationKeys(): Promise<JWK[]>;
}

export const GENESIS: ChainLink = { seq: 0, hash: GENESIS_HASH };

export async function signCheckpoint(signer: CheckpointSigner, head: ChainLink, anchor: ChainLink, nowMs: number): Promise<AuditCheckpoint> {
  const time = new Date(nowMs).toISOString();
  const payload: CheckpointPayload = { iss: signer.publicUrl, seq: head.seq, hash: head.hash, time, anchor: { seq: anchor.seq, hash: anchor.hash } };
  const { jws, kid } = await signer.signJws({ ...payload }, CHECKPOINT_TYP);
  return { seq: head.seq, hash: head.hash, time, kid, jws };
}

export type CheckpointCheck =
  | { ok: true; kid: string; payload: CheckpointPayload }
  | { ok: false; reason: 'malformed' | 'unknown_key' | 'bad_signature'; kid: string | null; claimedSeq: number | null };

const HASH = /^[0-9a-f]{64}$/;
const isLink = (v: unknown): v is ChainLink =>
  !!v && typeof v === 'object' && Number.isSafeInteger((v as ChainLink).seq) && (v as ChainLink).seq >= 0 && typeof (v as ChainLink).hash === 'string' && HASH.test((v as ChainLink).hash);

function isPayload(v: unknown): v is CheckpointPayload {
  if (!isLink(v) || v.seq < 1) return false;
  const p = v as unknown as CheckpointPayload;
  return typeof p.iss === 'string' && typeof p.time === 'string' && !Number.isNaN(Date.parse(p.time)) && isLink(p.anchor) && p.anchor.seq <= p.seq;
}

/** Verifies one checkpoint JWS against `keys` (looked up by kid only; RS256 and the checkpoint typ only). */
export async function verifyCheckpoint(jws: string, keys: readonly JWK[], imported = new Map<string, Promise<CryptoKey | Uint8Array>>()): Promise<CheckpointCheck> {
  let kid: string | null = null;
  let claimedSeq: number | null = null;
  try {
    const header = decodeProtectedHeader(jws);
    kid = typeof header.kid === 'string' ? header.kid : null;
    const claimed = JSON.parse(new TextDecoder().decode(base64url.decode(jws.split('.')[1] ?? ''))) as { seq?: unknown };
    if (Number.isSafeInteger(claimed?.seq)) claimedSeq = claimed.seq as number;
    if (header.alg !== 'RS256' || header.typ !== CHECKPOINT_TYP || kid === null) return { ok: false, reason: 'malformed', kid, claimedSeq };
  } catch {
    return { ok: false, reason: 'malformed', kid, claimedSeq };
  }
  const jwk = keys.find((k) => k.kid === kid);
  if (!jwk) return { ok: false, reason: 'unknown_key', kid, claimedSeq };
  let key = imported.get(kid);
  if (!key) {
    key = importJWK({ ...jwk, alg: 'RS256' }, 'RS256');
    imported.set(kid, key);
  }
  let payload: unknown;
  try {
    const verified = await compactVerify(jws, await key, { algorithms: ['RS256'] });
    payload = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch {
    return { ok: false, reason: 'bad_signature', kid, claimedSeq };
  }
  if (!isPayload(payload)) return { ok: false, reason: 'malformed', kid, claimedSeq };
  return { ok: true, kid, payload };
}

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
        signed = (await this.run(false).catch((err: unknown) => {
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
      if (latest) return this.refuse('checkpoint_mismatch', `the audit log is empty, but the checkpoint signed ${latest.payload.time} names record seq ${latest.payload.seq}: the records were deleted`, 0);
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
      return { ok: false, reason: 'start_rewritten', detail: `the first record (seq ${first.seq}) does not continue from the genesis hash: the start of the chain was rewritten` };
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

// ---------------------------------------------------------------------------------------------------------
// Verification of a chain together with its checkpoints.

export type VerifiableEntry = (AuditEntry | ExportedEntry) & { line?: number };

export interface LocatedCheckpoint {
  jws: string;
  /** Line in an export or witness file. */
  line?: number;
  /** Where it came from, for messages: "the store", a file name. */
  source?: string;
}

export interface AuditProblem {
  /** removed: the store starts after a valid checkpoint (a witness) without a verified prune. */
  kind: 'chain' | 'start' | 'checkpoint' | 'rewritten' | 'truncated' | 'uncovered' | 'removed';
  /** Position of the record in the verified sequence (chain problems). */
  index: number | null;
  /** The record seq (chain problems) or the seq a checkpoint names. */
  seq: number | null;
  line?: number;
  source?: string;
  reason: string;
}

export interface AuditVerification {
  ok: boolean;
  /** The first broken link first (see the sort at the end of verifyAudit). */
  problems: AuditProblem[];
  count: number;
  /** The link the verified records continue from (genesis, prune point, or the first record's prev_hash). */
  start: ChainLink;
  head: ChainLink | null;
  checkpoints: { verified: number; skipped: number; latest: (CheckpointPayload & { kid: string }) | null };
  /** Records after the newest valid checkpoint: covered by the chain only. */
  uncovered: number;
}

export interface VerifyAuditInput {
  entries: Iterable<VerifiableEntry> | AsyncIterable<VerifiableEntry>;
  checkpoints: readonly LocatedCheckpoint[];
  keys: readonly JWK[];
  /**
   * store: the whole stored chain; it must start at genesis or at a prune point that a valid checkpoint
   * anchors. file: an export, which may start anywhere (audit export --since) but must end at a checkpoint.
   */
  mode: 'store' | 'file';
}

interface ValidCheckpoint {
  payload: CheckpointPayload;
  kid: string;
  at: LocatedCheckpoint;
}

export async function verifyAudit(input: VerifyAuditInput): Promise<AuditVerification> {
  const problems: AuditProblem[] = [];
  const at = (c: LocatedCheckpoint) => ({ ...(c.line !== undefined ? { line: c.line } : {}), ...(c.source !== undefined ? { source: c.source } : {}) });

  // 1. Signatures. A checkpoint whose key is unknown cannot vouch for anything; that only matters when it is
  //    newer than every one that verifies (older ones are covered by the newer ones through the chain).
  const imported = new Map<string, Promise<CryptoKey | Uint8Array>>();
  const valid: ValidCheckpoint[] = [];
  const unknown: { kid: string | null; seq: number | null; at: LocatedCheckpoint }[] = [];
  for (const c of input.checkpoints) {
    const check = await verifyCheckpoint(c.jws, input.keys, imported);
    if (check.ok) valid.push({ payload: check.payload, kid: check.kid, at: c });
    else if (check.reason === 'unknown_key') unknown.push({ kid: check.kid, seq: check.claimedSeq, at: c });
    else {
      const what = check.reason === 'malformed' ? 'is malformed' : 'has an invalid signature (forged or edited)';
      problems.push({ kind: 'checkpoint', index: null, seq: check.claimedSeq, ...at(c), reason: `checkpoint ${what}` });
    }
  }
  valid.sort((a, b) => a.payload.seq - b.payload.seq);
  const newest = valid.at(-1) ?? null;
  let skipped = 0;
  for (const u of unknown) {
    if (newest && u.seq !== null && u.seq <= newest.payload.seq) {
      skipped++;
      continue;
    }
    problems.push({
      kind: 'checkpoint', index: null, seq: u.seq, ...at(u.at),
      reason: `checkpoint signed by key ${u.kid ?? '?'}, which is not among the verification keys (a retired key, or pass the broker's JWKS)`,
    });
  }

  // 2. Where the chain may start.
  const anchors = input.mode === 'store' ? valid.map((v) => v.payload.anchor) : [];
  const iterator = toAsyncIterator(input.entries);
  const firstStep = await iterator.next();
  const first = firstStep.done ? undefined : firstStep.value;
  let start: ChainLink = GENESIS;
  let anchoredStart = false;
  if (first && Number.isSafeInteger(first.seq) && first.seq > 1) {
    const s0 = first.seq - 1;
    if (input.mode === 'file') start = { seq: s0, hash: String(first.prev_hash) };
    else {
      const anchored = anchors.find((a) => a.seq === s0);
      start = anchored ?? { seq: s0, hash: String(first.prev_hash) };
      anchoredStart = anchored !== undefined;
      if (!anchored) {
        const below = Math.max(0, ...anchors.map((a) => a.seq).filter((s) => s < s0));
        problems.push({
          kind: 'start', index: 0, seq: first.seq, ...(first.line !== undefined ? { line: first.line } : {}),
          reason: `records ${below + 1} to ${s0} are missing from the start of the chain, and no signed prune point allows that (removed)`,
        });
      }
    }
  }

  // 3. The chain itself, remembering the hash at every seq a checkpoint or anchor names.
  const claims = [
    ...valid.map((v) => ({ seq: v.payload.seq, hash: v.payload.hash, what: 'checkpoint', v })),
    ...valid.filter((v) => v.payload.anchor.seq > 0).map((v) => ({ seq: v.payload.anchor.seq, hash: v.payload.anchor.hash, what: 'prune point', v })),
  ].sort((a, b) => a.seq - b.seq);
  const wanted = new Set(claims.map((c) => c.seq));
  const seen = new Map<number, string>();
  // audit_prune records by the prune point they name ("seq:hash"), with the seq of the first one.
  const prunes = new Map<string, number>();
  const trackPrunes = input.mode === 'store' && start.seq > 0;
  let previous: VerifiableEntry | undefined;
  let current: VerifiableEntry | undefined;
  async function* observed(): AsyncGenerator<VerifiableEntry> {
    for (let step = firstStep; !step.done; step = await iterator.next()) {
      previous = current;
      current = step.value;
      // Recorded before verifyChain checks the entry. Seqs strictly increase up to a break, so the first
      // sighting of a seq at or below the last verified one is a verified entry.
      if (typeof current.seq === 'number' && wanted.has(current.seq) && !seen.has(current.seq)) seen.set(current.seq, String(current.hash));
      const pruned = trackPrunes ? prunePointOf(current) : null;
      if (pruned && !prunes.has(pruned)) prunes.set(pruned, current.seq);
      yield current;
    }
  }
  const chain = await verifyChain(observed(), start);
  let end: ChainLink | null;
  if (chain.ok) end = chain.head;
  else {
    const line = current?.line;
    problems.push({ kind: 'chain', index: chain.index, seq: chain.seq, ...(line !== undefined ? { line } : {}), reason: chain.reason });
    end = previous && chain.index > 0 ? { seq: previous.seq, hash: String(previous.hash) } : null;
  }
  const lastSeq = end?.seq ?? start.seq;

  // 3b. A stored chain that starts after genesis: the prune that removed the older records must be in the
  //     chain (its audit_prune record) and under a valid checkpoint that anchors the chain there. A signed
  //     anchor without that record is a checkpoint signed over a cut (earlier versions signed the chain's
  //     own start when no checkpoint verified); an unsigned audit_prune record is anyone's word.
  if (input.mode === 'store' && first && start.seq > 0) {
    const pruneSeq = prunes.get(`${start.seq}:${start.hash}`);
    const prunedHere =
      anchoredStart &&
      pruneSeq !== undefined &&
      pruneSeq <= lastSeq &&
      valid.some((v) => v.payload.anchor.seq === start.seq && v.payload.anchor.hash === start.hash && v.payload.seq >= pruneSeq);
    // Past a break the prune record may just be unread: the break is the finding then.
    const undecided = anchoredStart && !chain.ok && pruneSeq === undefined;
    if (anchoredStart && !prunedHere && !undecided) {
      problems.push({
        kind: 'start', index: 0, seq: first.seq, ...(first.line !== undefined ? { line: first.line } : {}),
        reason: `records up to seq ${start.seq} are missing from the start of the chain: a checkpoint anchors the chain there, but no audit_prune record under a valid checkpoint records a prune through seq ${start.seq} (removed, then re-anchored)`,
      });
    }
    // A checkpoint (an off-box witness) at or before the point where the store now starts: the records it
    // vouched for are gone, and only a verified prune explains that.
    const older = valid.filter((v) => v.payload.seq <= start.seq).at(-1);
    if (older && !prunedHere && !undecided) {
      problems.push({
        kind: 'removed', index: null, seq: older.payload.seq, ...at(older.at),
        reason: `the store starts at seq ${first.seq} after the checkpoint signed ${older.payload.time} at seq ${older.payload.seq}, and no verified prune covers that: records were removed`,
      });
    }
  }

  // 4. Every signed claim against the chain.
  let lastMatch: number | null = null;
  for (const claim of claims) {
    if (claim.seq < start.seq) continue; // before the records at hand (pruned, or not in this export)
    if (!chain.ok && claim.seq > lastSeq) continue; // past a break: that break is the finding
    const where = { index: null, seq: claim.seq, ...at(claim.v.at) };
    if (claim.seq > lastSeq) {
      problems.push({
        kind: 'truncated', ...where,
        reason: `truncated: a ${claim.what} signed ${claim.v.payload.time} names record seq ${claim.seq}, but the chain ends at seq ${lastSeq}`,
      });
      continue;
    }
    const actual = claim.seq === start.seq ? start.hash : seen.get(claim.seq);
    if (actual === claim.hash) {
      lastMatch = claim.seq;
      continue;
    }
    const from = lastMatch === null ? (start.seq > 0 ? start.seq + 1 : 1) : lastMatch + 1;
    problems.push({
      kind: 'rewritten', ...where,
      reason: `the ${claim.what} signed ${claim.v.payload.time} does not match the chain at seq ${claim.seq}: records ${from} to ${claim.seq} were rewritten`,
    });
  }

  // 5. What no checkpoint covers. An export ends with its checkpoint; anything past it was added later, or
  //    the checkpoint line was cut off. In the store, the records since the last checkpoint are normal.
  const uncovered = chain.ok && end ? Math.max(0, end.seq - (newest?.payload.seq ?? start.seq)) : 0;
  if (input.mode === 'file' && chain.ok && end && uncovered > 0) {
    problems.push({
      kind: 'uncovered', index: null, seq: (newest?.payload.seq ?? start.seq) + 1,
      reason: newest
        ? `records ${newest.payload.seq + 1} to ${end.seq} come after the last signed checkpoint (seq ${newest.payload.seq}): appended later, or the final checkpoint was cut off`
        : `no valid signed checkpoint in the file: its end cannot be verified (an export ends with one)`,
    });
  }

  // Breaks in the chain and disagreements with it, by seq; then checkpoints that do not verify; last, what
  // no checkpoint covers (often a consequence of the former).
  const rank = (p: AuditProblem) => (p.kind === 'checkpoint' ? 1 : p.kind === 'uncovered' ? 2 : 0);
  problems.sort((a, b) => rank(a) - rank(b) || (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
  return {
    ok: problems.length === 0,
    problems,
    count: chain.ok ? chain.count : chain.index,
    start,
    head: end,
    checkpoints: { verified: valid.length, skipped, latest: newest ? { ...newest.payload, kid: newest.kid } : null },
    uncovered,
  };
}

/** The prune point an audit_prune record names, as "seq:hash", or null for any other record. */
function prunePointOf(entry: VerifiableEntry): string | null {
  let record: unknown = entry.record;
  if (typeof record === 'string') {
    if (!record.includes('"audit_prune"')) return null; // most records: no parse
    try {
      record = JSON.parse(record);
    } catch {
      return null;
    }
  }
  const r = record as { action?: unknown; query?: { through_seq?: unknown; through_hash?: unknown } } | null;
  if (!r || r.action !== 'audit_prune' || typeof r.query?.through_seq !== 'string' || typeof r.query.through_hash !== 'string') return null;
  const seq = Number(r.query.through_seq);
  return Number.isSafeInteger(seq) && seq > 0 && HASH.test(r.query.through_hash) ? `${seq}:${r.query.through_hash}` : null;
}

function toAsyncIterator<T>(source: Iterable<T> | AsyncIterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
  const it = source[Symbol.iterator]();
  return { next: async () => it.next() };
}

/** The head as a link, for messages and exports. */
export const linkOf = (head: AuditHead): ChainLink => ({ seq: head.seq, hash: head.hash });
