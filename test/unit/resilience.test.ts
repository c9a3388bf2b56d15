// Resilience inside one process (the real app over in-memory stores, a fake issuer and a clock the test
// moves): the issuer's JWKS failing half the time under concurrent load, and the audit or replay store
// failing. The same faults against the real broker process are in test/e2e/resilience.test.ts; the full
// sizes run in `npm run bench` (section "resilience").
import { beforeEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../broker/src/audit/chain.ts';
import { AUDIENCE, buildTestBroker, ISSUER_URL, T0, type TestBroker } from '../helpers/broker.ts';
import { baseClaims, makeKey, sign } from '../helpers/issuer.ts';

const NOW_S = T0 / 1000;
const good = { repository_id: '123', ref: 'refs/heads/main' };

let b: TestBroker;
beforeEach(async () => {
  b = await buildTestBroker({ jwks: { refreshMs: 1_000 } });
});

const jtiOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;

/** Runs `work` for every item with at most `concurrency` in flight, in order of start. */
async function pool<T, R>(items: T[], concurrency: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await work(items[i]!, i);
    }),
  );
  return out;
}

describe('the issuer JWKS endpoint fails half the time', () => {
  it('1,000 exchanges at concurrency 50 with duplicates and foreign kids: no 500, every request audited, one success per jti', async () => {
    b.issuer.flaky = true; // every other JWKS fetch answers 503, starting with the first
    const rogue = await makeKey('rogue-kid');
    const tokens: string[] = [];
    for (let i = 0; i < 1_000; i++) {
      if (i % 10 === 9)
        tokens.push(tokens[i - 1]!); // the same token again, in flight together
      else if (i % 25 === 24) tokens.push(await sign(rogue, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good)));
      else tokens.push(await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good)));
    }
    const answers = await pool(tokens, 50, async (token, i) => {
      // Keys go stale every second; the clock moves a second every 20 requests (50 s over the run).
      if (i % 20 === 19) b.clock.now += 1_000;
      const res = await b.post({ token, role: 'app' });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    });

    const statuses = new Set(answers.map((a) => a.status));
    expect(
      [...statuses].every((s) => [200, 401, 503].includes(s)),
      JSON.stringify([...statuses]),
    ).toBe(true);
    expect(answers.some((a) => a.body.error === 'ERR_TOKEN_REPLAYED')).toBe(true);
    // The cold start met a failing JWKS: refused as unavailable (never as a bug or a bad token) until the
    // backoff let a fetch through. From then on failing refreshes keep the last good keys: no more 503s.
    expect(answers[0]).toMatchObject({ status: 503, body: { error: 'ERR_UNAVAILABLE' } });
    const last503 = answers.map((a) => a.status).lastIndexOf(503);
    expect(last503).toBeLessThan(400);
    expect(answers.slice(400).every((a) => a.status !== 503)).toBe(true);
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(500);

    // One record per request, each answer's request id among them, and the chain whole.
    expect(b.audit.entries).toHaveLength(1_000);
    const ids = new Set(b.audit.records().map((r) => r.request_id));
    expect(answers.every((a) => ids.has(a.body.request_id))).toBe(true);
    expect(await verifyChain(b.audit.entries)).toMatchObject({ ok: true, count: 1_000 });

    // No jti succeeded twice.
    const wins = new Map<string, number>();
    for (const [i, a] of answers.entries()) if (a.status === 200) wins.set(jtiOf(tokens[i]!), (wins.get(jtiOf(tokens[i]!)) ?? 0) + 1);
    expect([...wins.values()].every((n) => n === 1)).toBe(true);

    // Fetches stay bounded: about one refresh a second of clock (half of them failing), not one per request
    // and not one per foreign kid; and the failures really happened.
    const jwksFetches = b.fetchCalls.filter((u) => u.endsWith('/jwks')).length;
    expect(jwksFetches).toBeGreaterThanOrEqual(10);
    expect(jwksFetches).toBeLessThanOrEqual(60);
  }, 60_000);
});

describe('a failing store: 503 and nothing minted', () => {
  const token = () => sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good));

  it('replay store down: 503 before anything is minted, and the refusal is audited', async () => {
    b.replay.broken = true;
    const res = await b.post({ token: await token(), role: 'app' });
    expect(res.status).toBe(503);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.error).toBe('ERR_UNAVAILABLE');
    expect(body).not.toHaveProperty('credentials');
    expect(b.mintCalls).toEqual([]);
    expect(b.audit.records().at(-1)).toMatchObject({ code: 'ERR_UNAVAILABLE', reason: 'replay.store_failed', request_id: body.request_id });
  });

  it('audit store down: no credential leaves; once a write failed nothing more is minted; recovery is automatic', async () => {
    // Warm (keys fetched), then the audit store fails.
    expect((await b.post({ token: await token(), role: 'app' })).status).toBe(200);
    const minted = b.mintCalls.length;
    b.audit.broken = true;

    // The request that finds out: its secret was read, but it does not leave without its record.
    const first = await b.post({ token: await token(), role: 'app' });
    expect(first.status).toBe(503);
    expect(await first.text()).not.toContain('postgres://');
    expect(b.mintCalls.length).toBe(minted + 1);

    // While the store is known to fail, nothing is minted at all.
    for (let i = 0; i < 5; i++) {
      const res = await b.post({ token: await token(), role: 'app' });
      expect(res.status).toBe(503);
      expect(((await res.json()) as Record<string, unknown>).error).toBe('ERR_UNAVAILABLE');
    }
    expect(b.mintCalls.length).toBe(minted + 1);

    // The store is back: the next exchange succeeds and the chain is whole (the refused ones could not be kept).
    b.audit.broken = false;
    expect((await b.post({ token: await token(), role: 'app' })).status).toBe(200);
    expect(await verifyChain(b.audit.entries)).toMatchObject({ ok: true, count: 2 });
  });

  it('a token refused because a store was down is not used up', async () => {
    const t = await token();
    b.replay.broken = true;
    expect((await b.post({ token: t, role: 'app' })).status).toBe(503);
    b.replay.broken = false;
    expect((await b.post({ token: t, role: 'app' })).status).toBe(200);
    expect((await b.post({ token: t, role: 'app' })).status).toBe(401);
  });
});
