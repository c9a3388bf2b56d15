// The policy set in force on Node, and its reload (SIGHUP, `serve --watch`). A reload reads and compiles the
// whole directory anew and swaps it in only when it loads; a set that fails keeps the old one and the log
// says why. Requests already running keep the set they read at their start (pipeline.ts `audited`).
import { type FSWatcher, watch } from 'node:fs';
import type { BrokerMetrics } from '../../src/metrics.ts';
import type { CompiledPolicy } from '../../src/policy/compile.ts';

export type ReloadResult = { ok: true; changed: boolean; hash: string } | { ok: false; problems: string[] };

/** A burst of file events (an editor's save, a git checkout) is one reload this long after the last. */
const WATCH_DEBOUNCE_MS = 250;

export class PolicyHolder {
  private current: CompiledPolicy;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly load: () => Promise<CompiledPolicy>;
  private readonly log: (line: Record<string, unknown>) => void;
  private readonly metrics: BrokerMetrics | undefined;

  constructor(
    initial: CompiledPolicy,
    load: () => Promise<CompiledPolicy>,
    log: (line: Record<string, unknown>) => void,
    metrics?: BrokerMetrics,
  ) {
    this.current = initial;
    this.load = load;
    this.log = log;
    this.metrics = metrics;
  }

  /** The set in force (the composition root's `policy` getter). */
  readonly get = (): CompiledPolicy => this.current;

  /** Loads the directory anew; one reload at a time, in the order asked. Never throws. */
  reload(trigger: 'sighup' | 'watch' | 'api'): Promise<ReloadResult> {
    const run = this.queue.then(() => this.reloadNow(trigger));
    this.queue = run.catch(() => {});
    return run;
  }

  private async reloadNow(trigger: string): Promise<ReloadResult> {
    const previous = this.current.hash;
    let next: CompiledPolicy;
    try {
      next = await this.load();
    } catch (error) {
      const problems = (error as { problems?: string[] }).problems ?? [String((error as Error)?.message ?? error)];
      this.metrics?.policyReload(false);
      this.log({ level: 'error', event: 'policy.reload_failed', trigger, policy_hash: previous, problems });
      return { ok: false, problems };
    }
    this.current = next;
    this.metrics?.policyReload(true);
    this.metrics?.policyLoaded(next);
    this.log({
      level: 'info',
      event: 'policy.reloaded',
      trigger,
      previous_policy_hash: previous,
      policy_hash: next.hash,
      roles: next.roles.size,
      changed: next.hash !== previous,
    });
    return { ok: true, changed: next.hash !== previous, hash: next.hash };
  }

  /** Reloads when anything under `dir` changes. Returns the function that stops watching. */
  watch(dir: string): () => void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const watcher: FSWatcher = watch(dir, { recursive: true, persistent: false }, () => {
      clearTimeout(timer);
      timer = setTimeout(() => void this.reload('watch'), WATCH_DEBOUNCE_MS);
    });
    watcher.on('error', (err) => this.log({ level: 'error', event: 'policy.watch_failed', detail: String(err?.message ?? err) }));
    return () => {
      clearTimeout(timer);
      watcher.close();
    };
  }
}
