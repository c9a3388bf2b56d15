// (e) RSS growth of the broker process over many exchanges: a fresh `secret-broker serve`, warmed up, then N
// exchanges at concurrency 32 in one continuous run (every token signed beforehand, so the broker never
// idles: an idle V8 shrinks its young generation and a busy one grows it again, tens of MiB either way,
// which would read as growth or shrinkage that is not there). VmRSS comes from /proc/PID/status: at the end
// of the warm-up, every 250 ms during the run, and right after the last answer. lib/heap-probe.ts, preloaded,
// reports V8's young and old generation sizes, to tell heap sizing from accumulation.
import { join } from 'node:path';
import { ROOT } from '../../helpers/processes.ts';
import type { BenchContext } from '../lib/context.ts';
import type { Fixture } from '../lib/fixture.ts';
import { poolSize, round, runLoad } from '../lib/load.ts';
import { rssBytes, startBroker } from '../lib/processes.ts';
import { signTokensParallel } from '../lib/tokens.ts';

export interface MemoryFigures {
  exchanges: number;
  warmup: number;
  rss_before_mb: number;
  rss_after_mb: number;
  rss_growth_mb: number;
  rss_max_mb: number;
  /** RSS during the run (MiB), evenly spaced, to tell a plateau from a leak. */
  rss_samples_mb: number[];
  /** Answers other than 200 during the run (should be none). */
  non_200: number;
  rps: number;
  /** V8's heap as the broker reported it (lib/heap-probe.ts) at the end of the warm-up and of the run. */
  v8_before: HeapProbe | null;
  v8_after: HeapProbe | null;
}

export interface HeapProbe {
  new_space_mb: number;
  old_space_mb: number;
  old_space_used_mb: number;
  external_mb: number;
}

function lastProbe(logs: string): HeapProbe | null {
  const line = logs
    .split('\n')
    .filter((l) => l.startsWith('HEAP-PROBE '))
    .at(-1);
  return line ? (JSON.parse(line.slice('HEAP-PROBE '.length)) as HeapProbe) : null;
}

const MiB = 1024 * 1024;

export async function benchMemory(ctx: BenchContext, fixture: Fixture): Promise<MemoryFigures> {
  const exchanges = ctx.quick ? 4_000 : 100_000;
  // Long enough, in full runs, for V8 to have grown its young generation to size (a one-time step of tens of
  // MiB, seen around 15,000 to 20,000 exchanges on the bench machine).
  const warmup = ctx.quick ? 1_000 : 30_000;
  ctx.progress(`memory: signing ${warmup + exchanges} tokens`);
  const spec = fixture.spec();
  const warmTokens = await signTokensParallel(spec, poolSize(warmup, 32));
  const tokens = await signTokensParallel(spec, poolSize(exchanges, 32));
  ctx.progress(`memory: fresh broker, ${warmup} warm-up exchanges, then ${exchanges} measured`);
  const broker = await startBroker({
    policiesDir: fixture.policiesDir,
    dataDir: fixture.dataDir,
    env: fixture.env,
    nodeArgs: ['--import', join(ROOT, 'test/bench/lib/heap-probe.ts')],
  });
  try {
    const rss = () => {
      const v = rssBytes(broker.pid);
      if (v === undefined) {
        const exit = broker.child.exitCode ?? broker.child.signalCode;
        throw new Error(exit === null ? 'cannot read VmRSS (no /proc?)' : `the broker exited (${exit}):\n${broker.logs().slice(-3000)}`);
      }
      return v;
    };
    await runLoad({ url: broker.url, tokens: warmTokens, role: 'bench', connections: 32 });
    const before = rss();
    const v8Before = lastProbe(broker.logs());
    const samples: number[] = [];
    const sampler = setInterval(() => {
      const v = rssBytes(broker.pid);
      if (v !== undefined) samples.push(v);
    }, 250);
    const progress = setInterval(() => ctx.progress(`memory: RSS ${round((samples.at(-1) ?? before) / MiB, 1)} MiB`), 15_000);
    let r: Awaited<ReturnType<typeof runLoad>>;
    try {
      r = await runLoad({ url: broker.url, tokens, role: 'bench', connections: 32 });
    } finally {
      clearInterval(sampler);
      clearInterval(progress);
    }
    const after = rss();
    const v8After = lastProbe(broker.logs());
    const step = Math.max(1, Math.floor(samples.length / 20));
    return {
      exchanges: r.requests,
      warmup,
      rss_before_mb: round(before / MiB, 1),
      rss_after_mb: round(after / MiB, 1),
      rss_growth_mb: round((after - before) / MiB, 1),
      rss_max_mb: round(Math.max(before, after, ...samples) / MiB, 1),
      rss_samples_mb: samples.filter((_, i) => i % step === 0).map((v) => round(v / MiB, 1)),
      non_200: r.requests - (r.statuses['200'] ?? 0),
      rps: r.rps,
      v8_before: v8Before,
      v8_after: v8After,
    };
  } finally {
    await broker.stop();
  }
}
