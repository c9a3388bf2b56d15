// (a) POST /v1/exchange with a secret grant against the real Node broker (`secret-broker serve`, a child
// process with node:sqlite in its data folder), next to the floor: a bare endpoint on the same server stack
// that only verifies the same tokens with jose (lib/floor-server.ts, also a child process). Both get the
// same pre-signed tokens, each used once, at concurrency 1 and 32; the load generator runs here.
import { join } from 'node:path';
import { ROOT } from '../../helpers/processes.ts';
import type { BenchContext } from '../lib/context.ts';
import { AUDIENCE, publicJwks, type Fixture } from '../lib/fixture.ts';
import { percentile, poolSize, round, runLoad, type LoadResult } from '../lib/load.ts';
import { spawnServer, startBroker, type Child } from '../lib/processes.ts';
import { signTokensParallel } from '../lib/tokens.ts';

export interface ExchangeFigures {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  floor_rps: number;
  floor_p50_ms: number;
  floor_p99_ms: number;
  ratio: number;
  concurrency: number;
  requests: number;
  c1: {
    rps: number;
    p50_ms: number;
    p99_ms: number;
    floor_rps: number;
    floor_p50_ms: number;
    floor_p99_ms: number;
    ratio: number;
    requests: number;
  };
  /** Every answer the broker gave during the measured runs, by status (all should be 200). */
  statuses: Record<string, number>;
}

export interface ExchangeRun {
  /** Absent when only the broker was wanted (measure: false). */
  figures?: ExchangeFigures;
  /** The broker, still running, for the sections that need one. */
  broker: Child;
}

function addStatuses(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** Runs every round on both targets, alternating which goes first, and pools the results per target. */
async function compare(
  ctx: BenchContext,
  targets: { broker: Child; floor: Child },
  tokens: () => Promise<string[]>,
  connections: number,
  rounds: number,
): Promise<{ broker: LoadResult; floor: LoadResult; statuses: Record<string, number> }> {
  const runs: { broker: LoadResult[]; floor: LoadResult[] } = { broker: [], floor: [] };
  const statuses: Record<string, number> = {};
  for (let r = 0; r < rounds; r++) {
    const pool = await tokens();
    const order = r % 2 === 0 ? (['floor', 'broker'] as const) : (['broker', 'floor'] as const);
    for (const which of order) {
      // The floor never remembers a token, so it may see the very tokens the broker gets.
      const result = await runLoad({ url: targets[which].url, tokens: pool, role: 'bench', connections });
      runs[which].push(result);
      if (which === 'broker') addStatuses(statuses, result.statuses);
    }
    ctx.progress(
      `exchange: c${connections} round ${r + 1}/${rounds}: broker ${runs.broker.at(-1)!.rps} rps, floor ${runs.floor.at(-1)!.rps} rps`,
    );
  }
  return { broker: pool(runs.broker), floor: pool(runs.floor), statuses };
}

/** Several runs as one: total requests over total time, percentiles over every response. */
function pool(results: LoadResult[]): LoadResult {
  const requests = results.reduce((a, r) => a + r.requests, 0);
  const seconds = results.reduce((a, r) => a + r.seconds, 0);
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const statuses: Record<string, number> = {};
  for (const r of results) addStatuses(statuses, r.statuses);
  return {
    requests,
    connections: results[0]!.connections,
    seconds: round(seconds, 3),
    rps: round(requests / seconds, 1),
    p50_ms: round(percentile(latencies, 50), 3),
    p99_ms: round(percentile(latencies, 99), 3),
    mean_ms: round(latencies.reduce((a, b) => a + b, 0) / Math.max(1, requests), 3),
    statuses,
    errors: results.reduce((a, r) => a + r.errors, 0),
    timeouts: results.reduce((a, r) => a + r.timeouts, 0),
    latencies,
  };
}

export async function benchExchange(ctx: BenchContext, fixture: Fixture, nodeArgs: string[] = [], measure = true): Promise<ExchangeRun> {
  if (!measure)
    return { broker: await startBroker({ policiesDir: fixture.policiesDir, dataDir: fixture.dataDir, env: fixture.env, nodeArgs }) };
  ctx.progress('exchange: starting the broker and the floor (child processes)');
  const [broker, floor] = await Promise.all([
    startBroker({ policiesDir: fixture.policiesDir, dataDir: fixture.dataDir, env: fixture.env, nodeArgs }),
    spawnServer(
      [join(ROOT, 'test/bench/lib/floor-server.ts')],
      { FLOOR_ISSUER: fixture.issuer.url, FLOOR_AUDIENCE: AUDIENCE, FLOOR_JWKS: JSON.stringify(publicJwks(fixture.key)) },
      /floor listening on (http:\/\/\S+)/,
    ),
  ]);
  try {
    const spec = fixture.spec();
    const sign = (n: number) => () => signTokensParallel(spec, n);
    const warmup = ctx.quick ? 300 : 2_000;
    const n1 = ctx.quick ? 150 : 1_000;
    const n32 = ctx.quick ? 1_500 : 10_000;
    const rounds32 = ctx.quick ? 1 : 3;
    const rounds1 = ctx.quick ? 1 : 2;
    ctx.progress(`exchange: warming up both with ${warmup} requests`);
    const warm = await sign(poolSize(warmup, 32))();
    await runLoad({ url: floor.url, tokens: warm, role: 'bench', connections: 32 });
    await runLoad({ url: broker.url, tokens: warm, role: 'bench', connections: 32 });
    ctx.progress(`exchange: ${rounds32} round(s) of ${n32} requests at concurrency 32`);
    const c32 = await compare(ctx, { broker, floor }, sign(poolSize(n32, 32)), 32, rounds32);
    ctx.progress(`exchange: ${rounds1} round(s) of ${n1} requests at concurrency 1`);
    const c1 = await compare(ctx, { broker, floor }, sign(poolSize(n1, 1)), 1, rounds1);
    const statuses: Record<string, number> = {};
    addStatuses(statuses, c32.statuses);
    addStatuses(statuses, c1.statuses);
    return {
      broker,
      figures: {
        rps: c32.broker.rps,
        p50_ms: c32.broker.p50_ms,
        p99_ms: c32.broker.p99_ms,
        floor_rps: c32.floor.rps,
        floor_p50_ms: c32.floor.p50_ms,
        floor_p99_ms: c32.floor.p99_ms,
        ratio: round(c32.broker.rps / c32.floor.rps, 3),
        concurrency: 32,
        requests: c32.broker.requests,
        c1: {
          rps: c1.broker.rps,
          p50_ms: c1.broker.p50_ms,
          p99_ms: c1.broker.p99_ms,
          floor_rps: c1.floor.rps,
          floor_p50_ms: c1.floor.p50_ms,
          floor_p99_ms: c1.floor.p99_ms,
          ratio: round(c1.broker.rps / c1.floor.rps, 3),
          requests: c1.broker.requests,
        },
        statuses,
      },
    };
  } catch (err) {
    await broker.stop();
    throw err;
  } finally {
    await floor.stop();
  }
}
