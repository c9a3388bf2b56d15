// The Workers fetch handler: builds the same dependencies as the Node entry (broker/entry/node.ts) from the
// Worker's bindings, once per isolate and lazily on the first request (bindings only exist inside a request,
// and workerd forbids I/O at global scope). If the bundled policy does not load, or BROKER_KEK or a binding
// is missing, the broker fails closed: every request answers 503 ERR_UNAVAILABLE and the problems are logged.
import type { D1Database, DurableObjectNamespace, ExecutionContext, KVNamespace } from '@cloudflare/workers-types';
import type { Checkpointer } from '../../src/audit/checkpointer.ts';
import type { LeaseSweeper } from '../../src/leases.ts';
import type { PostgresDriver } from '../../src/mint/postgres.ts';
import { composeBroker, type Broker, type Log } from '../../src/compose.ts';
import { ERROR_STATUS, errorBody } from '../../src/errors.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { loadPolicy, type PolicyFile } from '../../src/policy/load.ts';
import { parseSettings, type Settings } from '../../src/settings.ts';
import type { Kek } from '../../src/store/envelope.ts';
import { importNamedKek, importPreviousKeks } from '../../src/store/keks.ts';
import { deriveMacKey, JWKS_CACHE_MAC_PURPOSE } from '../../src/store/subkeys.ts';
import { newRequestId } from '../../src/util/ids.ts';
import { VERSION } from '../../src/version.ts';
import { D1AuditStore, D1CheckpointStore, D1LeaseStore, D1SecretStore } from './d1.ts';
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
  /** Sign an audit checkpoint at least every N records [1000] and every interval [10m], as on Node. */
  BROKER_AUDIT_CHECKPOINT_RECORDS?: string;
  BROKER_AUDIT_CHECKPOINT_INTERVAL?: string;
}

export type { Log };

export interface WorkerHandlerOptions {
  log?: Log;
  now?: () => number;
  /**
   * The `postgres` grant: postgres.js's Workers build (TCP through cloudflare:sockets), passed by the entry
   * that bundles it (broker/entry/worker-postgres.ts, which needs nodejs_compat). Leases go to D1.
   */
  postgres?: PostgresDriver;
}

type Built = { ok: true; app: Broker['app']; checkpointer: Checkpointer; sweeper?: LeaseSweeper } | { ok: false; problems: string[] };

/** JSON lines on the console: what Workers Logs index. */
const consoleLog: Log = (line) => (line.level === 'error' ? console.error : console.log)(JSON.stringify(line));

