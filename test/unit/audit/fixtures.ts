// A small audit log over in-memory stores with the real Auditor, BrokerIssuer and Checkpointer, on a frozen
// clock: what the checkpoint, retention and query tests build on.
import { Auditor } from '../../../broker/src/audit/auditor.ts';
import { buildEntry } from '../../../broker/src/audit/chain.ts';
import { Checkpointer } from '../../../broker/src/audit/checkpointer.ts';
import { verifyAudit, type AuditVerification, type LocatedCheckpoint } from '../../../broker/src/audit/verify-audit.ts';
import type { AuditRecord } from '../../../broker/src/audit/record.ts';
import { BrokerIssuer } from '../../../broker/src/issuer/issuer.ts';
import { generateKekBase64, importKek } from '../../../broker/src/store/envelope.ts';
import type { AuditEntry } from '../../../broker/src/store/ports.ts';
import { MemoryAuditStore, MemoryCheckpointStore, MemoryKeyStore } from '../../helpers/memory-stores.ts';

export const T0 = Date.parse('2026-11-28T00:00:00Z');

export function makeRecord(overrides: Partial<AuditRecord> = {}, nowMs = T0): AuditRecord {
  return {
    time: new Date(nowMs).toISOString(),
    request_id: `01REQ${String(nowMs).padStart(21, '0')}`,
    action: 'exchange',
    decision: 'allow',
    code: 'OK',
    reason: 'allowed',
    status: 200,
    role: 'deploy',
    issuer: 'github',
    subject: 'repo:acme/web:ref:refs/heads/main',
    identity: { repository: 'acme/web', repository_id: '123', ref: 'refs/heads/main', event_name: 'push' },
    jti: 'jti',
    token_sha256: 'a'.repeat(64),
    client_ip: '192.0.2.1',
    user_agent: 'test',
    credentials: [{ type: 'secret', target: 'DB_URL' }],
    policy_hash: 'p'.repeat(64),
    ...overrides,
  };
}

export interface AuditFixture {
  clock: { now: number };
  audit: MemoryAuditStore;
  checkpoints: MemoryCheckpointStore;
  keys: MemoryKeyStore;
  issuer: BrokerIssuer;
  auditor: Auditor;
  checkpointer: Checkpointer;
  /** Appends `n` records, one second apart; `make` shapes record i. */
  append(n: number, make?: (i: number) => Partial<AuditRecord>): Promise<void>;
  verify(opts?: { entries?: AuditEntry[]; extra?: LocatedCheckpoint[] }): Promise<AuditVerification>;
}

export async function auditFixture(opts: { everyRecords?: number; intervalMs?: number } = {}): Promise<AuditFixture> {
  const clock = { now: T0 };
  const audit = new MemoryAuditStore();
  const checkpoints = new MemoryCheckpointStore(audit);
  const keys = new MemoryKeyStore();
  const issuer = new BrokerIssuer({
    store: keys,
    keks: { current: await importKek(generateKekBase64()) },
    publicUrl: 'https://broker.test',
    now: () => clock.now,
    cacheMs: 0,
  });
  await issuer.ensureKey();
  const checkpointer = new Checkpointer({
    audit,
    checkpoints,
    signer: issuer,
    now: () => clock.now,
    everyRecords: opts.everyRecords ?? 1000,
    intervalMs: opts.intervalMs ?? 600_000,
  });
  const auditor = new Auditor(checkpointer.watch(audit));
  let counter = 0;
  return {
    clock,
    audit,
    checkpoints,
    keys,
    issuer,
    auditor,
    checkpointer,
    async append(n, make = () => ({})) {
      for (let i = 0; i < n; i++) {
        await auditor.append(makeRecord({ request_id: `01REQ${String(++counter).padStart(21, '0')}`, ...make(counter) }, clock.now));
        // A due checkpoint is signed in the background; let it read the head before the next append, so
        // which seq it names does not depend on scheduling.
        await checkpointer.settled();
        clock.now += 1000;
      }
    },
    async verify(v = {}) {
      return verifyAudit({
        entries: v.entries ?? [...audit.entries],
        checkpoints: [...checkpoints.rows.map((c) => ({ jws: c.jws, source: 'the store' })), ...(v.extra ?? [])],
        keys: await issuer.verificationKeys(),
        mode: 'store',
      });
    },
  };
}

/** Rewrites the chain from `fromSeq` on with `edit` applied to that record, recomputing every later hash. */
export async function rewriteFrom(entries: AuditEntry[], fromSeq: number, edit: (r: AuditRecord) => void): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for (const e of entries) {
    if (e.seq < fromSeq) {
      out.push(e);
      continue;
    }
    const record = JSON.parse(e.record) as AuditRecord;
    if (e.seq === fromSeq) edit(record);
    out.push(await buildEntry(e.seq, out.at(-1)?.hash ?? e.prev_hash, record));
  }
  return out;
}
