// The installed package as a process: started by an explicit command line (an installed bin, a Dockerfile's
// ENTRYPOINT) with a minimal environment, ready at its "listening on" line. Shared by the package and
// container tests.
import { spawn } from 'node:child_process';

export interface InstalledServer {
  url: string;
  logs(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export function startInstalled(
  command: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
): Promise<InstalledServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start:\n${logs}`));
    }, 20_000);
    child.stdout.on('data', (d) => (logs += d));
    child.stderr.on('data', (d) => {
      logs += d;
      const m = /listening on (http:\/\/[^\s"]+)/.exec(logs);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          logs: () => logs,
          stop: () =>
            new Promise((r) => {
              if (child.exitCode !== null) return r(child.exitCode);
              child.once('exit', (code) => r(code));
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${logs}`));
    });
  });
}
