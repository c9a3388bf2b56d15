// The broker's settings, read from the environment in one place for both runtimes (Node's process.env, the
// Worker's bindings) and the CLI. Every problem is collected, with the setting's name and never its value,
// so a misconfigured deployment is told everything that is wrong at once; nothing falls back silently.
import { parseRetention } from './audit/retention.ts';
import { parseRateLimits, type RateLimits } from './ratelimit.ts';
import { parseDuration } from './util/duration.ts';

/** Where the broker says it lives when BROKER_PUBLIC_URL is unset (local development). */
export const DEFAULT_PUBLIC_URL = 'http://127.0.0.1:8787';

/** BROKER_METRICS_TOKEN is refused below this length (as BROKER_ADMIN_TOKEN is). */
export const MIN_METRICS_TOKEN_LENGTH = 24;

export type Env = Readonly<Record<string, string | undefined>>;

export interface Settings {
  /** BROKER_PUBLIC_URL: `iss` of broker tokens and the audience CI jobs ask for. */
  publicUrl: string;
  /** True when BROKER_PUBLIC_URL was set (Node then never replaces it with the address listened on). */
  publicUrlSet: boolean;
  /** BROKER_KEK, as given (base64); undefined when unset. Imported by the entry (store/envelope.ts). */
  kek: string | undefined;
  /** BROKER_KEK_PREVIOUS, split: old KEKs still accepted for reading during a rotation. */
  previousKeks: string[];
  /** BROKER_UPSTREAM_TIMEOUT_MS: deadline of each cloud or GitHub call. */
  upstreamTimeoutMs: number;
  /** BROKER_RATE_LIMITS, parsed; empty means no limits. */
  rateLimits: RateLimits;
  /**
   * BROKER_MAX_CLIENT_CONNECTIONS (Node): open sockets per client address. Sockets, not requests: fetch
   * (undici) at 50 requests in flight was seen holding up to 99 sockets to the broker.
   */
  maxClientConnections: number;
  /**
   * BROKER_TRUSTED_PROXIES (Node): CIDR blocks of the reverse proxies in front of the broker, as given. Only
   * for a socket peer inside them is X-Forwarded-For read (entry/node/client-address.ts parses and checks
   * them). Empty: the socket address is the client.
   */
  trustedProxies: string[];
  /** BROKER_SHUTDOWN_GRACE (Node): how long in-flight requests may run after SIGTERM before they get 503. */
  shutdownGraceMs: number;
  /** BROKER_METRICS_TOKEN: when set, GET /metrics wants `Authorization: Bearer <it>`. */
  metricsToken: string | undefined;
  audit: {
    /** BROKER_AUDIT_CHECKPOINT_RECORDS: sign the head at least every N records. */
    checkpointEveryRecords: number;
    /** BROKER_AUDIT_CHECKPOINT_INTERVAL: and at least this often. */
    checkpointIntervalMs: number;
    /** BROKER_AUDIT_RETENTION: records older than this are pruned behind a signed prune point. */
    retentionMs: number | undefined;
  };
  /** Node: every store in PostgreSQL instead of node:sqlite in the data folder (several replicas, one database). */
  database: {
    /** BROKER_DATABASE_URL (postgres://...); undefined means node:sqlite. */
    url: string | undefined;
    /** BROKER_DATABASE_POOL_SIZE: connections per broker process. */
    poolSize: number;
    /** BROKER_DATABASE_STATEMENT_TIMEOUT_MS: the deadline of every query. */
    statementTimeoutMs: number;
  };
  admin: {
    /** BROKER_ADMIN_TOKEN: the bearer token of /v1/audit and /admin/. */
    token: string | undefined;
    /** BROKER_ACCESS_TEAM_DOMAIN and BROKER_ACCESS_AUD: Cloudflare Access in front of the admin routes. */
    accessTeamDomain: string | undefined;
    accessAudience: string | undefined;
  };
  /** BROKER_ALERT_WEBHOOK: where alerts are posted (https; http only on loopback, for tests). */
  alertWebhook: string | undefined;
}

export type ParsedSettings = { ok: true; settings: Settings } | { ok: false; problems: string[] };

