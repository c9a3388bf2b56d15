// Node entry: node:sqlite stores in the data folder, or PostgreSQL for replicas (BROKER_DATABASE_URL), the
// policy directory read once at start, wired by the one composition root (broker/src/compose.ts) and served by @hono/node-server.
import { serve, type ServerType } from '@hono/node-server';
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pruneAudit } from '../src/audit/retention.ts';
import { composeBroker, stamped, type Broker, type Platform } from '../src/compose.ts';
import { compilePolicy, type CompiledPolicy } from '../src/policy/compile.ts';
import { loadPolicy } from '../src/policy/load.ts';
import { parseSettings, type Env, type Settings } from '../src/settings.ts';
import { clientAddressResolver } from './node/client-address.ts';
import { capConnectionsPerClient, HTTP_SERVER_OPTIONS } from './node/connections.ts';
import { createDrainer } from './node/drain.ts';
import { loadKek } from './node/kek.ts';
import { createPromMetrics } from './node/metrics.ts';
import { PolicyHolder, type ReloadResult } from './node/policy-reload.ts';
import { readPolicyDir } from './node/policy-files.ts';
import { openNodeStores } from './node/stores.ts';
import type { CheckpointStore } from '../src/store/ports.ts';

export interface NodeBrokerOptions {
  policiesDir: string;
  dataDir: string;
  env?: Record<string, string | undefined>;
  fetch?: typeof fetch;
  now?: () => number;
  log?: (line: Record<string, unknown>) => void;
  /** Allows the development KEK in the data folder when BROKER_KEK is unset (`serve --dev`, `npm start`). */
  dev?: boolean;
}

export interface NodeBroker extends Broker {
  checkpoints: CheckpointStore;
  settings: Settings;
  /** Where the stores live: node:sqlite in the data folder, or PostgreSQL. */
  storage: 'sqlite' | 'postgres';
  /** BROKER_AUDIT_RETENTION in milliseconds, when set. */
  retentionMs: number | undefined;
  warnings: string[];
  /** Loads the policy directory anew (SIGHUP, --watch); a set that fails to load keeps the old one. */
  reloadPolicy(trigger?: 'sighup' | 'watch' | 'api'): Promise<ReloadResult>;
  policies: PolicyHolder;
  close(): void;
}

export class PolicyLoadError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`the policy set has ${problems.length} error(s):\n${problems.join('\n')}`);
    this.problems = problems;
  }
}

export async function loadCompiledPolicy(dir: string): Promise<CompiledPolicy> {
  const loaded = await loadPolicy(readPolicyDir(dir));
  if (!loaded.ok) throw new PolicyLoadError(loaded.problems.map((p) => `${dir}/${p.file}:${p.line}:${p.column}: ${p.message}`));
  return compilePolicy(loaded.policy);
}

/** One JSON line per event on stderr (stdout stays free for the CLI's output). */
export const writeLogLine = (line: Record<string, unknown>): void => void process.stderr.write(`${JSON.stringify(line)}\n`);

/** The settings, or an error that names every problem (a bad value stops the start, never a silent default). */
export function nodeSettings(env: Env): Settings {
  const parsed = parseSettings(env);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.settings;
}

/**
 * The Node platform: node:sqlite stores in the data folder (process memory for rate counters), or every store
 * in PostgreSQL when BROKER_DATABASE_URL is set; the socket address.
 */
