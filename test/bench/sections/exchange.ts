// (a) POST /v1/exchange with a secret grant against the real Node broker (`secret-broker serve`, a child
// process with node:sqlite in its data folder), next to the floor: a bare endpoint on the same server stack
// that only verifies the same tokens with jose (lib/floor-server.ts, also a child process). Both get the
// same pre-signed tokens, each used once, at concurrency 1 and 32; the load generator runs here.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXCHANGE_STAGES, type ExchangeStage } from '../../../broker/src/metrics.ts';
import { ROOT, runNode } from '../../helpers/processes.ts';
import type { BenchContext } from '../lib/context.ts';
import { AUDIENCE, publicJwks, type Fixture } from '../lib/fixture.ts';
import { percentile, poolSize, round, runLoad, type LoadResult } from '../lib/load.ts';
import { cpuMs, spawnServer, startBroker, type Child } from '../lib/processes.ts';
import { signTokensParallel } from '../lib/tokens.ts';

/**
 * Where the broker's time went per exchange (mean milliseconds), from its own stage metrics
 * (secret_broker_exchange_stage_duration_seconds): each stage, `broker` the whole exchange inside the
 * broker (secret_broker_exchange_duration_seconds), `rest` what the stages leave of it (parsing, limits,
 * the answer), and `client` the mean latency the load generator saw (HTTP, event-loop queueing).
 */
export type StageBreakdown = Record<ExchangeStage | 'broker' | 'rest' | 'client', number>;

/**
 * CPU time per request in microseconds, over the measured runs (from /proc, so null elsewhere): the broker's
 * and the floor's whole process and main thread, and the load generator's (this process) while it drove
 * each. Two cores are shared by all three, so throughput follows the sum.
 */
export interface CpuFigures {
  broker_process_us: number | null;
  broker_main_us: number | null;
  floor_process_us: number | null;
  floor_main_us: number | null;
  load_generator_broker_us: number;
  load_generator_floor_us: number;
}

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
  /** Per-stage means at concurrency 32 and 1. */
  stages: { c32: StageBreakdown; c1: StageBreakdown };
  /** CPU per request at concurrency 32 and 1. */
  cpu: { c32: CpuFigures; c1: CpuFigures };
  /** The exchange without HTTP (lib/inprocess-exchange.ts), at concurrency 32: CPU microseconds per exchange. */
  inprocess: { exchanges: number; main_us: number; process_us: number };
}

/** Runs lib/inprocess-exchange.ts on the fixture's data (the HTTP broker is idle meanwhile). */
async function benchInProcess(fixture: Fixture, warmup: number, measured: number): Promise<ExchangeFigures['inprocess']> {
  const tokens = await signTokensParallel(fixture.spec(), warmup + measured);
  const file = join(fixture.dir, 'inprocess-tokens.json');
  writeFileSync(file, JSON.stringify(tokens));
  try {
    const { stdout, stderr, code } = await runNode(
      [join(ROOT, 'test/bench/lib/inprocess-exchange.ts'), fixture.policiesDir, fixture.dataDir],
      {
        env: { ...fixture.env, INPROC_TOKENS: file, INPROC_WARMUP: String(warmup), INPROC_CONCURRENCY: '32' },
      },
    );
    const result =
      code === 0
        ? (JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null') as (ExchangeFigures['inprocess'] & { non_200: number }) | null)
        : null;
    if (result?.non_200 !== 0) throw new Error(`the in-process exchange run failed (exit ${code}): ${stdout}${stderr.slice(-2000)}`);
    return { exchanges: result.exchanges, main_us: result.main_us, process_us: result.process_us };
  } finally {
    rmSync(file, { force: true });
  }
}

/** Sums and counts of the broker's stage and exchange histograms, read from GET /metrics. */
type StageTotals = Record<string, { sum: number; count: number }>;

async function stageTotals(url: string): Promise<StageTotals> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const totals: StageTotals = {};
  const add = (key: string, what: string, value: number) => {
    totals[key] ??= { sum: 0, count: 0 };
    const t = totals[key];
    if (what === 'sum') t.sum += value;
    else t.count += value;
  };
  for (const m of text.matchAll(/^secret_broker_exchange_stage_duration_seconds_(sum|count)\{stage="(\w+)"\} (\S+)$/gm)) {
    add(m[2]!, m[1]!, Number(m[3]));
  }
  for (const m of text.matchAll(/^secret_broker_exchange_duration_seconds_(sum|count)\{[^}]*\} (\S+)$/gm))
    add('broker', m[1]!, Number(m[2]));
  return totals;
}

