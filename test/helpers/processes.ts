// Runs the real CLI as child processes (Node 24 from node_modules, the same binary `npm start` uses).
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = resolve(ROOT, 'cli/bin.ts');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node SCRIPT ARGS...` from the repository root, to its end: exit code and everything it printed. */
export function runNode(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

export function runCli(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  return runNode([CLI, ...args], opts);
}

export interface ServedBroker {
  url: string;
  child: ChildProcess;
  logs: () => string;
  stop(): Promise<void>;
}

/** Starts `secret-broker serve --port 0` and waits for its "listening on" line. */
export function serveBroker(args: string[], env: Record<string, string> = {}): Promise<ServedBroker> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: 'pipe',
    });
    let logs = '';
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${logs}`)), 20_000);
    child.stdout.on('data', (d) => (logs += d));
    child.stderr.on('data', (d) => {
      logs += d;
      const m = /listening on (http:\/\/\S+)/.exec(logs);
      if (m) {
        clearTimeout(timer);
        resolvePromise({
          url: m[1]!,
          child,
          logs: () => logs,
          stop: () =>
            new Promise((r) => {
              if (child.exitCode !== null) return r();
              child.once('close', () => r());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code}:\n${logs}`));
    });
  });
}