export async function buildNodeBroker(opts: NodeBrokerOptions): Promise<NodeBroker> {
  const env = opts.env ?? process.env;
  const now = opts.now ?? Date.now;
  const log = stamped(opts.log ?? writeLogLine, now);
  // A server must not quietly encrypt with a key kept beside the data it protects: only on request, and
  // before anything is created in the data folder.
  if (env.BROKER_KEK === undefined && !opts.dev) {
    throw new Error(
      'BROKER_KEK is not set: set it to 32 random bytes in base64 (openssl rand -base64 32), or pass --dev to use a development KEK kept in the data folder',
    );
  }
  const settings = nodeSettings(env);
  const clientAddress = clientAddressResolver(settings.trustedProxies);
  const metrics = createPromMetrics();
  const policies = new PolicyHolder(await loadCompiledPolicy(opts.policiesDir), () => loadCompiledPolicy(opts.policiesDir), log, metrics);
  const stores = await openNodeStores({ dataDir: opts.dataDir, database: settings.database, log });
  const warnings: string[] = [];
  try {
    const kek = await loadKek(env, opts.dataDir);
    if (kek.warning) warnings.push(kek.warning);
    const { checkpoints } = stores;
    const platform: Platform = {
      stores: {
        replay: stores.replay,
        audit: stores.audit,
        checkpoints,
        secrets: stores.secrets,
        keys: stores.keys,
        revocations: stores.revocations,
        rateCounter: stores.rateCounter,
      },
      keks: { current: kek.kek, previous: kek.previous },
      fetch: opts.fetch ?? fetch,
      now,
      log,
      // The socket peer, or behind BROKER_TRUSTED_PROXIES the rightmost untrusted X-Forwarded-For hop.
      clientIp: (req, env) =>
        clientAddress(
          (env as { incoming?: { socket?: { remoteAddress?: string } } })?.incoming?.socket?.remoteAddress,
          req.headers.get('x-forwarded-for'),
        ),
      metrics,
      // Synchronous: WebCrypto's digest is a thread-pool round trip on Node (broker/src/util/digest.ts).
      sha256Hex: (text) => createHash('sha256').update(text, 'utf8').digest('hex'),
      // The driver is loaded here, not in broker/src: the Workers bundle has no TCP sockets for it yet.
      postgres: { driver: (await import('postgres')).default, leases: stores.leases },
    };
    const broker = composeBroker(platform, settings, policies.get);
    // Before any key is created: a wrong KEK would otherwise get a fresh signing key of its own and a broker
    // that answers every secret with an internal error.
    const kekCheck = await broker.checkKek();
    if (!kekCheck.ok) throw new Error(kekCheck.problem);
    // The first start creates the signing key, so the JWKS is there before any cloud is configured.
    await broker.issuer.ensureKey();
    return {
      ...broker,
      checkpoints,
      settings,
      storage: stores.kind,
      retentionMs: settings.audit.retentionMs,
      warnings,
      policies,
      reloadPolicy: (trigger = 'api') => policies.reload(trigger),
      close: () => {
        void broker.leases?.close();
        void stores.close();
      },
    };
  } catch (error) {
    await stores.close();
    throw error;
  }
}

/** How often retention runs when BROKER_AUDIT_RETENTION is set. */
const RETENTION_EVERY_MS = 6 * 3_600_000;

/** How often the lease sweeper looks for expired PostgreSQL logins (the issue asks for removal within a minute). */
const LEASE_SWEEP_EVERY_MS = 15_000;

/** Sweeps due leases now and then every LEASE_SWEEP_EVERY_MS; failures are logged by the sweeper and retried. */
export function startLeaseSweeps(broker: Broker, log: (line: Record<string, unknown>) => void, everyMs = LEASE_SWEEP_EVERY_MS): () => void {
  const sweeper = broker.leases?.sweeper;
  if (!sweeper) return () => {};
  const run = () =>
    void sweeper
      .sweep()
      .catch((err: unknown) => log({ level: 'error', event: 'lease.sweep_failed', detail: String((err as Error)?.message ?? err) }));
  const timer = setInterval(run, everyMs);
  timer.unref();
  run();
  return () => clearInterval(timer);
}

