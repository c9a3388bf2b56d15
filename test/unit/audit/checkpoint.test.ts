// Signed checkpoints: what they vouch for, when the broker signs them, and how verification uses them to find
// truncation and rewrites that the hash chain alone cannot see.
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildEntry } from '../../../broker/src/audit/chain.ts';
import { CHECKPOINT_TYP, GENESIS, signCheckpoint, verifyCheckpoint } from '../../../broker/src/audit/checkpoint-format.ts';
import { verifyAudit } from '../../../broker/src/audit/verify-audit.ts';
import { auditFixture, makeRecord, rewriteFrom, T0 } from './fixtures.ts';

describe('checkpoint signatures', () => {
  it('sign (seq, hash, time, anchor) with the broker key, explicitly typed', async () => {
    const f = await auditFixture();
    const cp = await signCheckpoint(f.issuer, { seq: 7, hash: 'b'.repeat(64) }, GENESIS, T0);
    expect(cp).toMatchObject({ seq: 7, hash: 'b'.repeat(64), time: '2026-11-28T00:00:00.000Z' });
    const check = await verifyCheckpoint(cp.jws, await f.issuer.verificationKeys());
    expect(check).toEqual({
      ok: true,
      kid: cp.kid,
      payload: { iss: 'https://broker.test', seq: 7, hash: 'b'.repeat(64), time: cp.time, anchor: GENESIS },
    });
  });

  it('refuse an edited payload, an unknown key, a foreign key under a known kid, another typ and alg none', async () => {
    const f = await auditFixture();
    const keys = await f.issuer.verificationKeys();
    const cp = await signCheckpoint(f.issuer, { seq: 7, hash: 'b'.repeat(64) }, GENESIS, T0);
    const [h, p, s] = cp.jws.split('.');
    const edited = JSON.parse(Buffer.from(p!, 'base64url').toString());
    edited.seq = 9;
    expect(await verifyCheckpoint(`${h}.${Buffer.from(JSON.stringify(edited)).toString('base64url')}.${s}`, keys)).toMatchObject({
      ok: false,
      reason: 'bad_signature',
      claimedSeq: 9,
    });
    expect(await verifyCheckpoint(cp.jws, [])).toMatchObject({ ok: false, reason: 'unknown_key', kid: cp.kid, claimedSeq: 7 });

    const { privateKey } = await generateKeyPair('RS256');
    const payload = new TextEncoder().encode(JSON.stringify({ iss: 'x', seq: 7, hash: 'b'.repeat(64), time: cp.time, anchor: GENESIS }));
    const foreign = await new CompactSign(payload).setProtectedHeader({ alg: 'RS256', kid: cp.kid, typ: CHECKPOINT_TYP }).sign(privateKey);
    expect(await verifyCheckpoint(foreign, keys)).toMatchObject({ ok: false, reason: 'bad_signature' });

    // A broker token is signed by the same key but is not a checkpoint.
    const token = (await f.issuer.sign({ subject: 'role:x', audience: 'a', ttl: 60, claims: { seq: 7 } })).token;
    expect(await verifyCheckpoint(token, keys)).toMatchObject({ ok: false, reason: 'malformed' });
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: cp.kid, typ: CHECKPOINT_TYP })).toString('base64url')}.${p}.`;
    expect(await verifyCheckpoint(none, keys)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(await verifyCheckpoint('not a jws', keys)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('refuse a payload that is not a checkpoint (anchor after the seq)', async () => {
    const f = await auditFixture();
    const { jws } = await f.issuer.signJws(
      { iss: 'x', seq: 3, hash: 'b'.repeat(64), time: new Date(T0).toISOString(), anchor: { seq: 4, hash: 'c'.repeat(64) } },
      CHECKPOINT_TYP,
    );
    expect(await verifyCheckpoint(jws, await f.issuer.verificationKeys())).toMatchObject({ ok: false, reason: 'malformed' });
  });
});

describe('Checkpointer', () => {
  it('signs after every N records, without making appends wait', async () => {
    const f = await auditFixture({ everyRecords: 5 });
    await f.append(4);
    await f.checkpointer.tick(); // the first checkpoint: none existed yet
    expect(f.checkpoints.rows.map((c) => c.seq)).toEqual([4]);
    await f.append(4);
    await f.checkpointer.tick();
    expect(f.checkpoints.rows.map((c) => c.seq)).toEqual([4]);
    await f.append(1); // seq 9: 5 since the last checkpoint
    await f.checkpointer.tick();
    expect(f.checkpoints.rows.map((c) => c.seq)).toEqual([4, 9]);
  });

  it('signs after the interval once the head has moved, and not while nothing happens', async () => {
    const f = await auditFixture({ everyRecords: 1000, intervalMs: 60_000 });
    await f.append(2);
    expect((await f.checkpointer.tick())?.seq).toBe(2);
    f.clock.now += 120_000;
    expect(await f.checkpointer.tick()).toBeNull(); // head unchanged
    await f.append(1);
    expect((await f.checkpointer.tick())?.seq).toBe(3); // moved, and the last checkpoint is older than the interval
    await f.append(1);
    expect(await f.checkpointer.tick()).toBeNull(); // moved, but the interval has not passed again
  });

  it('re-signs when the key of the latest checkpoint is gone, so the newest checkpoint always verifies', async () => {
    const f = await auditFixture();
    await f.append(3);
    const first = await f.checkpointer.tick();
    expect(first?.seq).toBe(3);
    expect(await f.checkpointer.tick()).toBeNull();
    await f.issuer.rotate(0);
    f.keys.rows = f.keys.rows.filter((r) => r.kid !== first!.kid);
    const again = await f.checkpointer.tick();
    expect(again?.seq).toBe(3);
    expect(again?.kid).not.toBe(first!.kid);
    expect((await f.verify()).ok).toBe(true);
  });

  it('an empty log has nothing to sign', async () => {
    const f = await auditFixture();
    expect(await f.checkpointer.tick()).toBeNull();
    expect(await f.checkpointer.checkpointNow()).toBeNull();
  });

  it('a failing signer is logged, never thrown at the request path', async () => {
    const f = await auditFixture({ everyRecords: 1 });
    f.issuer.signJws = () => Promise.reject(new Error('kek gone'));
    await f.append(2);
    expect(await f.checkpointer.tick()).toBeNull();
    expect(f.audit.entries).toHaveLength(2);
  });
});

describe('verifyAudit on the store', () => {
  it('passes on an intact chain and names the latest checkpoint and what follows it', async () => {
    const f = await auditFixture({ everyRecords: 5 });
    await f.append(12);
    await f.checkpointer.tick();
    const r = await f.verify();
    expect(r).toMatchObject({ ok: true, count: 12, head: { seq: 12 }, uncovered: 2, checkpoints: { verified: 2, latest: { seq: 10 } } });
  });

  it('fails on a truncated tail after a checkpoint, naming the checkpoint and where the chain ends', async () => {
    const f = await auditFixture();
    await f.append(8);
    await f.checkpointer.checkpointNow();
    const r = await f.verify({ entries: f.audit.entries.slice(0, 5) });
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([expect.objectContaining({ kind: 'truncated', seq: 8, source: 'the store' })]);
    expect(r.problems[0]!.reason).toMatch(/names record seq 8, but the chain ends at seq 5/);
  });

  it('fails on an emptied store that a checkpoint says had records', async () => {
    const f = await auditFixture();
    await f.append(3);
    await f.checkpointer.checkpointNow();
    const r = await f.verify({ entries: [] });
    expect(r.problems).toEqual([expect.objectContaining({ kind: 'truncated', seq: 3 })]);
  });

  it('fails on a chain rewritten with recomputed hashes, naming the range between checkpoints', async () => {
    const f = await auditFixture({ everyRecords: 4 });
    await f.append(12);
    await f.checkpointer.tick();
    expect(f.checkpoints.rows.map((c) => c.seq)).toEqual([4, 8, 12]);
    const rewritten = await rewriteFrom(f.audit.entries, 6, (r) => {
      r.decision = 'allow';
      r.role = 'admin';
    });
    const r = await f.verify({ entries: rewritten });
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({ kind: 'rewritten', seq: 8 });
    expect(r.problems[0]!.reason).toMatch(/records 5 to 8 were rewritten/);
  });

  it.each([
    [
      'edited',
      (e: Awaited<ReturnType<typeof chainOf>>) => e.map((x) => (x.seq === 4 ? { ...x, record: x.record.replace('"allow"', '"deny"') } : x)),
      4,
      /edited/,
    ],
    ['removed', (e: Awaited<ReturnType<typeof chainOf>>) => e.filter((x) => x.seq !== 4), 5, /gap/],
    ['reordered', (e: Awaited<ReturnType<typeof chainOf>>) => [e[0]!, e[1]!, e[3]!, e[2]!, ...e.slice(4)], 4, /sequence gap/],
  ])('fails on a %s record, naming the first broken link', async (_name, edit, seq, reason) => {
    const f = await auditFixture();
    await f.append(8);
    await f.checkpointer.checkpointNow();
    const r = await f.verify({ entries: edit(await chainOf(f)) });
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({ kind: 'chain', seq });
    expect(r.problems[0]!.reason).toMatch(reason);
  });

  it('fails on a record appended out of order', async () => {
    const f = await auditFixture();
    await f.append(6);
    await f.checkpointer.checkpointNow();
    const stray = await buildEntry(3, f.audit.entries[5]!.hash, makeRecord({ decision: 'allow' }));
    const r = await f.verify({ entries: [...f.audit.entries, stray] });
    expect(r.problems[0]).toMatchObject({ kind: 'chain', index: 6, seq: 3 });
    expect(r.problems[0]!.reason).toMatch(/out of order/);
    // Appended with a seq past the head instead: a gap.
    const ahead = await buildEntry(9, f.audit.entries[5]!.hash, makeRecord());
    expect((await f.verify({ entries: [...f.audit.entries, ahead] })).problems[0]).toMatchObject({ kind: 'chain', seq: 9 });
  });

  it('fails when records are cut from the start without a signed prune point', async () => {
    const f = await auditFixture();
    await f.append(8);
    await f.checkpointer.checkpointNow();
    const r = await f.verify({ entries: f.audit.entries.slice(3) });
    expect(r.problems[0]).toMatchObject({ kind: 'start', seq: 4 });
    expect(r.problems[0]!.reason).toMatch(/records 1 to 3 are missing/);
  });

  it('fails on a forged checkpoint: a bad signature, or a newest one signed by an unknown key', async () => {
    const f = await auditFixture();
    await f.append(4);
    const real = (await f.checkpointer.checkpointNow())!;
    const [h, , s] = real.jws.split('.');
    const forgedPayload = Buffer.from(
      JSON.stringify({ iss: 'x', seq: 2, hash: 'f'.repeat(64), time: real.time, anchor: GENESIS }),
    ).toString('base64url');
    const bad = await f.verify({ extra: [{ jws: `${h}.${forgedPayload}.${s}`, source: 'witness.jsonl', line: 1 }] });
    expect(bad.problems).toEqual([expect.objectContaining({ kind: 'checkpoint', seq: 2, source: 'witness.jsonl', line: 1 })]);

    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'other' };
    const jws = await new CompactSign(
      new TextEncoder().encode(JSON.stringify({ iss: 'x', seq: 9, hash: 'f'.repeat(64), time: real.time, anchor: GENESIS })),
    )
      .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: CHECKPOINT_TYP })
      .sign(privateKey);
    const unknown = await f.verify({ extra: [{ jws, source: 'the store' }] });
    expect(unknown.problems).toEqual([expect.objectContaining({ kind: 'checkpoint', seq: 9 })]);
    expect(unknown.problems[0]!.reason).toMatch(/not among the verification keys/);
  });

  it('skips older checkpoints signed by a retired key when a newer one verifies', async () => {
    const f = await auditFixture();
    await f.append(3);
    const old = (await f.checkpointer.checkpointNow())!;
    await f.issuer.rotate(0);
    f.keys.rows = f.keys.rows.filter((r) => r.kid !== old.kid);
    await f.append(2);
    await f.checkpointer.checkpointNow();
    const r = await f.verify();
    expect(r).toMatchObject({ ok: true, checkpoints: { verified: 1, skipped: 1, latest: { seq: 5 } } });
  });

  it('a checkpoint kept elsewhere catches a store cut back together with its checkpoints', async () => {
    const f = await auditFixture();
    await f.append(6);
    const witness = (await f.checkpointer.checkpointNow())!;
    f.audit.entries = f.audit.entries.slice(0, 4);
    f.checkpoints.rows = [];
    expect((await f.verify()).ok).toBe(true);
    const r = await f.verify({ extra: [{ jws: witness.jws, source: 'kept.jsonl', line: 1 }] });
    expect(r.problems).toEqual([expect.objectContaining({ kind: 'truncated', seq: 6, source: 'kept.jsonl' })]);
  });
});

describe('verifyAudit on an export file', () => {
  const fileOf = async (f: Awaited<ReturnType<typeof auditFixture>>, from = 1) => {
    const entries = f.audit.entries.filter((e) => e.seq >= from).map((e, i) => ({ ...e, record: JSON.parse(e.record), line: i + 1 }));
    const cp = await signCheckpoint(f.issuer, { seq: entries.at(-1)!.seq, hash: entries.at(-1)!.hash }, GENESIS, f.clock.now);
    return { entries, checkpoint: { jws: cp.jws, line: entries.length + 1, source: 'export.jsonl' } };
  };
  const verifyFile = async (f: Awaited<ReturnType<typeof auditFixture>>, entries: object[], checkpoints: object[]) =>
    verifyAudit({ entries: entries as never, checkpoints: checkpoints as never, keys: await f.issuer.verificationKeys(), mode: 'file' });

  it('passes on an intact export ending with its checkpoint, also a slice', async () => {
    const f = await auditFixture();
    await f.append(6);
    const whole = await fileOf(f);
    expect(await verifyFile(f, whole.entries, [whole.checkpoint])).toMatchObject({ ok: true, count: 6, uncovered: 0 });
    const slice = await fileOf(f, 3);
    expect(await verifyFile(f, slice.entries, [slice.checkpoint])).toMatchObject({ ok: true, count: 4, start: { seq: 2 } });
  });

  it('fails on a truncated tail, on records after the checkpoint and on a file without one', async () => {
    const f = await auditFixture();
    await f.append(6);
    const { entries, checkpoint } = await fileOf(f);
    const truncated = await verifyFile(f, entries.slice(0, 4), [checkpoint]);
    expect(truncated.problems).toEqual([expect.objectContaining({ kind: 'truncated', seq: 6, line: 7 })]);

    const extra = await buildEntry(7, entries[5]!.hash, makeRecord());
    const appended = await verifyFile(f, [...entries, { ...extra, record: JSON.parse(extra.record), line: 8 }], [checkpoint]);
    expect(appended.problems).toEqual([expect.objectContaining({ kind: 'uncovered', seq: 7 })]);

    const none = await verifyFile(f, entries, []);
    expect(none.problems[0]!.reason).toMatch(/no valid signed checkpoint/);
  });

  it('names the line of an edited record', async () => {
    const f = await auditFixture();
    await f.append(5);
    const { entries, checkpoint } = await fileOf(f);
    (entries[2]!.record as { decision: string }).decision = 'deny';
    const r = await verifyFile(f, entries, [checkpoint]);
    expect(r.problems[0]).toMatchObject({ kind: 'chain', seq: 3, line: 3 });
  });
});

async function chainOf(f: Awaited<ReturnType<typeof auditFixture>>) {
  return [...f.audit.entries];
}
