// Audit anchoring under attack by someone who can write the store but does not hold the signing key. The
// rule: where the chain may start (its anchor) comes only from genesis, a valid checkpoint, or a prune
// recorded in the chain under a valid checkpoint. When none vouches for the stored start, the broker refuses
// to sign (log + status) rather than vouching for the cut, and `audit verify` flags a checkpoint kept
// elsewhere (a witness) that is older than where the store now starts.
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildEntry, GENESIS_HASH } from '../../../broker/src/audit/chain.ts';
import { CHECKPOINT_TYP, signCheckpoint, type ChainLink } from '../../../broker/src/audit/checkpoint-format.ts';
import { Checkpointer } from '../../../broker/src/audit/checkpointer.ts';
import type { LocatedCheckpoint } from '../../../broker/src/audit/verify-audit.ts';
import type { AuditRecord } from '../../../broker/src/audit/record.ts';
import { pruneAudit } from '../../../broker/src/audit/retention.ts';
import type { AuditCheckpoint, AuditEntry } from '../../../broker/src/store/ports.ts';
import { auditFixture, makeRecord, rewriteFrom, T0, type AuditFixture } from '../audit/fixtures.ts';

/** A fixture whose checkpointer logs into `logs`. */
async function fixture(everyRecords = 4) {
  // The fixture's own checkpointer (behind its auditor) never signs on its own here: prunes only.
  const f = await auditFixture({ everyRecords: 1e9 });
  const logs: Record<string, unknown>[] = [];
  // The fixture's auditor reports appends to its own checkpointer; this one is the broker under test.
  const checkpointer = new Checkpointer({
    audit: f.audit,
    checkpoints: f.checkpoints,
    signer: f.issuer,
    now: () => f.clock.now,
    everyRecords,
    intervalMs: 600_000,
    log: (l) => logs.push(l),
  });
  return Object.assign(f, { broker: checkpointer, logs });
}

const prune = (f: AuditFixture, before: number) =>
  pruneAudit({
    auditor: f.auditor,
    checkpoints: f.checkpoints,
    checkpointer: f.checkpointer,
    signer: f.issuer,
    before,
    now: () => f.clock.now,
    policyHash: 'p'.repeat(64),
    by: 'test',
  });

const witnessOf = (c: AuditCheckpoint): LocatedCheckpoint => ({ jws: c.jws, source: 'kept.jsonl', line: 1 });

/** Appends records the way someone with write access to the store would: chained on the stored head. */
async function forgeAppend(f: AuditFixture, records: AuditRecord[]): Promise<void> {
  for (const r of records) {
    const head = f.audit.entries.at(-1);
    f.audit.entries.push(await buildEntry((head?.seq ?? 0) + 1, head?.hash ?? GENESIS_HASH, r));
  }
}

const fakePrune = (through: ChainLink) =>
  makeRecord({
    action: 'audit_prune',
    subject: 'retention',
    role: null,
    query: {
      through_seq: String(through.seq),
      through_hash: through.hash,
      records: String(through.seq),
      before: new Date(T0).toISOString(),
    },
  });

/** What the checkpointer before this rule signed when no checkpoint verified: the chain's own start. */
async function signLikeTheOldBroker(f: AuditFixture): Promise<AuditCheckpoint> {
  const first = f.audit.entries[0]!;
  const head = f.audit.entries.at(-1)!;
  const cp = await signCheckpoint(f.issuer, { seq: head.seq, hash: head.hash }, { seq: first.seq - 1, hash: first.prev_hash }, f.clock.now);
  await f.checkpoints.insert(cp);
  return cp;
}

