// The one composition root. A runtime entry (broker/entry/node.ts, broker/entry/workers/handler.ts) builds
// the adapters its platform offers and hands them over as a Platform, with the settings (settings.ts) and
// the compiled policy; everything the broker is made of is wired here, once, the same way on both runtimes.
import { Alerter } from './alerts/alerter.ts';
import { createAccessVerifier } from './admin/access.ts';
import { createAdminAuth } from './admin/auth.ts';
import { SealKeyring } from './admin/seal-key.ts';
import { createApp, type AppDeps } from './app.ts';
import { Auditor } from './audit/auditor.ts';
import { Checkpointer } from './audit/checkpointer.ts';
import { BrokerIssuer } from './issuer/issuer.ts';
import type { BrokerMetrics } from './metrics.ts';
import { type LeaseRemover, LeaseSweeper } from './leases.ts';
import { buildMinters } from './mint/index.ts';
import { createPostgresLeases, type PostgresDriver } from './mint/postgres.ts';
import { JwksRegistry } from './oidc/jwks.ts';
import type { CompiledPolicy } from './policy/compile.ts';
import { RateLimiter } from './ratelimit.ts';
import { checkKek, type KekCheck, readinessProbe } from './readiness.ts';
import type { Settings } from './settings.ts';
import type { Kek } from './store/envelope.ts';
import type {
  AuditStore,
  CheckpointStore,
  JwksCache,
  KeyStore,
  LeaseStore,
  RateCounter,
  ReplayGuard,
  RevocationStore,
  SecretStore,
} from './store/ports.ts';
import { RevocationVault } from './store/revocations.ts';
import { SecretVault } from './store/secrets.ts';
import type { Sha256Hex } from './util/digest.ts';
import { VERSION } from './version.ts';

export type Log = (line: Record<string, unknown>) => void;
export type FetchFn = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/** What a runtime must provide: its storage adapters, key material, network, clock and log. */
export interface Platform {
  stores: {
    replay: ReplayGuard;
    audit: AuditStore;
    checkpoints: CheckpointStore;
    secrets: SecretStore;
    keys: KeyStore;
    revocations: RevocationStore;
    rateCounter: RateCounter;
    /** The last good JWKS per issuer, shared across processes where the platform has such a store. */
    jwksCache?: JwksCache;
  };
  /** The key-encryption keys: `current` seals, `previous` still open (during a KEK rotation). */
  keks: { current: Kek; previous: Kek[] };
  fetch: FetchFn;
  /** Epoch milliseconds. */
  now: () => number;
  log: Log;
  /** The caller's address as the platform reports it. */
  clientIp: AppDeps['clientIp'];
  /** Where the platform keeps metrics (Node: prom-client); without it GET /metrics is 404. */
  metrics?: BrokerMetrics;
  /** A synchronous SHA-256 for the hot paths (util/digest.ts); WebCrypto's when absent. */
  sha256Hex?: Sha256Hex;
  /**
   * The `postgres` grant: a driver and the lease store its logins are kept in (Node; on Workers only with the
   * worker-postgres entry). clientPerOperation: no pool shared across requests (Workers).
   */
  postgres?: { driver: PostgresDriver; leases: LeaseStore; clientPerOperation?: boolean };
}

export interface Broker {
  app: ReturnType<typeof createApp>;
  deps: AppDeps;
  vault: SecretVault;
  issuer: BrokerIssuer;
  checkpointer: Checkpointer;
  checkpoints: CheckpointStore;
  /** Whether the configured KEKs are those the stored data was sealed with (entries refuse to start otherwise). */
  checkKek(): Promise<KekCheck>;
  /** Set by the entry while it drains (SIGTERM): /readyz then fails `shutting_down`. */
  lifecycle: { draining: boolean };
  /** With BROKER_ALERT_WEBHOOK. */
  alerter?: Alerter;
  /** Removes expired PostgreSQL logins; the entry runs sweep() on a timer. Absent without platform.postgres. */
  leases?: { sweeper: LeaseSweeper; close(): Promise<void> };
}

/** Every log line carries its time (ISO 8601, milliseconds), first. */
export function stamped(log: Log, now: () => number): Log {
  return (line) => log({ time: new Date(now()).toISOString(), ...line });
}

/** The replay guard, counting the claims its store could not answer. */
function countedReplay(replay: ReplayGuard, metrics: BrokerMetrics): ReplayGuard {
  return {
    claim: (key, expiresAt, now) =>
      replay.claim(key, expiresAt, now).catch((err: unknown) => {
        metrics.replayFailure();
        throw err;
      }),
    claimReuse: (key, tokenSha256, expiresAt, now) =>
      replay.claimReuse(key, tokenSha256, expiresAt, now).catch((err: unknown) => {
        metrics.replayFailure();
        throw err;
      }),
  };
}

/**
 * Wires the broker. Throws on a setting that cannot be honoured (a weak admin token, half an Access
 * configuration), so that the entry refuses to serve with the reason.
 */
