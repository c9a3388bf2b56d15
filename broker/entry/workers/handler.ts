// The Workers fetch handler: builds the same dependencies as the Node entry (broker/entry/node.ts) from the
// Worker's bindings, once per isolate and lazily on the first request (bindings only exist inside a request,
// and workerd forbids I/O at global scope). If the bundled policy does not load, or BROKER_KEK or a binding
// is missing, the broker fails closed: every request answers 503 ERR_UNAVAILABLE and the problems are logged.
import type { D1Database, DurableObjectNamespace, ExecutionContext, KVNamespace } from '@cloudflare/workers-types';
import { createApp, type AppDeps } from '../../src/app.ts';
import { createAccessVerifier } from '../../src/admin/access.ts';
import { createAdminAuth, type AdminAuthenticator } from '../../src/admin/auth.ts';
import { Auditor } from '../../src/audit/auditor.ts';
import { Checkpointer } from '../../src/audit/checkpointer.ts';
import { ERROR_STATUS, errorBody } from '../../src/errors.ts';
import { BrokerIssuer } from '../../src/issuer/issuer.ts';
import { buildMinters } from '../../src/mint/index.ts';
import { JwksRegistry } from '../../src/oidc/jwks.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { loadPolicy, type PolicyFile } from '../../src/policy/load.ts';
import { importKek, type Kek } from '../../src/store/envelope.ts';
import { parseRateLimits, RateLimiter, type RateLimits } from '../../src/ratelimit.ts';
import { RevocationVault } from '../../src/store/revocations.ts';
import { SecretVault } from '../../src/store/secrets.ts';
import { deriveMacKey, JWKS_CACHE_MAC_PURPOSE } from '../../src/store/subkeys.ts';
import { newRequestId } from '../../src/util/ids.ts';
import { VERSION } from '../../src/version.ts';
import { D1AuditStore, D1CheckpointStore, D1SecretStore } from './d1.ts';
import { D1KeyStore, D1RevocationStore } from './d1-issuer.ts';
import { KvJwksCache } from './kv.ts';
import { DoRateCounter, DoReplayGuard, type ReplayGuardObject } from './replay.ts';

/** The bindings wrangler.toml declares. BROKER_KEK is a secret (`wrangler secret put BROKER_KEK`). */
export interface WorkerEnv {
  DB: D1Database;
  JWKS_CACHE: KVNamespace;
  REPLAY: DurableObjectNamespace<ReplayGuardObject>;
  /** 32 random bytes in base64: wraps the data keys of stored secrets. */
  BROKER_KEK?: string;
  /** Old KEKs, comma-separated, still accepted for reading while `secret rewrap` rewraps the store. */
  BROKER_KEK_PREVIOUS?: string;
  /** The broker's own issuer URL (https, reachable by the clouds): `iss` of broker tokens. */
  BROKER_PUBLIC_URL?: string;
  /** Deadline for each upstream (cloud, GitHub) call, in milliseconds. */
  BROKER_UPSTREAM_TIMEOUT_MS?: string;
  /** Optional limits, e.g. "client=600/1m,subject=60/1m" (counted in the replay Durable Objects). */
  BROKER_RATE_LIMITS?: string;
  /** Admin token for GET /v1/audit and /admin/ (a secret); without it or Access, those routes are 404. */
  BROKER_ADMIN_TOKEN?: string;
  /** Cloudflare Access in front of the admin routes: https://<team>.cloudflareaccess.com and the app's AUD tag. */
  BROKER_ACCESS_TEAM_DOMAIN?: string;
  BROKER_ACCESS_AUD?: string;
}

export type Log = (line: Record<string, unknown>) => void;

export interface WorkerHandlerOptions {
  log?: Log;
  now?: () => number;
}

type Built = { ok: true; app: ReturnType<typeof createApp>; checkpointer: Checkpointer } | { ok: false; problems: string[] };

/** JSON lines on the console: what Workers Logs index. */
const consoleLog: Log = (line) => (line.level === 'error' ? console.error : console.log)(JSON.stringify(line));