/** Timers of a serving broker: due checkpoints, and retention. Returns the function that stops them. */
function startAuditJobs(broker: NodeBroker, now: () => number, log: (line: Record<string, unknown>) => void): () => void {
  const tick = setInterval(() => void broker.checkpointer.tick(), Math.min(broker.checkpointer.intervalMs, 60_000));
  tick.unref();
  void broker.checkpointer.tick();
  const retentionMs = broker.retentionMs;
  if (retentionMs === undefined) return () => clearInterval(tick);
  const prune = () =>
    pruneAudit({
      auditor: broker.deps.auditor,
      checkpoints: broker.checkpoints,
      checkpointer: broker.checkpointer,
      signer: broker.issuer,
      before: now() - retentionMs,
      now,
      policyHash: broker.deps.policy().hash,
      by: 'retention',
    })
      .then((r) =>
        r.ok
          ? r.records > 0 && log({ level: 'info', event: 'audit.pruned', through_seq: r.through?.seq, records: r.records })
          : log({ level: 'error', event: 'audit.prune_refused', seq: r.problem.seq, reason: r.problem.reason }),
      )
      .catch((err: unknown) => log({ level: 'error', event: 'audit.prune_failed', detail: String((err as Error)?.message ?? err) }));
  const timer = setInterval(() => void prune(), RETENTION_EVERY_MS);
  timer.unref();
  void prune();
  return () => {
    clearInterval(tick);
    clearInterval(timer);
  };
}

export interface RunningBroker extends NodeBroker {
  server: ServerType;
  url: string;
  /**
   * Graceful shutdown: stop accepting, let the requests in flight finish (BROKER_SHUTDOWN_GRACE, then 503),
   * sign a final checkpoint, close the stores.
   */
  stop(): Promise<void>;
}

export async function startNodeBroker(opts: NodeBrokerOptions & { port: number; host: string; watch?: boolean }): Promise<RunningBroker> {
  const broker = await buildNodeBroker(opts);
  const now = opts.now ?? Date.now;
  const log = stamped(opts.log ?? writeLogLine, now);
  const drainer = createDrainer(broker.app.fetch, now, log);
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: drainer.fetch, port: opts.port, hostname: opts.host, serverOptions: { ...HTTP_SERVER_OPTIONS } }, () =>
      resolve(s),
    );
    s.once('error', reject);
  });
  // Many jobs behind one NAT share an address: the cap is a setting (BROKER_MAX_CLIENT_CONNECTIONS).
  capConnectionsPerClient(server as Server, broker.settings.maxClientConnections);
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  // Without BROKER_PUBLIC_URL (development), broker tokens name the address actually listened on.
  if (!broker.settings.publicUrlSet) broker.issuer.publicUrl = `http://${host}:${addr.port}`;
  const stopAuditJobs = startAuditJobs(broker, now, log);
  const stopSweeps = startLeaseSweeps(broker, log);
  const stopJobs = () => {
    stopAuditJobs();
    stopSweeps();
  };
  const stopWatching = opts.watch ? broker.policies.watch(opts.policiesDir) : () => {};
  let stopping: Promise<void> | undefined;
  const stop = async () => {
    broker.lifecycle.draining = true;
    stopWatching();
    stopJobs();
    const graceMs = broker.settings.shutdownGraceMs;
    log({ level: 'info', event: 'broker.draining', grace_ms: graceMs });
    const drained = await drainer.drain(server as Server, graceMs);
    // A last checkpoint, so that cutting off what this process wrote is detectable too.
    await broker.checkpointer.settled();
    const checkpoint = await broker.checkpointer.checkpointNow().catch((err: unknown) => {
      log({ level: 'error', event: 'audit.checkpoint_failed', detail: String((err as Error)?.message ?? err) });
      return null;
    });
    broker.close();
    log({
      level: 'info',
      event: 'broker.stopped',
      in_flight_at_stop: drained.inFlight,
      answered_503: drained.cutOff,
      checkpoint_seq: checkpoint?.seq ?? null,
    });
  };
  return {
    ...broker,
    server,
    url: `http://${host}:${addr.port}`,
    stop: () => (stopping ??= stop()),
  };
}
