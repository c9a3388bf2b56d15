// Child processes for the bench and the resilience tests: the real broker (`secret-broker serve`), the floor
// server, anything that prints its URL when ready. A child writes its output to a file, not to a pipe this
// process reads: the broker logs a line per request, and reading those here would take CPU from the load
// generator on the same cores (the floor logs nothing). `logs()` is the file's last 64 KiB.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
/** How often the output file is read while waiting for the ready line. */
const READY_POLL_MS = 20;

/** The last `LOG_KEEP` bytes of a file (a line cut at the start is part of it). */
function tail(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, LOG_KEEP);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString();
  } finally {
    closeSync(fd);
  }
}

export function spawnServer(args: string[], env: Record<string, string>, ready: RegExp, timeoutMs = 30_000): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-child-'));
  const file = join(dir, 'output.log');
  const out = openSync(file, 'a');
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
  closeSync(out);
  // Kept once the child is gone and its file removed, for a test that reports them afterwards.
  let last = '';
  const logs = () => {
    try {
      last = tail(file);
    } catch {
      // Removed after exit: the last read stands.
    }
    return last;
  };
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  void exited.then(() => {
    logs();
    rmSync(dir, { recursive: true, force: true });
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error?: Error, url?: string) => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      clearTimeout(timer);
      if (error) reject(error);
      else {
        const end = (signal: NodeJS.Signals) => () => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        };
        resolve({ url: url!, child, pid: child.pid!, logs, stop: end('SIGTERM'), kill: end('SIGKILL') });
      }
    };
    const poll = setInterval(() => {
      const m = ready.exec(logs());
      if (m) finish(undefined, m[1]!);
    }, READY_POLL_MS);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`${args.join(' ')} did not start within ${timeoutMs} ms:\n${logs().slice(-4000)}`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      const m = ready.exec(logs());
      if (m) finish(undefined, m[1]!);
      else finish(new Error(`${args.join(' ')} exited (${code ?? signal}) before it was ready:\n${logs().slice(-4000)}`));
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

/** /proc/<pid>/stat: the command name and the fields after it (state, ppid, ...), or null when gone or absent. */
export function procStat(pid: number | string, thread?: number): { comm: string; fields: string[] } | null {
  try {
    const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
    const end = stat.lastIndexOf(') ');
    return { comm: stat.slice(stat.indexOf('(') + 1, end), fields: stat.slice(end + 2).split(' ') };
  } catch {
    return null;
  }
}

/**
 * CPU milliseconds (user + system) a process has used, or one of its threads (the main thread's id is the
 * pid), or null where there is no /proc.
 */
export function cpuMs(pid: number | undefined, thread?: number): number | null {
  const stat = pid === undefined ? null : procStat(pid, thread);
  // utime and stime, in clock ticks of 10 ms (USER_HZ 100).
  return stat ? (Number(stat.fields[11]) + Number(stat.fields[12])) * 10 : null;
}