export function createWorkerHandler(files: PolicyFile[], options: WorkerHandlerOptions = {}) {
  const log = options.log ?? consoleLog;
  const now = options.now ?? Date.now;
  // Module-scope cache for this isolate. A refusal is cached too: bundled policy and secrets do not change
  // without a new deployment, which starts new isolates. A thrown error (a bug) is not cached.
  let built: Promise<Built> | undefined;

  const build = (env: WorkerEnv): Promise<Built> =>
    (built ??= buildBroker(env, files, log, now).catch((error: unknown) => {
      built = undefined;
      throw error;
    }));

  return {
    async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
      let broker: Built;
      try {
        broker = await build(env);
      } catch (error) {
        return refuse('ERR_INTERNAL', [`building the broker failed: ${String((error as Error)?.stack ?? error)}`], log, now);
      }
      if (!broker.ok) return refuse('ERR_UNAVAILABLE', broker.problems, log, now);
      return broker.app.fetch(request, env, ctx);
    },

    /**
     * The cron trigger (wrangler.toml [triggers]): signs an audit checkpoint when one is due. Appends also
     * ask for one every 1,000 records, but work left running after a response may be cut short on Workers;
     * the cron makes sure the head is signed at least every interval.
     */
    async scheduled(_controller: unknown, env: WorkerEnv, ctx: ExecutionContext): Promise<void> {
      const broker = await build(env);
      if (broker.ok) ctx.waitUntil(broker.checkpointer.tick());
    },
  };
}

export async function buildBroker(env: WorkerEnv, files: PolicyFile[], log: Log, now: () => number): Promise<Built> {
  const problems: string[] = [];

  const loaded = await loadPolicy(files);
  if (!loaded.ok) problems.push(...loaded.problems.map((p) => `policy ${p.file}:${p.line}:${p.column}: ${p.message}`));

  const keks = await loadKeks(env);
  if (!keks.ok) problems.push(...keks.problems);

  for (const binding of ['DB', 'JWKS_CACHE', 'REPLAY'] as const) {
    if (!env[binding]) problems.push(`binding ${binding} is missing: declare it in wrangler.toml`);
  }

  // A misconfigured admin credential (weak token, bad Access settings) refuses to serve, like on Node.
  let adminAuth: AdminAuthenticator | undefined;
  try {
    const access =
      env.BROKER_ACCESS_TEAM_DOMAIN || env.BROKER_ACCESS_AUD
        ? createAccessVerifier({
            teamDomain: env.BROKER_ACCESS_TEAM_DOMAIN ?? '',
            audience: env.BROKER_ACCESS_AUD ?? '',
            fetch: (input, init) => fetch(input, init),
            now,
          })
        : undefined;
    adminAuth = createAdminAuth({ token: env.BROKER_ADMIN_TOKEN, access });
  } catch (error) {
    problems.push(`admin access: ${(error as Error).message}`);
  }

  if (!loaded.ok || !keks.ok || problems.length > 0) {
    log({ level: 'error', event: 'broker.refusing_to_serve', problems });
    return { ok: false, problems };
  }

  const policy = compilePolicy(loaded.policy);
  const sealing = { current: keks.current, previous: keks.previous };
  const vault = new SecretVault(new D1SecretStore(env.DB), sealing);
  // Called as a plain function: workerd's fetch throws "Illegal invocation" when called as a method.
  const fetchFn = (input: Request | string | URL, init?: RequestInit) => fetch(input, init);
  // Without BROKER_PUBLIC_URL the issuer names the request's own origin (wrangler dev); production sets it.
  const issuer = new BrokerIssuer({
    store: new D1KeyStore(env.DB),
    keks: sealing,
    publicUrl: env.BROKER_PUBLIC_URL ?? 'http://127.0.0.1:8787',
    now,
    log,
  });
  const minters = buildMinters({ fetch: fetchFn, issuer, secrets: vault, timeoutMs: Number(env.BROKER_UPSTREAM_TIMEOUT_MS ?? 10_000) });
  let rateLimits: RateLimits = {};
  try {
    rateLimits = parseRateLimits(env.BROKER_RATE_LIMITS);
  } catch (err) {
    log({ level: 'error', event: 'broker.refusing_to_serve', problems: [(err as Error).message] });
    return { ok: false, problems: [(err as Error).message] };
  }
  // Audit checkpoints: the chain head signed with the broker's key every 1,000 records or 10 minutes.
  const auditStore = new D1AuditStore(env.DB);
  const checkpoints = new D1CheckpointStore(env.DB);
  const checkpointer = new Checkpointer({ audit: auditStore, checkpoints, signer: issuer, now, log });
  const deps: AppDeps = {
    policy: () => policy,
    jwks: new JwksRegistry({
      fetch: fetchFn,
      now,
      // Authenticated under a key derived from the KEK: a key set planted in KV is not trusted.
      cache: new KvJwksCache(env.JWKS_CACHE, await deriveMacKey(env.BROKER_KEK!, JWKS_CACHE_MAC_PURPOSE)),
      onEvent: (e) => log({ level: e.type === 'fetch_failed' ? 'warn' : 'info', event: `jwks.${e.type}`, ...e }),
    }),
    replay: new DoReplayGuard(env.REPLAY),
    auditor: new Auditor(checkpointer.watch(auditStore)),
    minters,
    revocations: new RevocationVault(new D1RevocationStore(env.DB), sealing),
    issuer,
    ...(rateLimits.client || rateLimits.subject
      ? {
          rateLimiter: new RateLimiter(rateLimits, new DoRateCounter(env.REPLAY), (err) =>
            log({ level: 'warn', event: 'rate_limit.failed', detail: String(err) }),
          ),
        }
      : {}),
    now,
    version: VERSION,
    // Set by Cloudflare's edge for every request; a client cannot forge it through the proxy.
    clientIp: (req) => req.headers.get('cf-connecting-ip'),
    log,
    ...(adminAuth ? { admin: { auth: adminAuth, checkpoints } } : {}),
  };
  log({ level: 'info', event: 'broker.ready', policy_hash: policy.hash, roles: policy.roles.size, version: VERSION });
  return { ok: true, app: createApp(deps), checkpointer };
}

