// Node entry: node:sqlite stores in the data folder, or PostgreSQL for replicas (BROKER_DATABASE_URL), the
// policy directory read once at start, wired by the one composition root (broker/src/compose.ts) and served by @hono/node-server.
import { serve, type ServerType } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pruneAudit } from '../src/audit/retention.ts';
import { composeBroker, type Broker, type Platform } from '../src/compose.ts';
import { compilePolicy, type CompiledPolicy } from '../src/policy/compile.ts';
import { loadPolicy } from '../src/policy/load.ts';
import { parseSettings, type Env, type Settings } from '../src/settings.ts';
import { capConnectionsPerClient, HTTP_SERVER_OPTIONS } from './node/connections.ts';
import { loadKek } from './node/kek.ts';
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
  const log = opts.log ?? ((line) => process.stderr.write(`${JSON.stringify(line)}\n`));
  // A server must not quietly encrypt with a key kept beside the data it protects: only on request, and
  // before anything is created in the data folder.
  if (env.BROKER_KEK === undefined && !opts.dev) {
    throw new Error(
      'BROKER_KEK is not set: set it to 32 random bytes in base64 (openssl rand -base64 32), or pass --dev to use a development KEK kept in the data folder',
    );
  }
  const settings = nodeSettings(env);
  const policy = await loadCompiledPolicy(opts.policiesDir);
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
      clientIp: (_req, env) => (env as { incoming?: { socket?: { remoteAddress?: string } } })?.incoming?.socket?.remoteAddress ?? null,
    };
    const broker = composeBroker(platform, settings, () => policy);
    // The first start creates the signing key, so the JWKS is there before any cloud is configured.
    await broker.issuer.ensureKey();
    return {
      ...broker,
      checkpoints,
      settings,
      storage: stores.kind,
      retentionMs: settings.audit.retentionMs,
      warnings,
      close: () => void stores.close(),
    };
  } catch (error) {
    await stores.close();
    throw error;
  }
}

/** How often retention runs when BROKER_AUDIT_RETENTION is set. */
const RETENTION_EVERY_MS = 6 * 3_600_000;

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
  stop(): Promise<void>;
}

export async function startNodeBroker(opts: NodeBrokerOptions & { port: number; host: string }): Promise<RunningBroker> {
  const broker = await buildNodeBroker(opts);
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: broker.app.fetch, port: opts.port, hostname: opts.host, serverOptions: { ...HTTP_SERVER_OPTIONS } }, () =>
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
  const stopJobs = startAuditJobs(broker, opts.now ?? Date.now, opts.log ?? ((line) => process.stderr.write(`${JSON.stringify(line)}\n`)));
  return {
    ...broker,
    server,
    url: `http://${host}:${addr.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        stopJobs();
        server.close(() => {
          // A last checkpoint, so that cutting off what this process wrote is detectable too.
          void broker.checkpointer
            .checkpointNow()
            .catch(() => null)
            .finally(() => {
              broker.close();
              resolve();
            });
        });
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
