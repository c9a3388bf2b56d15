// Node entry: node:sqlite stores in the data folder, the policy directory read once at start, and the
// same createApp as on Workers, served by @hono/node-server.
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createApp, type AppDeps } from '../src/app.ts';
import { Auditor } from '../src/audit/auditor.ts';
import { buildMinters } from '../src/mint/index.ts';
import type { Minters } from '../src/mint/types.ts';
import { JwksRegistry } from '../src/oidc/jwks.ts';
import { compilePolicy, type CompiledPolicy } from '../src/policy/compile.ts';
import { loadPolicy } from '../src/policy/load.ts';
import { BrokerIssuer } from '../src/issuer/issuer.ts';
import { RevocationVault } from '../src/store/revocations.ts';
import { SecretVault } from '../src/store/secrets.ts';
import { VERSION } from '../src/version.ts';
import { loadKek } from './node/kek.ts';
import { readPolicyDir } from './node/policy-files.ts';
import {
  openDatabase,
  SqliteAuditStore,
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
}

export interface NodeBroker {
  app: ReturnType<typeof createApp>;
  deps: AppDeps;
  vault: SecretVault;
  issuer: BrokerIssuer;
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

export async function buildNodeBroker(opts: NodeBrokerOptions): Promise<NodeBroker> {
  const env = opts.env ?? process.env;
  const now = opts.now ?? Date.now;
  const log = opts.log ?? ((line) => process.stderr.write(`${JSON.stringify(line)}\n`));
  const policy = await loadCompiledPolicy(opts.policiesDir);
  const db = openDatabase(opts.dataDir);
  const warnings: string[] = [];
  const kek = await loadKek(env, opts.dataDir);
  if (kek.warning) warnings.push(kek.warning);
  const keks = { current: kek.kek, previous: kek.previous };
  const vault = new SecretVault(new SqliteSecretStore(db), keks);
  const publicUrl = env.BROKER_PUBLIC_URL ?? 'http://127.0.0.1:8787';
  const issuer = new BrokerIssuer({ store: new SqliteKeyStore(db), keks, publicUrl, now });
  // The first start creates the signing key, so the JWKS is there before any cloud is configured.
  await issuer.ensureKey();
  const fetchFn = opts.fetch ?? fetch;
  const minters: Minters = buildMinters({ fetch: fetchFn, issuer, secrets: vault, timeoutMs: Number(env.BROKER_UPSTREAM_TIMEOUT_MS ?? 10_000) });
  const deps: AppDeps = {
    policy: () => policy,
    jwks: new JwksRegistry({
      fetch: fetchFn,
      now,
      onEvent: (e) => log({ level: e.type === 'fetch_failed' ? 'warn' : 'info', event: `jwks.${e.type}`, ...e }),
    }),
    replay: new SqliteReplayGuard(db),
    auditor: new Auditor(new SqliteAuditStore(db)),
    minters,
    revocations: new RevocationVault(new SqliteRevocationStore(db), keks),
    issuer,
    now,
    version: VERSION,
    clientIp: (_req, env) => (env as { incoming?: { socket?: { remoteAddress?: string } } })?.incoming?.socket?.remoteAddress ?? null,
    log,
  };
  return { app: createApp(deps), deps, vault, issuer, warnings, close: () => db.close() };
}

export interface RunningBroker extends NodeBroker {
  server: ServerType;
  url: string;
  stop(): Promise<void>;
}

export async function startNodeBroker(opts: NodeBrokerOptions & { port: number; host: string }): Promise<RunningBroker> {
  const broker = await buildNodeBroker(opts);
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: broker.app.fetch, port: opts.port, hostname: opts.host }, () => resolve(s));
    s.once('error', reject);
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  // Without BROKER_PUBLIC_URL (development), broker tokens name the address actually listened on.
  if (!(opts.env ?? process.env).BROKER_PUBLIC_URL) broker.issuer.publicUrl = `http://${host}:${addr.port}`;
  return {
    ...broker,
    server,
    url: `http://${host}:${addr.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          broker.close();
          resolve();
        });
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
