// The lease sweeper's visibility (broker/src/leases.ts), without a server: a removal that keeps failing is
// overdue whatever its next retry, a planted row of an unknown kind cannot mint a metric label, and the
// status a probe reads is the last sweep's (no store query per probe) until it ages out.
import { describe, expect, it } from 'vitest';
import { LeaseSweeper } from '../../../broker/src/leases.ts';
import type { LeaseRow } from '../../../broker/src/store/ports.ts';
import { MemoryLeaseStore } from '../../helpers/memory-stores.ts';

const lease = (id: string, expiresAt: number, kind = 'postgres'): LeaseRow => ({
  id,
  kind,
  target: '{}',
  expires_at: expiresAt,
  due_at: expiresAt,
  attempts: 0,
  last_error: null,
});

function setup(remove: (l: LeaseRow) => Promise<void>) {
  const store = new MemoryLeaseStore();
  let expiredCalls = 0;
  const expired = store.expired.bind(store);
  store.expired = async (before, limit) => {
    expiredCalls++;
    return expired(before, limit);
  };
  const removals: [string, boolean][] = [];
  const overdue: number[] = [];
  let now = 1_800_000_000_000;
  const sweeper = new LeaseSweeper({
    store,
    removers: { postgres: remove },
    now: () => now,
    log: () => {},
    removal: (kind, ok) => removals.push([kind, ok]),
    overdueChanged: (n) => overdue.push(n),
  });
  return {
    store,
    sweeper,
    removals,
    overdue,
    calls: () => expiredCalls,
    advance: (ms: number) => (now += ms),
    nowS: () => Math.floor(now / 1000),
  };
}

describe('a lease removal that keeps failing stays visible until it succeeds', () => {
  it('a failing lease is overdue past the grace whatever its next retry, counted per attempt, and clears on success', async () => {
    let failing = true;
    const t = setup(async () => {
      if (failing) throw new Error('connect ECONNREFUSED');
    });
    await t.store.put(lease('sb_db_0123456789abcdef', t.nowS() - 60));
    expect(await t.sweeper.sweep()).toEqual({ removed: 0, failed: 1 });
    expect((await t.sweeper.status()).overdue).toEqual([]); // within the 2-minute grace
    t.advance(150_000);
    expect(await t.sweeper.sweep()).toEqual({ removed: 0, failed: 1 }); // its retry was due: fails again
    expect((await t.sweeper.status()).overdue.map((l) => l.id)).toEqual(['sb_db_0123456789abcdef']);
    // Its next retry is later, and it is still overdue (a due_at filter would have lost it).
    expect((await t.store.get('sb_db_0123456789abcdef'))!.due_at).toBeGreaterThan(t.nowS());
    expect((await t.sweeper.refresh()).overdue).toHaveLength(1);
    expect(t.removals.every(([kind, ok]) => kind === 'postgres' && !ok)).toBe(true);
    expect(t.overdue.at(-1)).toBe(1);
    failing = false;
    expect(await t.sweeper.end('sb_db_0123456789abcdef')).toEqual({ ok: true });
    expect((await t.sweeper.status()).overdue).toEqual([]);
    expect(t.overdue.at(-1)).toBe(0);
    expect(t.removals.at(-1)).toEqual(['postgres', true]);
  });

  it('a planted row of a kind no remover knows fails and is labelled _other, never by its own kind', async () => {
    const t = setup(async () => {});
    await t.store.put(lease('x', t.nowS() - 1, 'attacker-chosen-kind'));
    expect(await t.sweeper.sweep()).toEqual({ removed: 0, failed: 1 });
    expect(t.removals).toEqual([['_other', false]]);
  });

  it('probes read the last sweep status without a store query until it is older than 30 s', async () => {
    const t = setup(async () => {});
    await t.sweeper.sweep();
    const after = t.calls();
    for (let i = 0; i < 5; i++) await t.sweeper.status();
    expect(t.calls()).toBe(after);
    t.advance(31_000);
    await Promise.all([t.sweeper.status(), t.sweeper.status()]);
    expect(t.calls()).toBe(after + 1);
  });
});