export function composeBroker(platform: Platform, settings: Settings, policy: () => CompiledPolicy): Broker {
  const { stores, keks, now, metrics } = platform;
  // BROKER_ALERT_WEBHOOK: told of every audit append and of the checkpointer's failures (through the log).
  const alerter = settings.alertWebhook
    ? new Alerter({ webhook: settings.alertWebhook, fetch: platform.fetch, now, log: platform.log, policyHash: () => policy().hash })
    : undefined;
  const log = stamped(alerter ? alerter.watchLog(platform.log) : platform.log, now);
  const lifecycle = { draining: false };
  const { accessTeamDomain, accessAudience } = settings.admin;
  const access =
    accessTeamDomain || accessAudience
      ? createAccessVerifier({ teamDomain: accessTeamDomain ?? '', audience: accessAudience ?? '', fetch: platform.fetch, now })
      : undefined;
  const auth = createAdminAuth({ token: settings.admin.token, access });

  const vault = new SecretVault(stores.secrets, keks);
  const issuer = new BrokerIssuer({ store: stores.keys, keks, publicUrl: settings.publicUrl, now, log });
  // Audit checkpoints: the chain head signed with the broker's key every N records or M minutes.
  const checkpointer = new Checkpointer({
    audit: stores.audit,
    checkpoints: stores.checkpoints,
    signer: issuer,
    now,
    log,
    everyRecords: settings.audit.checkpointEveryRecords,
    intervalMs: settings.audit.checkpointIntervalMs,
  });
  const { rateLimits } = settings;
  const removers: Record<string, LeaseRemover> = {};
  const sweeper = platform.postgres
    ? new LeaseSweeper({
        store: platform.postgres.leases,
        removers,
        now,
        log,
        ...(metrics
          ? {
              removal: (kind: string, ok: boolean) => metrics.leaseRemoval(kind, ok),
              overdueChanged: (n: number) => metrics.leasesOverdue(n),
            }
          : {}),
      })
    : undefined;
  const pg =
    platform.postgres && sweeper
      ? createPostgresLeases({
          driver: platform.postgres.driver,
          leases: platform.postgres.leases,
          sweeper,
          secrets: vault,
          timeoutMs: settings.upstreamTimeoutMs,
          ...(platform.postgres.clientPerOperation ? { clientPerOperation: true } : {}),
        })
      : undefined;
  if (pg) removers.postgres = pg.remover;
  const deps: AppDeps = {
    policy,
    jwks: new JwksRegistry({
      fetch: platform.fetch,
      now,
      ...(stores.jwksCache ? { cache: stores.jwksCache } : {}),
      onEvent: (e) => {
        if (e.type !== 'cache_fallback') metrics?.jwksFetch(e.issuer, e.type === 'fetched');
        log({ level: e.type === 'fetch_failed' ? 'warn' : 'info', event: `jwks.${e.type}`, ...e });
      },
    }),
    replay: metrics ? countedReplay(stores.replay, metrics) : stores.replay,
    auditor: new Auditor(
      checkpointer.watch(stores.audit),
      {
        appended: (record, entry) => alerter?.appended(record, entry),
        failed: (record, error) => alerter?.failed(record, error),
        written: (seconds, ok) => metrics?.auditWrite(seconds, ok),
      },
      platform.sha256Hex,
    ),
    minters: buildMinters(
      { fetch: platform.fetch, issuer, secrets: vault, timeoutMs: settings.upstreamTimeoutMs },
      pg ? { postgres: pg.minter } : {},
    ),
    revocations: new RevocationVault(stores.revocations, keks),
    issuer,
    // Opt-in (BROKER_RATE_LIMITS, e.g. client=600/1m,subject=60/1m).
    ...(rateLimits.client || rateLimits.subject
      ? {
          rateLimiter: new RateLimiter(rateLimits, stores.rateCounter, (err) =>
            log({ level: 'warn', event: 'rate_limit.failed', detail: String(err) }),
          ),
        }
      : {}),
    now,
    ...(platform.sha256Hex ? { sha256Hex: platform.sha256Hex } : {}),
    version: VERSION,
    clientIp: platform.clientIp,
    log,
    ...(auth
      ? {
          admin: {
            auth,
            checkpoints: stores.checkpoints,
            manage: { auth, vault, issuer, checkpoints: stores.checkpoints, checkpointer, sealKeys: new SealKeyring(vault, now) },
          },
        }
      : {}),
    readiness: readinessProbe({
      issuer,
      keks,
      stores,
      policy,
      checkpointer,
      now,
      log,
      draining: () => lifecycle.draining,
      ...(sweeper ? { leases: sweeper } : {}),
    }),
    ...(metrics ? { metrics, metricsToken: settings.metricsToken } : {}),
  };
  metrics?.policyLoaded(policy());
  alerter?.attach((record) => deps.auditor.append(record), stores.audit);
  return {
    app: createApp(deps),
    deps,
    vault,
    issuer,
    checkpointer,
    checkpoints: stores.checkpoints,
    checkKek: () => checkKek({ issuer, keks, stores }),
    lifecycle,
    ...(alerter ? { alerter } : {}),
    ...(sweeper && pg ? { leases: { sweeper, close: pg.close } } : {}),
  };
}
