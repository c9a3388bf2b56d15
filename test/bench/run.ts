// `npm run bench [-- --quick] [-- --out FILE]`: the broker's performance figures (see docs/ARCHITECTURE.md,
// "Benchmarks", for the JSON fields, which are a contract) and the goals they are held against. Progress goes
// to stderr, the table to stdout. Goals are reported, never asserted: a miss is a finding, not a failure.
//
//   --quick           a short run (under a minute): smaller counts, same sections
//   --out FILE        also write the figures as JSON
//   --only a,b        only these sections: exchange, policy, worker, action, memory, resilience
//   --cpu-prof DIR    profile the broker during the exchange section (node --cpu-prof), for finding causes
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createContext } from './lib/context.ts';
import { createFixture } from './lib/fixture.ts';
import { postgresAvailable, startPostgres } from '../helpers/postgres.ts';
import { benchAction, type ActionFigures } from './sections/action.ts';
import { EXCHANGE_STAGES } from '../../broker/src/metrics.ts';
import { benchExchange, type CpuFigures, type ExchangeFigures, type StageBreakdown } from './sections/exchange.ts';
import { benchMemory, type MemoryFigures } from './sections/memory.ts';
import { benchPolicyScale, type PolicyScaleFigures } from './sections/policy-scale.ts';
import { benchResilience, type ResilienceFigures } from './sections/resilience.ts';
import { benchWorker, type WorkerFigures } from './sections/worker.ts';

const SECTIONS = ['exchange', 'policy', 'worker', 'action', 'memory', 'resilience'] as const;
type Section = (typeof SECTIONS)[number];

export interface Goal {
  name: string;
  target: string;
  value: number | null;
  met: boolean | null;
}

export interface BenchReport {
  mode: 'quick' | 'full';
  started_at: string;
  duration_s: number;
  machine: { cpus: number; cpu_model: string; node: string; platform: string; load_average_at_start: number[] };
  exchange?: ExchangeFigures;
  /** The same exchange with every store in PostgreSQL (a throwaway local cluster), when PostgreSQL is installed. */
  exchange_postgres?: ExchangeFigures;
  policy_scale?: PolicyScaleFigures;
  worker?: WorkerFigures;
  action?: ActionFigures;
  memory?: MemoryFigures;
  resilience?: ResilienceFigures;
  goals: Goal[];
}

const KiB = 1024;

export function evaluateGoals(r: Omit<BenchReport, 'goals'>): Goal[] {
  const goal = (name: string, target: string, value: number | null | undefined, met: (v: number) => boolean): Goal => ({
    name,
    target,
    value: value ?? null,
    met: value === null || value === undefined || Number.isNaN(value) ? null : met(value),
  });
  return [
    goal('exchange throughput vs the jose floor (c32)', '>= 0.90', r.exchange?.ratio, (v) => v >= 0.9),
    goal(
      'exchange p50 at c1 above the floor’s (ms)',
      '<= 1.00',
      r.exchange ? r.exchange.c1.p50_ms - r.exchange.c1.floor_p50_ms : null,
      (v) => v <= 1,
    ),
    goal('policy eval, 10,000 roles vs 10 roles', '<= 1.10', r.policy_scale?.ratio_10000_vs_10, (v) => v <= 1.1),
    goal(
      'worker bundle, gzip (KiB)',
      '<= 300',
      r.worker?.bundle_gzip_bytes == null ? null : r.worker.bundle_gzip_bytes / KiB,
      (v) => v <= 300,
    ),
    goal(`broker RSS growth over ${r.memory?.exchanges ?? 'N'} exchanges (MiB)`, '< 50', r.memory?.rss_growth_mb, (v) => v < 50),
  ];
}

function fmt(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number')
    return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toLocaleString('en-US', { maximumFractionDigits: 3 });
  return String(v);
}

