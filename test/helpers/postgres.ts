// A throwaway PostgreSQL cluster for tests: initdb into a temporary folder, pg_ctl start on a free loopback
// port, trust authentication for the one superuser, and stop() that shuts it down and removes the folder.
// initdb refuses to run as root, so as root every server command runs as `nobody` (runuser) in a folder
// that user owns. Without the binaries, postgresAvailable() says why, so that suites skip outside CI.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Sql } from 'postgres';
import { freePort } from './ports.ts';

const UNPRIVILEGED = 'nobody';

/** The newest installed /usr/lib/postgresql/<n>/bin, or PG_BIN. */
export function postgresBin(): string | null {
  if (process.env.PG_BIN) return existsSync(join(process.env.PG_BIN, 'initdb')) ? process.env.PG_BIN : null;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : null;
}

/** Null when a cluster can be started; otherwise the reason (for a skip line). */
export function postgresAvailable(): string | null {
  return postgresBin()
    ? null
    : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; .ci/run installs the postgresql package)';
}

/**
 * For suites that need PostgreSQL: in CI a missing server fails (never a silent skip); elsewhere the suite
 * skips and prints why once.
 */
export function skipWithoutPostgres(suite: string): boolean {
  const reason = postgresAvailable();
  if (!reason) return false;
  if (process.env.CI === 'true') throw new Error(`${suite}: ${reason}`);
  process.stderr.write(`SKIP ${suite}: ${reason}\n`);
  return true;
}

export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** The server's log (pg_ctl -l): what log_statement and log_connections write, for tests that read it. */
  logFile: string;
  /** A URL to a fresh, empty database in the cluster (for one test suite or store). */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server (fast shutdown) without removing the data, for outage tests; start() brings it back. */
  pause(): void;
  start(): void;
  stop(): void;
}

function runAs(cmd: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const [file, argv] = asRoot ? ['runuser', ['-u', UNPRIVILEGED, '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, { encoding: 'utf8', cwd: '/tmp' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
}

let databases = 0;

/** Starts a cluster; call stop() in afterAll (it is also stopped when this process exits). */
export async function startPostgres(): Promise<PostgresCluster> {
  const bin = postgresBin();
  if (!bin) throw new Error(postgresAvailable() ?? 'no PostgreSQL');
  const dir = mkdtempSync('/tmp/broker-pg-');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', UNPRIVILEGED], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', UNPRIVILEGED], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  const port = await freePort();
  runAs(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  // Loopback only, the socket in the cluster's folder, no fsync (a test cluster), enough connections for
  // three replicas plus the test's own pools.
  const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off -c max_connections=200`;
  let stopped = false;
  const start = () => runAs(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '30', 'start']);
  const pause = () => runAs(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      pause();
    } catch {
      // Already stopped (a paused cluster).
    }
    rmSync(dir, { recursive: true, force: true });
  };
  start();
  process.once('exit', stop);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    logFile: join(dir, 'log'),
    pause,
    start,
    stop,
    async createDatabase(name = `t${process.pid}_${++databases}`) {
      const { default: postgres } = await import('postgres');
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`CREATE DATABASE "${name}"`);
      } finally {
        await sql.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
  };
}

/**
 * The postgres grant tests' database, through a superuser connection to it: password logins (SCRAM) for
 * everyone but the superuser, so that passwords and VALID UNTIL count; a group `app_readonly` that may read
 * `visible` and not `hidden`; and the manager `broker_mgr` (password `mgr-pass`), who may create logins in
 * that group and end their sessions. Returns the manager's DSN.
 */
export async function prepareGrantDatabase(admin: Sql, port: number, database = 'app'): Promise<string> {
  const [{ hba_file }] = (await admin`show hba_file`) as unknown as [{ hba_file: string }];
  await admin.unsafe(
    `COPY (SELECT * FROM (VALUES ('local all all trust'), ('host all postgres 127.0.0.1/32 trust'), ('host all all 127.0.0.1/32 scram-sha-256')) v) TO '${hba_file}'`,
  );
  await admin`select pg_reload_conf()`;
  await admin.unsafe(`
    CREATE ROLE app_readonly NOLOGIN;
    CREATE TABLE visible (x int); INSERT INTO visible VALUES (1);
    CREATE TABLE hidden (x int);
    GRANT SELECT ON visible TO app_readonly;
    CREATE ROLE broker_mgr LOGIN CREATEROLE PASSWORD 'mgr-pass';
    GRANT app_readonly TO broker_mgr WITH ADMIN OPTION;
    GRANT pg_signal_backend TO broker_mgr;`);
  return `postgres://broker_mgr:mgr-pass@127.0.0.1:${port}/${database}`;
}
