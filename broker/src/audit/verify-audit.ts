// Verification of a chain (the store, or an export) together with its signed checkpoints
// (checkpoint-format.ts): breaks, truncation, rewrites and removed starts, each named with where it is.
import type { JWK } from 'jose';
import type { AuditEntry } from '../store/ports.ts';
import { verifyChain, type ExportedEntry } from './chain.ts';
import { GENESIS, HASH, verifyCheckpoint, type ChainLink, type CheckpointPayload } from './checkpoint-format.ts';

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
  const at = (c: LocatedCheckpoint) => ({
    ...(c.line !== undefined ? { line: c.line } : {}),
    ...(c.source !== undefined ? { source: c.source } : {}),
  });

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
      kind: 'checkpoint',
      index: null,
      seq: u.seq,
      ...at(u.at),
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
          kind: 'start',
          index: 0,
          seq: first.seq,
          ...(first.line !== undefined ? { line: first.line } : {}),
          reason: `records ${below + 1} to ${s0} are missing from the start of the chain, and no signed prune point allows that (removed)`,
        });
      }
    }
  }

  // 3. The chain itself, remembering the hash at every seq a checkpoint or anchor names.
  const claims = [
    ...valid.map((v) => ({ seq: v.payload.seq, hash: v.payload.hash, what: 'checkpoint', v })),
    ...valid
      .filter((v) => v.payload.anchor.seq > 0)
      .map((v) => ({ seq: v.payload.anchor.seq, hash: v.payload.anchor.hash, what: 'prune point', v })),
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
        kind: 'start',
        index: 0,
        seq: first.seq,
        ...(first.line !== undefined ? { line: first.line } : {}),
        reason: `records up to seq ${start.seq} are missing from the start of the chain: a checkpoint anchors the chain there, but no audit_prune record under a valid checkpoint records a prune through seq ${start.seq} (removed, then re-anchored)`,
      });
    }
    // A checkpoint (an off-box witness) at or before the point where the store now starts: the records it
    // vouched for are gone, and only a verified prune explains that.
    const older = valid.filter((v) => v.payload.seq <= start.seq).at(-1);
    if (older && !prunedHere && !undecided) {
      problems.push({
        kind: 'removed',
        index: null,
        seq: older.payload.seq,
        ...at(older.at),
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
        kind: 'truncated',
        ...where,
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
      kind: 'rewritten',
      ...where,
      reason: `the ${claim.what} signed ${claim.v.payload.time} does not match the chain at seq ${claim.seq}: records ${from} to ${claim.seq} were rewritten`,
    });
  }

  // 5. What no checkpoint covers. An export ends with its checkpoint; anything past it was added later, or
  //    the checkpoint line was cut off. In the store, the records since the last checkpoint are normal.
  const uncovered = chain.ok && end ? Math.max(0, end.seq - (newest?.payload.seq ?? start.seq)) : 0;
  if (input.mode === 'file' && chain.ok && end && uncovered > 0) {
    problems.push({
      kind: 'uncovered',
      index: null,
      seq: (newest?.payload.seq ?? start.seq) + 1,
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
  if (r?.action !== 'audit_prune' || typeof r.query?.through_seq !== 'string' || typeof r.query.through_hash !== 'string') return null;
  const seq = Number(r.query.through_seq);
  return Number.isSafeInteger(seq) && seq > 0 && HASH.test(r.query.through_hash) ? `${seq}:${r.query.through_hash}` : null;
}

function toAsyncIterator<T>(source: Iterable<T> | AsyncIterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
  const it = source[Symbol.iterator]();
  return { next: async () => it.next() };
}
