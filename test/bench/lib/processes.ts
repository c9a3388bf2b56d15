// Child processes for the bench and the resilience tests: the real broker (`secret-broker serve`), the floor
// server, anything that prints its URL on stderr when ready. Logs are kept bounded (the last 64 KiB), since a
// load run can make a child log for a long time.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI, ROOT } from '../../helpers/processes.ts';

export interface Child {
  url: string;
  child: ChildProcess;
  pid: number;
  logs(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit (a crash). */
  kill(): Promise<void>;
}

const LOG_KEEP = 64 * 1024;

export function spawnServer(args: string[], env: Record<string, string>, ready: RegExp, timeoutMs = 30_000): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    let started = false;
    const append = (d: Buffer) => {
      logs += d.toString();
      if (logs.length > LOG_KEEP * 2) logs = logs.slice(-LOG_KEEP);
      const m = started ? null : ready.exec(logs);
      if (m) {
        started = true;
        clearTimeout(timer);
        const exited = new Promise<void>((r) =>
          child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r()),
        );
        const end = (signal: NodeJS.Signals) => () => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        };
        resolve({ url: m[1]!, child, pid: child.pid!, logs: () => logs, stop: end('SIGTERM'), kill: end('SIGKILL') });
      }
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not start within ${timeoutMs} ms:\n${logs.slice(-4000)}`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`${args.join(' ')} exited (${code ?? signal}) before it was ready:\n${logs.slice(-4000)}`));
    });
  });
}

/** `secret-broker serve --port 0` with the given policies and data folder. */
export function startBroker(opts: {
  policiesDir: string;
  dataDir: string;
  env?: Record<string, string>;
  port?: number;
  nodeArgs?: string[];
}): Promise<Child> {
  return spawnServer(
    [...(opts.nodeArgs ?? []), CLI, 'serve', '--port', String(opts.port ?? 0), '--policies', opts.policiesDir, '--data', opts.dataDir],
    opts.env ?? {},
    /listening on (http:\/\/\S+)/,
  );
}

/** Resident set size of a process in bytes (Linux /proc), or undefined where there is no /proc. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
