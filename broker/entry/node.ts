// Node entry: node:sqlite stores in the data folder, the policy directory read once at start, and the
// same createApp as on Workers, served by @hono/node-server.
import { serve, type ServerType } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminAuth } from '../src/admin/auth.ts';
import { createApp, type AppDeps } from '../src/app.ts';
import { Auditor } from '../src/audit/auditor.ts';
import { Checkpointer } from '../src/audit/checkpointer.ts';
import { parseRetention, pruneAudit } from '../src/audit/retention.ts';
import { buildMinters } from '../src/mint/index.ts';
import type { Minters } from '../src/mint/types.ts';
import { JwksRegistry } from '../src/oidc/jwks.ts';
import { compilePolicy, type CompiledPolicy } from '../src/policy/compile.ts';
import { loadPolicy } from '../src/policy/load.ts';
import { BrokerIssuer } from '../src/issuer/issuer.ts';
import { MemoryRateCounter, parseRateLimits, RateLimiter } from '../src/ratelimit.ts';
import { RevocationVault } from '../src/store/revocations.ts';
import { SecretVault } from '../src/store/secrets.ts';
import { parseDuration } from '../src/util/duration.ts';
import { VERSION } from '../src/version.ts';
import { capConnectionsPerClient, DEFAULT_MAX_CLIENT_CONNECTIONS, HTTP_SERVER_OPTIONS } from './node/connections.ts';
import { loadKek } from './node/kek.ts';
import { readPolicyDir } from './node/policy-files.ts';
import {
  openDatabase,
  SqliteAuditStore,
  SqliteCheckpointStore,
  SqliteKeyStore,
  SqliteReplayGuard,
  SqliteRevocationStore,
  SqliteSecretStore,
} from './node/sqlite.ts';

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

export interface NodeBroker {
  app: ReturnType<typeof createApp>;
  deps: AppDeps;
  vault: SecretVault;
  issuer: BrokerIssuer;
  checkpointer: Checkpointer;
  checkpoints: SqliteCheckpointStore;
  /** BROKER_AUDIT_RETENTION in milliseconds, when set. */
  retentionMs: number | undefined;
  warnings: string[];
  close(): void;
}

/** BROKER_AUDIT_*: checkpoint frequency and retention. */
function auditSettings(env: Record<string, string | undefined>): {
  checkpoints: { everyRecords: number; intervalMs: number };
  retentionMs: number | undefined;
} {
  const retention = parseRetention(env.BROKER_AUDIT_RETENTION);
  if (retention === 'invalid')
    throw new Error(`BROKER_AUDIT_RETENTION="${env.BROKER_AUDIT_RETENTION}" must be a duration of at least 1d, such as 90d`);
  return {
    checkpoints: {
      everyRecords: setting(env, 'BROKER_AUDIT_CHECKPOINT_RECORDS', 1000, (v) => (/^[1-9]\d{0,8}$/.test(v) ? Number(v) : undefined)),
      intervalMs: setting(env, 'BROKER_AUDIT_CHECKPOINT_INTERVAL', 600_000, (v) => {
        const seconds = parseDuration(v);
        return seconds === undefined ? undefined : seconds * 1000;
      }),
    },
    retentionMs: retention,
  };
}

/** Reads a count or duration setting; a bad value stops the start (never a silent default). */
function setting<T>(env: Record<string, string | undefined>, name: string, fallback: T, parse: (v: string) => T | undefined): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = parse(raw.trim());
  if (value === undefined) throw new Error(`${name}="${raw}" is not valid`);
  return value;
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
  const policy = await loadCompiledPolicy(opts.policiesDir);
  const audit = auditSettings(env);
  const auth = createAdminAuth({ token: env.BROKER_ADMIN_TOKEN });
  const db = openDatabase(opts.dataDir);
  const warnings: string[] = [];
  const kek = await loadKek(env, opts.dataDir);
  if (kek.warning) warnings.push(kek.warning);
  const keks = { current: kek.kek, previous: kek.previous };
  const vault = new SecretVault(new SqliteSecretStore(db), keks);
  const publicUrl = env.BROKER_PUBLIC_URL ?? 'http://127.0.0.1:8787';
  const issuer = new BrokerIssuer({ store: new SqliteKeyStore(db), keks, publicUrl, now, log });
  // The first start creates the signing key, so the JWKS is there before any cloud is configured.
  await issuer.ensureKey();
  // Audit checkpoints: the head is signed every N records or M minutes, whichever comes first.
  const auditStore = new SqliteAuditStore(db);
  const checkpoints = new SqliteCheckpointStore(db);
  const checkpointer = new Checkpointer({ audit: auditStore, checkpoints, signer: issuer, now, log, ...audit.checkpoints });
  const fetchFn = opts.fetch ?? fetch;
  const minters: Minters = buildMinters({
    fetch: fetchFn,
    issuer,
    secrets: vault,
    timeoutMs: Number(env.BROKER_UPSTREAM_TIMEOUT_MS ?? 10_000),
  });
  // Opt-in (BROKER_RATE_LIMITS, e.g. client=600/1m,subject=60/1m); a malformed setting refuses to start.
  const rateLimits = parseRateLimits(env.BROKER_RATE_LIMITS);
  const deps: AppDeps = {
    policy: () => policy,
    jwks: new JwksRegistry({
      fetch: fetchFn,
      now,
      onEvent: (e) => log({ level: e.type === 'fetch_failed' ? 'warn' : 'info', event: `jwks.${e.type}`, ...e }),
    }),
    replay: new SqliteReplayGuard(db),
    auditor: new Auditor(checkpointer.watch(auditStore)),
    minters,
    revocations: new RevocationVault(new SqliteRevocationStore(db), keks),
    issuer,
    ...(rateLimits.client || rateLimits.subject
      ? {
          rateLimiter: new RateLimiter(rateLimits, new MemoryRateCounter(), (err) =>
            log({ level: 'warn', event: 'rate_limit.failed', detail: String(err) }),
          ),
        }
      : {}),
    now,
    version: VERSION,
    clientIp: (_req, env) => (env as { incoming?: { socket?: { remoteAddress?: string } } })?.incoming?.socket?.remoteAddress ?? null,
    log,
    ...(auth ? { admin: { auth, checkpoints } } : {}),
  };
  return {
    app: createApp(deps),
    deps,
    vault,
    issuer,
    checkpointer,
    checkpoints,
    retentionMs: audit.retentionMs,
    warnings,
    close: () => db.close(),
  };
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
  const env = opts.env ?? process.env;
  // Many jobs behind one NAT share an address: the cap is a setting.
  const maxClientConnections = setting(env, 'BROKER_MAX_CLIENT_CONNECTIONS', DEFAULT_MAX_CLIENT_CONNECTIONS, (v) =>
    /^[1-9]\d{0,5}$/.test(v) ? Number(v) : undefined,
  );
  const broker = await buildNodeBroker(opts);
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: broker.app.fetch, port: opts.port, hostname: opts.host, serverOptions: { ...HTTP_SERVER_OPTIONS } }, () =>
      resolve(s),
    );
    s.once('error', reject);
  });
  capConnectionsPerClient(server as Server, maxClientConnections);
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  // Without BROKER_PUBLIC_URL (development), broker tokens name the address actually listened on.
  if (!env.BROKER_PUBLIC_URL) broker.issuer.publicUrl = `http://${host}:${addr.port}`;
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