export function createWorkerHandler(files: PolicyFile[], options: WorkerHandlerOptions = {}) {
  const log = options.log ?? consoleLog;
  const now = options.now ?? Date.now;
  // Module-scope cache for this isolate. A refusal is cached too: bundled policy and secrets do not change
  // without a new deployment, which starts new isolates. A thrown error (a bug) is not cached.
  let built: Promise<Built> | undefined;

  const build = (env: WorkerEnv): Promise<Built> =>
    (built ??= buildBroker(env, files, log, now, options.postgres).catch((error: unknown) => {
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
     * the cron makes sure the head is signed at least every interval. With the postgres grant it also
     * sweeps the due leases (run the cron every minute then: the expiry is honoured within one).
     */
    async scheduled(_controller: unknown, env: WorkerEnv, ctx: ExecutionContext): Promise<void> {
      const broker = await build(env);
      if (!broker.ok) return;
      ctx.waitUntil(broker.checkpointer.tick());
      const sweeper = broker.sweeper;
      if (sweeper)
        ctx.waitUntil(
          sweeper.sweep().then(
            () => {},
            (err: unknown) => log({ level: 'error', event: 'lease.sweep_failed', detail: String((err as Error)?.message ?? err) }),
          ),
        );
    },
  };
}

/** The Workers platform: D1, the replay Durable Objects, KV, and the edge's client address. */
export async function buildBroker(
  env: WorkerEnv,
  files: PolicyFile[],
  log: Log,
  now: () => number,
  postgres?: PostgresDriver,
): Promise<Built> {
  const problems: string[] = [];

  const loaded = await loadPolicy(files);
  if (!loaded.ok) problems.push(...loaded.problems.map((p) => `policy ${p.file}:${p.line}:${p.column}: ${p.message}`));

  // Bindings are strings or objects; only the strings are settings.
  const parsed = parseSettings(env as unknown as Record<string, string | undefined>);
  if (!parsed.ok) problems.push(...parsed.problems);
  const keks = parsed.ok ? await loadKeks(parsed.settings) : undefined;
  if (keks && !keks.ok) problems.push(...keks.problems);

  for (const binding of ['DB', 'JWKS_CACHE', 'REPLAY'] as const) {
    if (!env[binding]) problems.push(`binding ${binding} is missing: declare it in wrangler.toml`);
  }
  if (!loaded.ok || !parsed.ok || !keks?.ok || problems.length > 0) return refuseToServe(problems, log);

  const policy = compilePolicy(loaded.policy);
  let broker: Broker;
  try {
    broker = composeBroker(
      {
        stores: {
          replay: new DoReplayGuard(env.REPLAY),
          audit: new D1AuditStore(env.DB),
          checkpoints: new D1CheckpointStore(env.DB),
          secrets: new D1SecretStore(env.DB),
          keys: new D1KeyStore(env.DB),
          revocations: new D1RevocationStore(env.DB),
          rateCounter: new DoRateCounter(env.REPLAY),
          // Authenticated under a key derived from the KEK: a key set planted in KV is not trusted.
          jwksCache: new KvJwksCache(env.JWKS_CACHE, await deriveMacKey(parsed.settings.kek!, JWKS_CACHE_MAC_PURPOSE)),
        },
        keks: keks.keks,
        // Called as a plain function: workerd's fetch throws "Illegal invocation" when called as a method.
        fetch: (input, init) => fetch(input, init),
        now,
        log,
        // Set by Cloudflare's edge for every request; a client cannot forge it through the proxy.
        clientIp: (req) => req.headers.get('cf-connecting-ip'),
        // A socket belongs to the request that opened it: one client per mint or removal, no shared pool.
        ...(postgres ? { postgres: { driver: postgres, leases: new D1LeaseStore(env.DB), clientPerOperation: true } } : {}),
      },
      parsed.settings,
      () => policy,
    );
  } catch (error) {
    // A misconfigured admin credential (weak token, half an Access setup) refuses to serve, like on Node.
    return refuseToServe([`admin access: ${(error as Error).message}`], log);
  }
  // A KEK other than the one the data was sealed with serves nothing (as on Node, where it stops the start).
  const kek = await broker.checkKek();
  if (!kek.ok) return refuseToServe([kek.problem], log);
  log({ level: 'info', event: 'broker.ready', policy_hash: policy.hash, roles: policy.roles.size, version: VERSION });
  return { ok: true, app: broker.app, checkpointer: broker.checkpointer, ...(broker.leases ? { sweeper: broker.leases.sweeper } : {}) };
}

function refuseToServe(problems: string[], log: Log): Built {
  log({ level: 'error', event: 'broker.refusing_to_serve', problems });
  return { ok: false, problems };
}

type LoadedKeks = { ok: true; keks: { current: Kek; previous: Kek[] } } | { ok: false; problems: string[] };

/** Unlike Node there is no data folder for a development KEK: without BROKER_KEK the broker does not serve. */
async function loadKeks(settings: Settings): Promise<LoadedKeks> {
  if (settings.kek === undefined) {
    return {
      ok: false,
      problems: [
        'BROKER_KEK is not set: run `openssl rand -base64 32 | wrangler secret put BROKER_KEK` ' +
          '(for wrangler dev, put BROKER_KEK=... in .dev.vars)',
      ],
    };
  }
  try {
    const current = await importNamedKek(settings.kek, 'BROKER_KEK');
    return { ok: true, keks: { current, previous: await importPreviousKeks(settings.previousKeks, current) } };
  } catch (error) {
    return { ok: false, problems: [(error as Error).message] };
  }
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