/** One exchange's mean time by stage (see StageBreakdown), inside the broker and as the client saw it. */
function stageLine(s: StageBreakdown): string {
  const f = (v: number) => (v < 0.1 ? v.toFixed(3) : v.toFixed(2));
  const inner = EXCHANGE_STAGES.map((k) => `${k} ${f(s[k])}`).join(', ');
  return `${inner}, rest ${f(s.rest)} = broker ${f(s.broker)}; client ${f(s.client)}`;
}

/** CPU per request (see CpuFigures): broker and floor, process and main thread, and the load generator's. */
function cpuLine(c: CpuFigures): string {
  return `broker ${fmt(c.broker_process_us)} (main ${fmt(c.broker_main_us)}), floor ${fmt(c.floor_process_us)} (main ${fmt(c.floor_main_us)}); load generator ${fmt(c.load_generator_broker_us)} / ${fmt(c.load_generator_floor_us)}`;
}

export function renderTable(r: BenchReport): string {
  const rows: [string, string, unknown][] = [];
  const add = (section: string, metric: string, value: unknown) => rows.push([section, metric, value]);
  if (r.exchange) {
    const e = r.exchange;
    add('exchange', 'broker rps, c32', e.rps);
    add('exchange', 'broker p50 / p99 ms, c32', `${fmt(e.p50_ms)} / ${fmt(e.p99_ms)}`);
    add('exchange', 'floor rps, c32 (jose verify only)', e.floor_rps);
    add('exchange', 'floor p50 / p99 ms, c32', `${fmt(e.floor_p50_ms)} / ${fmt(e.floor_p99_ms)}`);
    add('exchange', 'ratio broker / floor, c32', e.ratio);
    add('exchange', 'broker rps, c1', e.c1.rps);
    add('exchange', 'broker p50 / p99 ms, c1', `${fmt(e.c1.p50_ms)} / ${fmt(e.c1.p99_ms)}`);
    add('exchange', 'floor rps, c1', e.c1.floor_rps);
    add('exchange', 'floor p50 / p99 ms, c1', `${fmt(e.c1.floor_p50_ms)} / ${fmt(e.c1.floor_p99_ms)}`);
    add('exchange', 'ratio broker / floor, c1', e.c1.ratio);
    add('exchange', 'where the time goes, c32 (mean ms)', stageLine(e.stages.c32));
    add('exchange', 'where the time goes, c1 (mean ms)', stageLine(e.stages.c1));
    add('exchange', 'CPU per request, c32 (µs)', cpuLine(e.cpu.c32));
    add('exchange', 'CPU per request, c1 (µs)', cpuLine(e.cpu.c1));
    add('exchange', 'CPU per exchange without HTTP, c32 (µs)', `main ${fmt(e.inprocess.main_us)}, process ${fmt(e.inprocess.process_us)}`);
    add(
      'exchange',
      'broker answers',
      Object.entries(e.statuses)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', '),
    );
  }
  if (r.exchange_postgres) {
    const e = r.exchange_postgres;
    const sqlite = r.exchange;
    add('exchange/pg', 'broker rps, c32 (node:sqlite)', `${fmt(e.rps)} (${fmt(sqlite?.rps ?? null)})`);
    add('exchange/pg', 'broker p50 / p99 ms, c32', `${fmt(e.p50_ms)} / ${fmt(e.p99_ms)}`);
    add('exchange/pg', 'ratio broker / floor, c32 (node:sqlite)', `${fmt(e.ratio)} (${fmt(sqlite?.ratio ?? null)})`);
    add('exchange/pg', 'broker rps, c1 (node:sqlite)', `${fmt(e.c1.rps)} (${fmt(sqlite?.c1.rps ?? null)})`);
    add('exchange/pg', 'broker p50 / p99 ms, c1', `${fmt(e.c1.p50_ms)} / ${fmt(e.c1.p99_ms)}`);
    add('exchange/pg', 'ratio broker / floor, c1', e.c1.ratio);
    add('exchange/pg', 'where the time goes, c32 (mean ms)', stageLine(e.stages.c32));
    add('exchange/pg', 'where the time goes, c1 (mean ms)', stageLine(e.stages.c1));
    add('exchange/pg', 'CPU per request, c32 (µs; PostgreSQL not counted)', cpuLine(e.cpu.c32));
    add(
      'exchange/pg',
      'CPU per exchange without HTTP, c32 (µs)',
      `main ${fmt(e.inprocess.main_us)}, process ${fmt(e.inprocess.process_us)}`,
    );
    add(
      'exchange/pg',
      'broker answers',
      Object.entries(e.statuses)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', '),
    );
  }
  if (r.policy_scale) {
    const p = r.policy_scale;
    add('policy', 'eval µs, 10 / 1,000 / 10,000 roles', `${fmt(p.roles_10_us)} / ${fmt(p.roles_1000_us)} / ${fmt(p.roles_10000_us)}`);
    add('policy', 'ratio 10,000 / 10 roles', p.ratio_10000_vs_10);
    add('policy', 'load + compile ms, 10 / 1,000 / 10,000', Object.values(p.load_ms).map(fmt).join(' / '));
  }
  if (r.worker) {
    const w = r.worker;
    add(
      'worker',
      'bundle KiB (gzip KiB)',
      `${fmt(w.bundle_bytes == null ? null : Math.round(w.bundle_bytes / KiB))} (${fmt(w.bundle_gzip_bytes == null ? null : Math.round((w.bundle_gzip_bytes / KiB) * 10) / 10)})`,
    );
    add('worker', 'first exchange on a fresh isolate, ms', w.first_exchange_ms);
    add('worker', 'workerd exchange p50 / p99 ms, c1', `${fmt(w.exchange_p50_ms)} / ${fmt(w.exchange_p99_ms)}`);
    add('worker', 'workerd exchange rps, c1 / c8', `${fmt(w.exchange_rps_c1)} / ${fmt(w.exchange_rps_c8)}`);
    add('worker', 'workerd CPU ms per exchange / per bare verify, c1', `${fmt(w.exchange_cpu_ms)} / ${fmt(w.floor_cpu_ms)}`);
    if (w.skipped) add('worker', 'skipped', w.skipped);
  }
  if (r.action) {
    const a = r.action;
    add(
      'action',
      'bundle KiB, main + post (gzip KiB)',
      `${fmt(Math.round(a.bundle_bytes / KiB))} (${fmt(Math.round(a.bundle_gzip_bytes / KiB))})`,
    );
    add('action', 'start to outputs written, ms (median)', a.time_to_outputs_ms);
    add('action', 'start to exit, ms (median)', a.process_ms);
  }
  if (r.memory) {
    const m = r.memory;
    add('memory', `RSS MiB before / after ${fmt(m.exchanges)} exchanges`, `${fmt(m.rss_before_mb)} / ${fmt(m.rss_after_mb)}`);
    add('memory', 'RSS growth MiB', m.rss_growth_mb);
  }
  if (r.resilience) {
    for (const [name, s] of Object.entries(r.resilience)) add('resilience', `${name} (${s.held ? 'held' : 'FAILED'})`, s.summary);
  }
  const w0 = Math.max(...rows.map((x) => x[0].length), 7);
  const w1 = Math.max(...rows.map((x) => x[1].length), 6);
  const lines = [
    `secret-broker bench (${r.mode}), ${r.duration_s} s; node ${r.machine.node}, ${r.machine.cpus} CPUs (${r.machine.cpu_model}), load average at start ${r.machine.load_average_at_start.join(' ')}`,
    '',
    `${'section'.padEnd(w0)}  ${'metric'.padEnd(w1)}  value`,
    `${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ${'-'.repeat(20)}`,
    ...rows.map(([s, m, v]) => `${s.padEnd(w0)}  ${m.padEnd(w1)}  ${fmt(v)}`),
    '',
    'goals',
    ...r.goals.map(
      (g) =>
        `  ${g.met === null ? 'n/a ' : g.met ? 'PASS' : 'MISS'}  ${g.name}: ${fmt(g.value === null ? null : Math.round(g.value * 1000) / 1000)} (goal ${g.target})`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/** The exchange section again, every store in a throwaway PostgreSQL cluster on loopback. */
async function benchExchangeOnPostgres(ctx: ReturnType<typeof createContext>): Promise<ExchangeFigures | undefined> {
  ctx.progress('exchange on PostgreSQL: starting a throwaway cluster');
  const cluster = await startPostgres();
  try {
    const fixture = await createFixture({ env: { BROKER_DATABASE_URL: await cluster.createDatabase('bench') } });
    try {
      const run = await benchExchange(ctx, fixture);
      await run.broker.stop();
      return run.figures;
    } finally {
      await fixture.close();
    }
  } finally {
    cluster.stop();
  }
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      only: { type: 'string' },
      'cpu-prof': { type: 'string' },
    },
  });
  const only = new Set((values.only ?? SECTIONS.join(',')).split(',').map((s) => s.trim()));
  for (const s of only)
    if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: unknown section "${s}" (${SECTIONS.join(', ')})`);
  const want = (s: Section) => only.has(s);
  const quick = values.quick ?? false;
  const ctx = createContext(quick);
  const startedAt = new Date();
  const t0 = performance.now();
  const report: Omit<BenchReport, 'goals'> = {
    mode: quick ? 'quick' : 'full',
    started_at: startedAt.toISOString(),
    duration_s: 0,
    machine: {
      cpus: availableParallelism(),
      cpu_model: cpus()[0]?.model.trim() ?? 'unknown',
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      load_average_at_start: loadavg().map((l) => Math.round(l * 100) / 100),
    },
  };
  ctx.progress(`mode ${report.mode}; sections: ${[...only].join(', ')}`);
  const fixture = await createFixture();
  try {
    if (want('exchange') || want('action')) {
      const profile = values['cpu-prof'] ? [`--cpu-prof`, `--cpu-prof-dir=${resolve(values['cpu-prof'])}`] : [];
      const run = await benchExchange(ctx, fixture, profile, want('exchange'));
      try {
        if (run.figures) report.exchange = run.figures;
        if (want('action')) report.action = await benchAction(ctx, fixture, run.broker.url);
      } finally {
        await run.broker.stop();
      }
    }
    if (want('exchange')) {
      const reason = postgresAvailable();
      if (reason) ctx.progress(`exchange on PostgreSQL: skipped (${reason})`);
      else {
        const figures = await benchExchangeOnPostgres(ctx);
        if (figures) report.exchange_postgres = figures;
      }
    }
    if (want('policy')) report.policy_scale = await benchPolicyScale(ctx);
    if (want('memory')) report.memory = await benchMemory(ctx, fixture);
    if (want('worker')) report.worker = await benchWorker(ctx);
    // The fault scenarios take a minute or two: full runs, or --quick with --only resilience.
    if (want('resilience') && (!quick || values.only)) report.resilience = await benchResilience(ctx);
    else if (want('resilience'))
      ctx.progress('resilience: skipped in --quick (npm test runs it small; `--quick --only resilience` runs it here)');
  } finally {
    await fixture.close();
  }
  report.duration_s = Math.round((performance.now() - t0) / 100) / 10;
  const full: BenchReport = { ...report, goals: evaluateGoals(report) };
  process.stdout.write(renderTable(full));
  if (values.out) {
    const out = resolve(values.out);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(full, null, 2)}\n`);
    ctx.progress(`wrote ${out}`);
  }
  return 0;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${String((err as Error)?.stack ?? err)}\n`);
      process.exit(1);
    },
  );
}