/** The value of a setting, or undefined when it is unset or blank. */
function read(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

/** A comma-separated list: entries trimmed, empty entries dropped. */
export function splitList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function parseSettings(env: Env): ParsedSettings {
  const problems: string[] = [];

  /** A setting parsed by `parse`; unset means `fallback`; a value `parse` refuses is a problem. */
  function setting<T>(name: string, fallback: T, parse: (v: string) => T | undefined, expected: string): T {
    const raw = read(env, name);
    if (raw === undefined) return fallback;
    const value = parse(raw);
    if (value === undefined) {
      problems.push(`${name}="${raw}" is not valid: expected ${expected}`);
      return fallback;
    }
    return value;
  }

  const count = (v: string) => (/^[1-9]\d{0,8}$/.test(v) ? Number(v) : undefined);
  const milliseconds = (v: string) => {
    const seconds = parseDuration(v);
    return seconds === undefined ? undefined : seconds * 1000;
  };

  const publicUrlRaw = read(env, 'BROKER_PUBLIC_URL');
  const publicUrl = setting(
    'BROKER_PUBLIC_URL',
    DEFAULT_PUBLIC_URL,
    (v) => (URL.canParse(v) && /^https?:$/.test(new URL(v).protocol) ? v : undefined),
    'an http(s) URL such as https://broker.example.com',
  );

  // A webhook URL carries its own secret (Slack's path): https only, so that it never crosses a network in clear.
  const alertWebhook = setting(
    'BROKER_ALERT_WEBHOOK',
    undefined as string | undefined,
    (v) => {
      if (!URL.canParse(v)) return undefined;
      const u = new URL(v);
      return u.protocol === 'https:' || (u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname))
        ? v
        : undefined;
    },
    'an https:// URL (a Slack-compatible incoming webhook)',
  );

  const kek = env.BROKER_KEK;
  if (kek !== undefined && kek.trim() === '') {
    problems.push('BROKER_KEK is set but empty: set it to 32 random bytes in base64 (openssl rand -base64 32)');
  }

  let rateLimits: RateLimits = {};
  try {
    rateLimits = parseRateLimits(env.BROKER_RATE_LIMITS);
  } catch (error) {
    problems.push((error as Error).message);
  }

  const retention = parseRetention(env.BROKER_AUDIT_RETENTION);
  if (retention === 'invalid')
    problems.push(`BROKER_AUDIT_RETENTION="${env.BROKER_AUDIT_RETENTION}" must be a duration of at least 1d, such as 90d`);

  // Never echoed: the URL may carry the database password.
  const databaseUrl = read(env, 'BROKER_DATABASE_URL');
  if (databaseUrl !== undefined && !(URL.canParse(databaseUrl) && /^postgres(ql)?:$/.test(new URL(databaseUrl).protocol))) {
    problems.push('BROKER_DATABASE_URL is not valid: expected a postgres:// URL such as postgres://broker@db.internal:5432/broker');
  }

  // The token is the only thing guarding the metrics when set: as strong as the admin token must be.
  const metricsToken = read(env, 'BROKER_METRICS_TOKEN');
  if (metricsToken !== undefined && (metricsToken.length < MIN_METRICS_TOKEN_LENGTH || /\s/.test(metricsToken))) {
    problems.push(
      `BROKER_METRICS_TOKEN must be at least ${MIN_METRICS_TOKEN_LENGTH} characters without spaces (e.g. openssl rand -base64 32)`,
    );
  }

  const settings: Settings = {
    publicUrl,
    publicUrlSet: publicUrlRaw !== undefined,
    kek: kek === undefined || kek.trim() === '' ? undefined : kek.trim(),
    previousKeks: splitList(env.BROKER_KEK_PREVIOUS),
    upstreamTimeoutMs: setting('BROKER_UPSTREAM_TIMEOUT_MS', 10_000, count, 'a whole number of milliseconds, such as 10000'),
    rateLimits,
    maxClientConnections: setting(
      'BROKER_MAX_CLIENT_CONNECTIONS',
      256,
      (v) => (/^[1-9]\d{0,5}$/.test(v) ? Number(v) : undefined),
      'a whole number of sockets, such as 256',
    ),
    trustedProxies: splitList(env.BROKER_TRUSTED_PROXIES),
    shutdownGraceMs: setting('BROKER_SHUTDOWN_GRACE', 25_000, milliseconds, 'a duration such as 25s'),
    metricsToken,
    audit: {
      checkpointEveryRecords: setting('BROKER_AUDIT_CHECKPOINT_RECORDS', 1000, count, 'a whole number of records, such as 1000'),
      checkpointIntervalMs: setting('BROKER_AUDIT_CHECKPOINT_INTERVAL', 600_000, milliseconds, 'a duration such as 10m'),
      retentionMs: retention === 'invalid' ? undefined : retention,
    },
    database: {
      url: databaseUrl,
      poolSize: setting(
        'BROKER_DATABASE_POOL_SIZE',
        10,
        (v) => (/^[1-9]\d{0,3}$/.test(v) ? Number(v) : undefined),
        'a whole number of connections, such as 10',
      ),
      statementTimeoutMs: setting('BROKER_DATABASE_STATEMENT_TIMEOUT_MS', 5000, count, 'a whole number of milliseconds, such as 5000'),
    },
    admin: {
      // As given: the admin module judges its strength and refuses a weak one.
      token: env.BROKER_ADMIN_TOKEN,
      accessTeamDomain: read(env, 'BROKER_ACCESS_TEAM_DOMAIN'),
      accessAudience: read(env, 'BROKER_ACCESS_AUD'),
    },
    alertWebhook,
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, settings };
}