type LoadedKeks = { ok: true; current: Kek; previous: Kek[] } | { ok: false; problems: string[] };

/** Unlike Node there is no data folder for a development KEK: without BROKER_KEK the broker does not serve. */
async function loadKeks(env: WorkerEnv): Promise<LoadedKeks> {
  const problems: string[] = [];
  let current: Kek | undefined;
  if (env.BROKER_KEK === undefined || env.BROKER_KEK.trim() === '') {
    problems.push(
      'BROKER_KEK is not set: run `openssl rand -base64 32 | wrangler secret put BROKER_KEK` ' +
        '(for wrangler dev, put BROKER_KEK=... in .dev.vars)',
    );
  } else {
    // importKek's message never echoes the value.
    current = await importKek(env.BROKER_KEK).catch((e: unknown) => {
      problems.push(`BROKER_KEK is invalid: ${(e as Error).message}`);
      return undefined;
    });
  }
  const previous: Kek[] = [];
  const entries = (env.BROKER_KEK_PREVIOUS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const [i, entry] of entries.entries()) {
    const kek = await importKek(entry).catch((e: unknown) => {
      problems.push(`BROKER_KEK_PREVIOUS entry ${i + 1} is invalid: ${(e as Error).message}`);
      return undefined;
    });
    if (kek && kek.id !== current?.id) previous.push(kek);
  }
  if (!current || problems.length > 0) return { ok: false, problems };
  return { ok: true, current, previous };
}

/** The wire format of createApp's errors, with its headers, for the requests a broken setup refuses. */
function refuse(code: 'ERR_UNAVAILABLE' | 'ERR_INTERNAL', problems: string[], log: Log, now: () => number): Response {
  const requestId = newRequestId(now());
  // Logged per request as well: isolates come and go, and the build-time line is easy to miss.
  log({ level: 'error', event: 'broker.unavailable', request_id: requestId, code, problem: problems[0], problems: problems.length });
  return new Response(JSON.stringify(errorBody(code, requestId)), {
    status: ERROR_STATUS[code],
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-request-id': requestId,
      'x-content-type-options': 'nosniff',
    },
  });
}