describe('an anchor comes only from genesis, a verified checkpoint or a prune recorded in the chain', () => {
  it('the broker refuses to sign a chain whose oldest records and checkpoints were deleted, and says so in logs and status', async () => {
    const f = await fixture();
    await f.append(10);
    const witness = (await f.broker.checkpointNow())!; // kept off-box
    f.audit.entries = f.audit.entries.filter((e) => e.seq > 5);
    f.checkpoints.rows = [];
    await f.append(6);

    expect(await f.broker.tick()).toBeNull();
    expect(await f.broker.checkpointNow()).toBeNull();
    expect(f.checkpoints.rows).toEqual([]);
    expect(f.broker.status()).toMatchObject({ ok: false, reason: 'start_unanchored' });
    const refused = f.logs.find((l) => l.event === 'audit.checkpoint_refused');
    expect(refused).toMatchObject({ level: 'error', reason: 'start_unanchored' });
    expect(String(refused!.detail)).toMatch(/starts at seq 6.*no valid checkpoint anchors it.*restore the audit tables from a backup/);

    // And the off-box witness names the cut.
    const r = await f.verify({ extra: [witnessOf(witness)] });
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.kind)).toContain('start');
  });

  it('audit verify flags a witness older than the store start, also when the broker re-signed the cut', async () => {
    const f = await fixture();
    await f.append(10);
    const witness = (await f.broker.checkpointNow())!; // seq 10
    await f.append(6);
    f.audit.entries = f.audit.entries.filter((e) => e.seq > 12);
    f.checkpoints.rows = [];
    await signLikeTheOldBroker(f);

    const r = await f.verify({ extra: [witnessOf(witness)] });
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({ kind: 'removed', seq: 10, source: 'kept.jsonl', line: 1 });
    expect(r.problems[0]!.reason).toMatch(/the store starts at seq 13 after the checkpoint .* at seq 10.*records were removed/);
    // Without the witness the re-signed anchor alone is caught too: no prune is recorded there.
    const alone = await f.verify();
    expect(alone.problems).toEqual([expect.objectContaining({ kind: 'start', seq: 13 })]);
    expect(alone.problems[0]!.reason).toMatch(/no audit_prune record/);
  });

  it('a witness at exactly the seq the store starts after is flagged as well', async () => {
    const f = await fixture();
    await f.append(8);
    const witness = (await f.broker.checkpointNow())!; // seq 8
    await f.append(4);
    f.audit.entries = f.audit.entries.filter((e) => e.seq > 8);
    f.checkpoints.rows = [];
    await signLikeTheOldBroker(f);
    const r = await f.verify({ extra: [witnessOf(witness)] });
    expect(r.problems[0]).toMatchObject({ kind: 'removed', seq: 8 });
  });

  it('a real prune covers older witnesses: the pruned store verifies with them, and the broker keeps signing', async () => {
    const f = await fixture();
    await f.append(10);
    const witness = (await f.broker.checkpointNow())!;
    await f.append(2);
    expect(await prune(f, T0 + 11_000)).toMatchObject({ ok: true, through: { seq: 11 } });
    expect(await f.verify({ extra: [witnessOf(witness)] })).toMatchObject({ ok: true, start: { seq: 11 } });
    await f.append(5);
    expect(await f.broker.checkpointNow()).not.toBeNull();
    expect(f.broker.status()).toEqual({ ok: true });
    expect(await f.verify({ extra: [witnessOf(witness)] })).toMatchObject({ ok: true, start: { seq: 11 } });
  });

  it('deleting the oldest records but keeping the checkpoints: refused, and verify names the missing records', async () => {
    const f = await fixture();
    await f.append(12);
    f.audit.entries = f.audit.entries.filter((e) => e.seq > 3);
    expect(await f.broker.checkpointNow()).toBeNull();
    expect(f.broker.status()).toMatchObject({ ok: false, reason: 'start_unanchored' });
    expect((await f.verify()).problems[0]).toMatchObject({ kind: 'start', seq: 4 });
  });

  it('an audit_prune record written into the store without a signature does not vouch for the cut', async () => {
    const f = await fixture();
    await f.append(10);
    f.audit.entries = f.audit.entries.filter((e) => e.seq > 6);
    f.checkpoints.rows = [];
    await forgeAppend(f, [fakePrune({ seq: 6, hash: f.audit.entries[0]!.prev_hash })]);
    expect(await f.broker.checkpointNow()).toBeNull();
    expect(f.broker.status()).toMatchObject({ ok: false, reason: 'start_unanchored' });
    expect((await f.verify()).problems[0]).toMatchObject({ kind: 'start', seq: 7 });
  });

  it('a forged prune checkpoint (edited signature payload, or a foreign key under the broker kid) does not vouch either', async () => {
    const f = await fixture();
    await f.append(10);
    const real = (await f.broker.checkpointNow())!;
    f.audit.entries = f.audit.entries.filter((e) => e.seq > 6);
    f.checkpoints.rows = [];
    const anchor = { seq: 6, hash: f.audit.entries[0]!.prev_hash };
    await forgeAppend(f, [fakePrune(anchor)]);
    const head = f.audit.entries.at(-1)!;
    const payload = { iss: 'https://broker.test', seq: head.seq, hash: head.hash, time: real.time, anchor };
    const [h, , s] = real.jws.split('.');
    const edited = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    const { privateKey } = await generateKeyPair('RS256');
    const foreign = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'RS256', kid: real.kid, typ: CHECKPOINT_TYP })
      .sign(privateKey);
    const other = await generateKeyPair('RS256');
    const otherJwk = { ...(await exportJWK(other.publicKey)), kid: 'attacker' };
    const unknown = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'RS256', kid: otherJwk.kid, typ: CHECKPOINT_TYP })
      .sign(other.privateKey);
    for (const jws of [edited, foreign, unknown]) {
      f.checkpoints.rows = [{ seq: head.seq, hash: head.hash, time: real.time, kid: real.kid, jws }];
      expect(await f.broker.checkpointNow()).toBeNull();
      expect(f.broker.status()).toMatchObject({ ok: false, reason: 'start_unanchored' });
      expect((await f.verify()).ok).toBe(false);
    }
  });

  it('replaying an old prune checkpoint does not justify a deeper cut', async () => {
    const f = await fixture();
    await f.append(10);
    await prune(f, T0 + 3_000); // prune point seq 3, prune record seq 11
    const pruneCheckpoint = f.checkpoints.rows.find((c) => c.seq === 11)!;
    await f.append(6);
    f.audit.entries = f.audit.entries.filter((e) => e.seq > 8);
    f.checkpoints.rows = [pruneCheckpoint];
    expect(await f.broker.checkpointNow()).toBeNull();
    expect(f.broker.status()).toMatchObject({ ok: false });
    const r = await f.verify();
    expect(r.problems[0]).toMatchObject({ kind: 'start', seq: 9 });
  });

  it('a prune checkpoint from another copy of the store (same key) does not anchor this one', async () => {
    const f = await fixture();
    await f.append(10);
    const before = { entries: [...f.audit.entries], rows: [...f.checkpoints.rows] };
    await prune(f, T0 + 8_000); // on "the copy": prune point 8, prune checkpoint at seq 11
    const copied = f.checkpoints.rows.find((c) => c.seq === 11)!;
    f.audit.entries = before.entries;
    f.checkpoints.rows = before.rows;
    await f.append(1); // this store's own seq 11
    f.audit.entries = f.audit.entries.filter((e) => e.seq > 8);
    f.checkpoints.rows = [copied];
    expect(await f.broker.checkpointNow()).toBeNull();
    expect(f.broker.status()).toMatchObject({ ok: false, reason: 'checkpoint_mismatch' });
    const kinds = (await f.verify()).problems.map((p) => p.kind);
    expect(kinds).toEqual(expect.arrayContaining(['start', 'rewritten']));
  });

  it('deleting every record: refused while checkpoints remain, also after new records restart at seq 1; a witness catches it without them', async () => {
    const f = await fixture();
    await f.append(6);
    const witness = (await f.broker.checkpointNow())!;
    f.audit.entries = [];
    expect(await f.broker.tick()).toBeNull();
    expect(f.broker.status()).toMatchObject({ ok: false, reason: 'checkpoint_mismatch' });
    await f.append(3); // the auditor restarts the chain from genesis
    expect(await f.broker.checkpointNow()).toBeNull();
    expect(f.broker.status()).toMatchObject({ ok: false, reason: 'checkpoint_mismatch' });

    f.checkpoints.rows = [];
    expect(await f.broker.checkpointNow()).not.toBeNull(); // indistinguishable from a fresh log here...
    const r = await f.verify({ extra: [witnessOf(witness)] });
    expect(r.problems[0]).toMatchObject({ kind: 'truncated', seq: 6, source: 'kept.jsonl' }); // ...not with a witness
  });

  it('deleting records from the middle: the broker signs nothing new about the start, and verify names the gap', async () => {
    const f = await fixture();
    await f.append(10);
    const witness = (await f.broker.checkpointNow())!;
    f.audit.entries = f.audit.entries.filter((e) => e.seq < 4 || e.seq > 6);
    f.checkpoints.rows = [];
    const cp = (await f.broker.checkpointNow())!;
    expect(cp).not.toBeNull();
    const r = await f.verify({ extra: [witnessOf(witness)] });
    expect(r.problems[0]).toMatchObject({ kind: 'chain', seq: 7 });
    expect(r.problems[0]!.reason).toMatch(/gap/);
  });

  it('rewriting the first record to start from another hash: refused, and verify names it', async () => {
    const f = await fixture();
    await f.append(6);
    const rewritten = await rewriteFrom(f.audit.entries, 1, () => {});
    const other: AuditEntry[] = [];
    for (const e of rewritten) other.push(await buildEntry(e.seq, other.at(-1)?.hash ?? 'f'.repeat(64), JSON.parse(e.record)));
    f.audit.entries = other;
    f.checkpoints.rows = [];
    expect(await f.broker.checkpointNow()).toBeNull();
    expect(f.broker.status()).toMatchObject({ ok: false, reason: 'start_rewritten' });
    expect((await f.verify()).problems[0]).toMatchObject({ kind: 'chain', seq: 1 });

    // Renumbered to start later instead (as if pruned): no anchor there.
    const renumbered: AuditEntry[] = [];
    for (const e of other) renumbered.push(await buildEntry(e.seq + 20, renumbered.at(-1)?.hash ?? 'f'.repeat(64), JSON.parse(e.record)));
    f.audit.entries = renumbered;
    expect(await f.broker.checkpointNow()).toBeNull();
    expect(f.broker.status()).toMatchObject({ ok: false, reason: 'start_unanchored' });
  });

  it('a refusal is not retried on every append, and signing resumes once the store is restored', async () => {
    const f = await fixture(2);
    await f.append(6);
    await f.broker.checkpointNow();
    const backup = { entries: [...f.audit.entries], rows: [...f.checkpoints.rows] };
    f.audit.entries = f.audit.entries.filter((e) => e.seq > 2);
    expect(await f.broker.tick()).toBeNull();
    const refusals = () => f.logs.filter((l) => l.event === 'audit.checkpoint_refused').length;
    expect(refusals()).toBe(1);
    // Appends through the broker's watched store: one more try only after everyRecords more.
    const watched = f.broker.watch(f.audit);
    const head = f.audit.entries.at(-1)!;
    await watched.insert(await buildEntry(head.seq + 1, head.hash, makeRecord()));
    await f.broker.settled();
    expect(refusals()).toBe(1);
    const next = f.audit.entries.at(-1)!;
    await watched.insert(await buildEntry(next.seq + 1, next.hash, makeRecord()));
    await f.broker.settled();
    expect(refusals()).toBe(2);

    f.audit.entries = [...backup.entries];
    f.checkpoints.rows = backup.rows;
    await f.append(3);
    expect(await f.broker.checkpointNow()).not.toBeNull();
    expect(f.broker.status()).toEqual({ ok: true });
    expect(f.logs.some((l) => l.event === 'audit.checkpoint_resumed')).toBe(true);
    expect((await f.verify()).ok).toBe(true);
  });

  it('a fresh log, and a prune that crashed before deleting, are legitimate anchors', async () => {
    const f = await fixture();
    await f.append(3);
    expect(await f.broker.checkpointNow()).not.toBeNull();
    expect(f.broker.status()).toEqual({ ok: true });
    await f.append(4);
    const realPrune = f.checkpoints.pruneThrough.bind(f.checkpoints);
    f.checkpoints.pruneThrough = () => Promise.reject(new Error('crash'));
    await expect(prune(f, T0 + 3_000)).rejects.toThrow('crash');
    f.checkpoints.pruneThrough = realPrune;
    await f.append(2);
    expect(await f.broker.checkpointNow()).not.toBeNull();
    expect(await f.verify()).toMatchObject({ ok: true, start: { seq: 0 } });
  });

  it('a second prune that crashed before deleting, many checkpoints ago, still leaves a store the broker signs', async () => {
    const f = await fixture();
    await f.append(6);
    await prune(f, T0 + 2_000); // the store starts after seq 2
    await f.append(4);
    const realPrune = f.checkpoints.pruneThrough.bind(f.checkpoints);
    f.checkpoints.pruneThrough = () => Promise.reject(new Error('crash'));
    await expect(prune(f, T0 + 5_000)).rejects.toThrow('crash'); // anchor 5 signed, nothing deleted
    f.checkpoints.pruneThrough = realPrune;
    // More checkpoints than the broker reads as recent, all naming the newer prune point.
    for (let i = 0; i < 25; i++) {
      await f.append(1);
      expect(await f.broker.checkpointNow()).not.toBeNull();
    }
    expect(f.broker.status()).toEqual({ ok: true });
    expect(await f.verify()).toMatchObject({ ok: true, start: { seq: 2 } });
  });
});
