// Replicated self-hosting: three real `secret-broker serve` processes on one real PostgreSQL database (a
// throwaway cluster, test/helpers/postgres.ts). One replay guard, one audit chain, nothing minted unaudited,
// through a replica's SIGKILL and the database's outage.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, PgAuditStore } from '../../broker/entry/node/postgres.ts';
import { readAll, verifyChain } from '../../broker/src/audit/chain.ts';
import { createFixture, SECRET_VALUE, type Fixture } from '../bench/lib/fixture.ts';
import { startBroker, type Child } from '../bench/lib/processes.ts';
import { signTokens, tokenSigner } from '../bench/lib/tokens.ts';
import { skipWithoutPostgres, startPostgres, type PostgresCluster } from '../helpers/postgres.ts';
import { runCli } from '../helpers/processes.ts';

interface Answer {
  status: number;
  code: string | null;
  requestId: string | null;
  minted: boolean;
  replica: number;
}

const skip = skipWithoutPostgres('replicated brokers on PostgreSQL');

describe.skipIf(skip)('three broker replicas on one PostgreSQL database', () => {
  let cluster: PostgresCluster;
  let url: string;
  let fixture: Fixture;
  let replicas: Child[] = [];
  const answers: Answer[] = [];

  beforeAll(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase('replicas');
    // A short statement deadline, so that the outage test sees its 503s quickly.
    fixture = await createFixture({ env: { BROKER_DATABASE_URL: url, BROKER_DATABASE_STATEMENT_TIMEOUT_MS: '2000' } });
    // Started together: migrations and the first signing key meet on one database.
    replicas = await Promise.all(
      [0, 1, 2].map(() => startBroker({ policiesDir: fixture.policiesDir, dataDir: `${fixture.dataDir}-unused`, env: fixture.env })),
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop().catch(() => {})));
    await fixture?.close().catch(() => {});
    cluster?.stop();
  });

  async function exchange(replica: number, token: string): Promise<Answer> {
    try {
      const res = await fetch(`${replicas[replica]!.url}/v1/exchange`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, role: 'bench' }),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      const body = JSON.parse(text) as { error?: string; request_id?: string };
      const answer = {
        status: res.status,
        code: body.error ?? null,
        requestId: body.request_id ?? null,
        minted: text.includes(SECRET_VALUE),
        replica,
      };
      answers.push(answer);
      return answer;
    } catch {
      return { status: 0, code: null, requestId: null, minted: false, replica };
    }
  }

  /** Runs `tokens` at `concurrency` over the live replicas in turn; `after(n)` sees each answer count. */
  async function load(
    tokens: string[],
    concurrency: number,
    live: () => number[],
    after?: (n: number, a: Answer) => void,
  ): Promise<Answer[]> {
    const out: Answer[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < tokens.length; i = next++) {
          const alive = live();
          const a = await exchange(alive[i % alive.length]!, tokens[i]!);
          out.push(a);
          after?.(out.length, a);
        }
      }),
    );
    return out;
  }

  async function storedRecords(): Promise<{ ids: Set<string>; chainOk: boolean; count: number }> {
    const db = await openPostgres({ url, poolSize: 2, statementTimeoutMs: 30_000 });
    try {
      const entries = [];
      for await (const e of readAll(new PgAuditStore(db))) entries.push(e);
      const chain = await verifyChain(entries);
      return {
        ids: new Set(entries.map((e) => (JSON.parse(e.record) as { request_id: string }).request_id)),
        chainOk: chain.ok,
        count: entries.length,
      };
    } finally {
      await db.end();
    }
  }

  it('50 concurrent copies of one token spread over the three replicas: exactly one 200, 49 ERR_TOKEN_REPLAYED', async () => {
    const [token] = signTokens(fixture.spec(), 1);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => exchange(i % 3, token!)));
    expect(results.filter((a) => a.status === 200)).toHaveLength(1);
    expect(results.filter((a) => a.code === 'ERR_TOKEN_REPLAYED')).toHaveLength(49);
    expect(results.filter((a) => a.minted)).toHaveLength(1);
  }, 30_000);

  it('1,000 exchanges round-robin at concurrency 30 with one replica SIGKILLed midway: every answer audited in one chain that verifies', async () => {
    const tokens = signTokens(fixture.spec(), 1000);
    const alive = [0, 1, 2];
    let killed: Promise<void> | undefined;
    const results = await load(
      tokens,
      30,
      () => alive,
      (n) => {
        if (n === 400 && !killed) {
          alive.splice(alive.indexOf(2), 1);
          killed = replicas[2]!.kill();
        }
      },
    );
    await killed;
    const answered = results.filter((a) => a.status !== 0);
    // Only requests in flight at the killed replica go unanswered.
    expect(answered.length).toBeGreaterThanOrEqual(1000 - 30);
    expect(results.filter((a) => a.status === 500)).toEqual([]);
    expect(answered.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(950);
    // The survivors kept serving after the kill.
    expect(results.slice(500).filter((a) => a.status === 200 && a.replica !== 2).length).toBeGreaterThan(400);

    const stored = await storedRecords();
    expect(stored.chainOk).toBe(true);
    const missing = answered.filter((a) => !a.requestId || !stored.ids.has(a.requestId));
    expect(missing).toEqual([]);

    const verify = await runCli(['audit', 'verify', '--database', url, '--policies', fixture.policiesDir, '--data', fixture.dataDir], {
      env: fixture.env,
    });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 60_000);

  it('the database stopped for 5 s under load: 503s while down, no 500s, nothing minted unaudited, service resumes without restarts', async () => {
    const survivors = [0, 1];
    const pids = survivors.map((i) => replicas[i]!.pid);
    const sign = tokenSigner(fixture.spec());
    let downAt = Number.POSITIVE_INFINITY;
    let upAt = Number.POSITIVE_INFINITY;
    const outage = (async () => {
      await new Promise((r) => setTimeout(r, 1_000));
      cluster.pause();
      downAt = performance.now();
      await new Promise((r) => setTimeout(r, 5_000));
      cluster.start();
      upAt = performance.now();
    })();
    // Load until 3 s after the database is back (a refusal during the outage is quick: paced, not a spin).
    const timed: (Answer & { at: number })[] = [];
    let n = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (performance.now() < upAt + 3_000) {
          const a = await exchange(survivors[n++ % survivors.length]!, sign());
          timed.push({ ...a, at: performance.now() });
          await new Promise((r) => setTimeout(r, 5));
        }
      }),
    );
    const results = timed;
    await outage;
    // Requests kept coming in the outage and were refused with 503 ERR_UNAVAILABLE; none was a 500.
    const statuses = new Set(results.map((a) => a.status));
    expect([...statuses].filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(results.filter((a) => a.status === 503).every((a) => a.code === 'ERR_UNAVAILABLE')).toBe(true);
    expect(timed.filter((a) => a.at > downAt + 500 && a.at < upAt && a.status === 503).length).toBeGreaterThan(0);
    expect(timed.filter((a) => a.status === 503 && !a.minted).length).toBe(timed.filter((a) => a.status === 503).length);
    // Recovery without restarts: the same processes answer 200 again once the database is back.
    expect(timed.filter((a) => a.at > upAt && a.status === 200).length).toBeGreaterThan(50);
    expect(survivors.map((i) => replicas[i]!.child.exitCode)).toEqual([null, null]);
    expect(survivors.map((i) => replicas[i]!.pid)).toEqual(pids);

    // Nothing minted unaudited: every 200 (and every answer at all) before, during and after has its record.
    const stored = await storedRecords();
    expect(stored.chainOk).toBe(true);
    expect(results.filter((a) => a.status === 200 && (!a.requestId || !stored.ids.has(a.requestId)))).toEqual([]);
    const verify = await runCli(['audit', 'verify', '--database', url, '--policies', fixture.policiesDir, '--data', fixture.dataDir], {
      env: fixture.env,
    });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 60_000);
});
