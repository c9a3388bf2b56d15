// Retention prunes old records up to a signed prune point; what remains still verifies, and removing more
// without the signing key does not.
import { describe, expect, it } from 'vitest';
import { parseRetention, pruneAudit, type PruneOptions } from '../../../broker/src/audit/retention.ts';
import { auditFixture, T0, type AuditFixture } from './fixtures.ts';

const prune = (f: AuditFixture, before: number, extra: Partial<PruneOptions> = {}) =>
  pruneAudit({
    auditor: f.auditor,
    checkpoints: f.checkpoints,
    checkpointer: f.checkpointer,
    signer: f.issuer,
    before,
    now: () => f.clock.now,
    policyHash: 'p'.repeat(64),
    by: 'test',
    ...extra,
  });

describe('pruneAudit', () => {
  it('deletes records older than the cutoff, audits the prune, and the rest verifies from the prune point', async () => {
    const f = await auditFixture({ everyRecords: 3 });
    await f.append(10); // times T0 .. T0+9s
    await f.checkpointer.tick();
    const result = await prune(f, T0 + 6_000);
    expect(result).toMatchObject({ ok: true, through: { seq: 6 }, records: 6 });
    expect(f.audit.entries.map((e) => e.seq)).toEqual([7, 8, 9, 10, 11]);
    const pruneRecord = JSON.parse(f.audit.entries.at(-1)!.record);
    expect(pruneRecord).toMatchObject({
      action: 'audit_prune',
      decision: 'allow',
      subject: 'test',
      query: { through_seq: '6', records: '6' },
    });
    expect(f.checkpoints.rows.every((c) => c.seq > 6)).toBe(true);

    const verified = await f.verify();
    expect(verified).toMatchObject({ ok: true, start: { seq: 6 }, count: 5, head: { seq: 11 } });

    // Life goes on: later records and checkpoints keep verifying from the prune point.
    await f.append(5);
    await f.checkpointer.tick();
    expect(await f.verify()).toMatchObject({ ok: true, start: { seq: 6 }, head: { seq: 16 } });
  });

  it('records removed beyond the prune point, without the key, are still caught', async () => {
    const f = await auditFixture();
    await f.append(10);
    await prune(f, T0 + 4_000);
    const r = await f.verify({ entries: f.audit.entries.slice(2) });
    expect(r.problems[0]).toMatchObject({ kind: 'start', seq: 7 });
    expect(r.problems[0]!.reason).toMatch(/records 5 to 6 are missing/);
  });

  it('a second prune moves the prune point on', async () => {
    const f = await auditFixture();
    await f.append(10);
    await prune(f, T0 + 3_000);
    await prune(f, T0 + 7_000);
    expect(f.audit.entries[0]!.seq).toBe(8);
    expect(await f.verify()).toMatchObject({ ok: true, start: { seq: 7 } });
  });

  it('a crash after signing the prune point but before deleting leaves a store that verifies', async () => {
    const f = await auditFixture();
    await f.append(6);
    const realPrune = f.checkpoints.pruneThrough.bind(f.checkpoints);
    f.checkpoints.pruneThrough = () => Promise.reject(new Error('crash'));
    await expect(prune(f, T0 + 3_000)).rejects.toThrow('crash');
    expect(await f.verify()).toMatchObject({ ok: true, start: { seq: 0 } });
    f.checkpoints.pruneThrough = realPrune;
  });

  it('keeps at least the prune record, even when every record is older than the cutoff', async () => {
    const f = await auditFixture();
    await f.append(4);
    const r = await prune(f, T0 + 3_600_000);
    expect(r).toMatchObject({ ok: true, through: { seq: 4 } });
    expect(f.audit.entries.map((e) => e.seq)).toEqual([5]);
    expect(await f.verify()).toMatchObject({ ok: true, start: { seq: 4 } });
    // The auditor continues the chain after it.
    await f.append(1);
    expect(f.audit.entries.map((e) => e.seq)).toEqual([5, 6]);
  });

  it('refuses to prune a chain that does not verify: that is evidence', async () => {
    const f = await auditFixture();
    await f.append(6);
    f.audit.entries[2] = { ...f.audit.entries[2]!, record: f.audit.entries[2]!.record.replace('"allow"', '"deny"') };
    const r = await prune(f, T0 + 4_000);
    expect(r).toMatchObject({ ok: false, problem: { kind: 'chain', seq: 3 } });
    expect(f.audit.entries).toHaveLength(6);
  });

  it('nothing older than the cutoff, or a dry run: nothing changes', async () => {
    const f = await auditFixture();
    await f.append(4);
    expect(await prune(f, T0 - 1)).toMatchObject({ ok: true, through: null, records: 0 });
    expect(await prune(f, T0 + 2_000, { dryRun: true })).toMatchObject({ ok: true, through: { seq: 2 }, records: 2 });
    expect(f.audit.entries).toHaveLength(4);
    expect(f.checkpoints.rows).toHaveLength(0);
  });
});

describe('parseRetention', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['90d', 90 * 86_400_000],
    ['2160h', 2160 * 3_600_000],
    ['1d', 86_400_000],
    ['12h', 'invalid'],
    ['90', 'invalid'],
    ['ninety days', 'invalid'],
  ])('%s -> %s', (text, expected) => {
    expect(parseRetention(text)).toBe(expected);
  });
});
