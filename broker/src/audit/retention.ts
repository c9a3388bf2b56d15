// Retention (PCI DSS 10.5.1): old records go, and what remains still verifies. A prune
//   1. verifies the stored chain with its checkpoints (a broken chain is evidence: never pruned away),
//   2. picks the prune point P, the last record older than the cutoff,
//   3. appends an audit_prune record (the deletion of audit records is itself audited),
//   4. signs a checkpoint of the head whose anchor is (P, hash of P): the broker's word that the chain may
//      start after P, so that `audit verify` accepts the pruned store but still catches records removed by
//      anyone without the signing key,
//   5. deletes the records and checkpoints up to P in one transaction.
// A crash between 4 and 5 leaves a store that verifies too (it starts before its anchor).
import type { AuditCheckpoint, CheckpointStore } from '../store/ports.ts';
import { parseDuration } from '../util/duration.ts';
import { newRequestId } from '../util/ids.ts';
import type { Auditor } from './auditor.ts';
import { readAll } from './chain.ts';
import type { ChainLink, CheckpointSigner } from './checkpoint-format.ts';
import type { Checkpointer } from './checkpointer.ts';
import { verifyAudit, type AuditProblem } from './verify-audit.ts';
import type { Reason } from './reasons.ts';
import type { AuditRecord } from './record.ts';

export interface PruneOptions {
  auditor: Auditor;
  checkpoints: CheckpointStore;
  checkpointer: Checkpointer;
  signer: CheckpointSigner;
  /** Records older than this (epoch milliseconds) are pruned. */
  before: number;
  /** Epoch milliseconds. */
  now: () => number;
  policyHash: string;
  /** Who prunes, for the audit record: "cli", "retention". */
  by: string;
  dryRun?: boolean;
}

export type PruneResult =
  | { ok: true; through: ChainLink | null; records: number; checkpoints: number; checkpoint: AuditCheckpoint | null }
  | { ok: false; problem: AuditProblem };

export async function pruneAudit(opts: PruneOptions): Promise<PruneResult> {
  const store = opts.auditor.store;
  const keys = await opts.signer.verificationKeys();
  const located = (await listAll(opts.checkpoints)).map((c) => ({ jws: c.jws, source: 'the store' }));
  const verified = await verifyAudit({ entries: readAll(store), checkpoints: located, keys, mode: 'store' });
  if (!verified.ok) return { ok: false, problem: verified.problems[0]! };

  // Seqs are appended in order and times only lag by a request's duration: stop at the first record that is
  // not older than the cutoff, so that everything through P is.
  let through: ChainLink | null = null;
  let count = 0;
  for await (const entry of readAll(store)) {
    const t = Date.parse((JSON.parse(entry.record) as AuditRecord).time);
    if (!(t < opts.before)) break;
    through = { seq: entry.seq, hash: entry.hash };
    count++;
  }
  if (!through || through.seq <= verified.start.seq) return { ok: true, through: null, records: 0, checkpoints: 0, checkpoint: null };
  if (opts.dryRun) return { ok: true, through, records: count, checkpoints: 0, checkpoint: null };

  const nowMs = opts.now();
  await opts.auditor.append(pruneRecord(opts, through, count, nowMs));
  const checkpoint = await opts.checkpointer.checkpointNow(through);
  if (!checkpoint) throw new Error('audit prune: could not sign the prune point');
  const deleted = await opts.checkpoints.pruneThrough(through.seq);
  return { ok: true, through, records: deleted.records, checkpoints: deleted.checkpoints, checkpoint };
}

function pruneRecord(opts: PruneOptions, through: ChainLink, count: number, nowMs: number): AuditRecord {
  return {
    time: new Date(nowMs).toISOString(),
    request_id: newRequestId(nowMs),
    action: 'audit_prune',
    decision: 'allow',
    code: 'OK',
    reason: 'audit.pruned' satisfies Reason,
    status: 200,
    role: null,
    issuer: null,
    subject: opts.by,
    identity: {},
    jti: null,
    token_sha256: null,
    client_ip: null,
    user_agent: null,
    credentials: [],
    policy_hash: opts.policyHash,
    query: {
      through_seq: String(through.seq),
      through_hash: through.hash,
      records: String(count),
      before: new Date(opts.before).toISOString(),
    },
  };
}

export async function listAll(store: CheckpointStore): Promise<AuditCheckpoint[]> {
  return store.list({});
}

/** Parses a retention ("90d", "2160h") into milliseconds: at least a day, so that a typo cannot empty the log. */
export function parseRetention(text: string | undefined): number | undefined | 'invalid' {
  if (text === undefined || text.trim() === '') return undefined;
  const seconds = parseDuration(text.trim());
  if (seconds === undefined || seconds < 86_400) return 'invalid';
  return seconds * 1000;
}