function breakdown(before: StageTotals, after: StageTotals, clientMeanMs: number): StageBreakdown {
  const mean = (key: string) => {
    const sum = (after[key]?.sum ?? 0) - (before[key]?.sum ?? 0);
    const count = (after[key]?.count ?? 0) - (before[key]?.count ?? 0);
    return count > 0 ? (sum / count) * 1000 : 0;
  };
  const out = { broker: round(mean('broker'), 3), client: round(clientMeanMs, 3) } as StageBreakdown;
  let staged = 0;
  for (const stage of EXCHANGE_STAGES) {
    out[stage] = round(mean(stage), 3);
    staged += mean(stage);
  }
  out.rest = round(Math.max(0, mean('broker') - staged), 3);
  return out;
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
): Promise<{ broker: LoadResult; floor: LoadResult; statuses: Record<string, number>; stages: StageBreakdown; cpu: CpuFigures }> {
  const runs: { broker: LoadResult[]; floor: LoadResult[] } = { broker: [], floor: [] };
  const cpu = { broker: new CpuTotals(targets.broker.pid), floor: new CpuTotals(targets.floor.pid) };
  const statuses: Record<string, number> = {};
  let first: StageTotals | undefined;
  let last: StageTotals | undefined;
  for (let r = 0; r < rounds; r++) {
    const pool = await tokens();
    const order = r % 2 === 0 ? (['floor', 'broker'] as const) : (['broker', 'floor'] as const);
    for (const which of order) {
      // The floor never remembers a token, so it may see the very tokens the broker gets.
      const before = which === 'broker' ? await stageTotals(targets.broker.url) : undefined;
      const started = cpu[which].start();
      const result = await runLoad({ url: targets[which].url, tokens: pool, role: 'bench', connections });
      cpu[which].stop(started, result.requests);
      runs[which].push(result);
      if (which === 'broker') {
        addStatuses(statuses, result.statuses);
        // Rounds alternate with the floor, whose runs the broker's counters do not see: the totals
        // between the first round's start and the last's end cover the broker's runs only.
        first ??= before;
        last = await stageTotals(targets.broker.url);
      }
    }
    ctx.progress(
      `exchange: c${connections} round ${r + 1}/${rounds}: broker ${runs.broker.at(-1)!.rps} rps, floor ${runs.floor.at(-1)!.rps} rps`,
    );
  }
  const broker = pool(runs.broker);
  const [b, f] = [cpu.broker.perRequest(), cpu.floor.perRequest()];
  return {
    broker,
    floor: pool(runs.floor),
    statuses,
    stages: breakdown(first!, last!, broker.mean_ms),
    cpu: {
      broker_process_us: b.process,
      broker_main_us: b.main,
      floor_process_us: f.process,
      floor_main_us: f.main,
      load_generator_broker_us: b.loadGenerator,
      load_generator_floor_us: f.loadGenerator,
    },
  };
}

/** CPU time of a server (its process and its main thread) and of this process, summed over measured runs. */
class CpuTotals {
  readonly #pid: number;
  #process: number | null = 0;
  #main: number | null = 0;
  #loadGenerator = 0;
  #requests = 0;

  constructor(pid: number) {
    this.#pid = pid;
  }

  start() {
    return { process: cpuMs(this.#pid), main: cpuMs(this.#pid, this.#pid), self: process.cpuUsage() };
  }

  stop(from: ReturnType<CpuTotals['start']>, requests: number): void {
    const add = (total: number | null, before: number | null, after: number | null) =>
      total === null || before === null || after === null ? null : total + after - before;
    this.#process = add(this.#process, from.process, cpuMs(this.#pid));
    this.#main = add(this.#main, from.main, cpuMs(this.#pid, this.#pid));
    const self = process.cpuUsage(from.self);
    this.#loadGenerator += (self.user + self.system) / 1000;
    this.#requests += requests;
  }

  /** Microseconds per request. */
  perRequest(): { process: number | null; main: number | null; loadGenerator: number } {
    const us = (ms: number) => Math.round((ms * 1000) / Math.max(1, this.#requests));
    return {
      process: this.#process === null ? null : us(this.#process),
      main: this.#main === null ? null : us(this.#main),
      loadGenerator: us(this.#loadGenerator),
    };
  }
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
    ctx.progress(`exchange: ${n32} exchanges in-process (no HTTP) at concurrency 32`);
    const inprocess = await benchInProcess(fixture, warmup, n32);
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
        stages: { c32: c32.stages, c1: c1.stages },
        cpu: { c32: c32.cpu, c1: c1.cpu },
        inprocess,
      },
    };
  } catch (err) {
    await broker.stop();
    throw err;
  } finally {
    await floor.stop();
  }
}
