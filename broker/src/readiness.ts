// Whether the broker can do its work, not only whether it runs (that is /healthz): GET /readyz, and the
// KEK check that stops a start with the wrong KEK.
//
// The canary for the KEK is what the store already holds sealed: the broker's signing keys (created at the
// first start, so every store that ever served has one) and the sealed heads of stored secrets. Both carry
// the id of the KEK that sealed them, both are rewrapped by `secret rewrap`, and a signing key only counts
// when its seal opens, so a KEK that opens them is the KEK the data was sealed with. A separate canary row
// would need a table, a store method in every adapter, and its own rewrap, for what these already prove.
import type { Checkpointer } from './audit/checkpointer.ts';
import type { BrokerIssuer } from './issuer/issuer.ts';
import type { LeaseStatus } from './leases.ts';
import type { CompiledPolicy } from './policy/compile.ts';
import type { Kek } from './store/envelope.ts';
import { overdueSecrets } from './store/secrets.ts';
import type { AuditStore, CheckpointStore, KeyStore, ReplayGuard, SecretStore } from './store/ports.ts';

/** Names of the checks, as /readyz reports them. */
export type ReadinessCheck = 'kek' | 'signing_keys' | 'stores' | 'policy' | 'audit_checkpoints' | 'shutting_down' | 'leases';

export interface Readiness {
  ready: boolean;
  checks: Partial<Record<ReadinessCheck, 'ok' | 'failed'>>;
  failing: ReadinessCheck[];
  /**
   * Findings that do not make the broker unready (it still serves correctly): how many stored secrets are
   * past their rotation policy (max_age). A count only: the names go to the log.
   */
  details: { secrets_past_max_age: number; leases_overdue?: number };
}

export interface ReadinessDeps {
  issuer: BrokerIssuer;
  keks: { current: Kek; previous: Kek[] };
  stores: { audit: AuditStore; checkpoints: CheckpointStore; secrets: SecretStore; keys: KeyStore; replay: ReplayGuard };
  policy: () => CompiledPolicy;
  checkpointer: Checkpointer;
  now: () => number;
  log?: (line: Record<string, unknown>) => void;
  /** True once the broker is draining (SIGTERM): a load balancer should send no more. */
  draining?: () => boolean;
  /** The lease sweeper's last status (leases.ts): leases it keeps failing to remove fail the `leases` check. */
  leases?: { status(): Promise<LeaseStatus> };
}

/** A check that does not answer within this long has failed: a probe must not hang on a hung store. */
const CHECK_TIMEOUT_MS = 3_000;

export type KekCheck = { ok: true } | { ok: false; problem: string };

/**
 * Whether the configured KEKs are those the stored data was sealed with. Fails when signing keys are stored,
 * none of them opens and they name a KEK that is not configured, or when a secret head names a KEK that is not configured. A fresh store passes.
 * The message names the KEK by its id (a hash prefix, stored in the clear with every row), never its value.
 */
export async function checkKek(deps: Pick<ReadinessDeps, 'issuer' | 'keks' | 'stores'>, what = 'BROKER_KEK'): Promise<KekCheck> {
  const configured = new Set([deps.keks.current.id, ...deps.keks.previous.map((k) => k.id)]);
  const [health, heads, rows] = await Promise.all([deps.issuer.keyHealth(), deps.stores.secrets.heads(), deps.stores.keys.list()]);
  // A row that names a configured KEK and does not open was tampered with (the signing_keys check reports
  // it); a store whose keys all name other KEKs was sealed with another KEK.
  const keysSealedElsewhere = health.keys === 0 && rows.length > 0 && rows.some((r) => !configured.has(String(r.kek_id)));
  const headsSealedElsewhere = heads.some((h) => !configured.has(h.kek_id));
  if (!keysSealedElsewhere && !headsSealedElsewhere) return { ok: true };
  const sealedWith = [...new Set([...heads.map((h) => h.kek_id), ...rows.map((r) => String(r.kek_id))])].filter(
    (id) => !configured.has(id),
  );
  return {
    ok: false,
    problem:
      `${what} (KEK id ${deps.keks.current.id}) is not the KEK this data was sealed with` +
      (sealedWith.length > 0 ? ` (sealed with KEK id ${sealedWith.join(', ')})` : ' (the stored signing keys do not open under it)') +
      ': set BROKER_KEK to that KEK, or during a rotation keep it in BROKER_KEK_PREVIOUS until `secret-broker secret rewrap` has run',
  };
}

class OverdueLeases extends Error {
  readonly count: number;
  constructor(count: number, message: string) {
    super(message);
    this.count = count;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Runs every check; names the failing ones, and logs why (the response carries names only). */
export function readinessProbe(deps: ReadinessDeps): () => Promise<Readiness> {
  const checks: Record<ReadinessCheck, () => Promise<void>> = {
    async kek() {
      const kek = await checkKek(deps);
      if (!kek.ok) throw new Error(kek.problem);
    },
    async signing_keys() {
      const health = await deps.issuer.keyHealth();
      if (!health.ok) throw new Error(`refused key rows: ${health.problems.map((p) => `${p.kid} (${p.reason})`).join(', ')}`);
      if (health.keys === 0) throw new Error('no usable signing key');
    },
    async stores() {
      const { audit, checkpoints, replay } = deps.stores;
      const nowS = Math.floor(deps.now() / 1000);
      await Promise.all([
        audit.head(),
        checkpoints.list({ limit: 1, descending: true }),
        // A claim of a key no token can have (a jti is never empty), expiring at once.
        replay.claim(`\u0000readyz\u0000${crypto.randomUUID()}`, nowS + 1, nowS),
      ]);
    },
    async policy() {
      const policy = deps.policy();
      if (!/^[0-9a-f]{64}$/.test(policy.hash)) throw new Error('no policy set loaded');
    },
    async audit_checkpoints() {
      const status = deps.checkpointer.status();
      if (!status.ok) throw new Error(`${status.reason}: ${status.detail}`);
    },
    async shutting_down() {
      if (deps.draining?.()) throw new Error('the broker is draining');
    },
    async leases() {
      const status = await deps.leases?.status();
      if (!status || status.overdue.length === 0) return;
      // The login names (not secret) go to the log line; the response carries the check name and a count.
      const named = status.overdue
        .slice(0, 10)
        .map(
          (l) =>
            `${l.id} (${l.kind}, expired ${new Date(l.expires_at * 1000).toISOString()}, ${l.attempts} attempts: ${l.last_error ?? 'not tried yet'})`,
        );
      const more = status.overdue.length > named.length ? ` and ${status.overdue.length - named.length} more` : '';
      throw new OverdueLeases(status.overdue.length, `leases past expiry not removed: ${named.join('; ')}${more}`);
    },
  };
  /**
   * The leases check is listed where the policy set hands out postgres logins, and whenever leases are
   * overdue (a set that dropped the grant may still hold logins to remove).
   */
  const leasesListed = () => [...deps.policy().roles.values()].some((r) => r.role.grants.some((g) => g.type === 'postgres'));
  /** The overdue secrets, or 0 when the store does not answer (the stores check reports that). */
  const pastMaxAge = async (): Promise<number> => {
    try {
      const overdue = overdueSecrets(await withTimeout(deps.stores.secrets.list(), CHECK_TIMEOUT_MS), Math.floor(deps.now() / 1000));
      if (overdue.length > 0)
        deps.log?.({ level: 'warn', event: 'readiness.secret_rotation_overdue', secrets: overdue.map((o) => `${o.name}@${o.version}`) });
      return overdue.length;
    } catch {
      return 0;
    }
  };
  return async () => {
    const overdue = pastMaxAge();
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, run]) => {
        try {
          await withTimeout(run(), CHECK_TIMEOUT_MS);
          return [name as ReadinessCheck, undefined, undefined] as const;
        } catch (err) {
          return [
            name as ReadinessCheck,
            String((err as Error)?.message ?? err),
            err instanceof OverdueLeases ? err.count : undefined,
          ] as const;
        }
      }),
    );
    const leases = results.find(([name]) => name === 'leases');
    const listed = results.filter(([name, problem]) => name !== 'leases' || problem !== undefined || (deps.leases && leasesListed()));
    const failing = listed.filter(([, problem]) => problem !== undefined);
    for (const [check, detail] of failing) deps.log?.({ level: 'warn', event: 'readiness.failed', check, detail });
    const leaseCount = leases?.[2] ?? 0;
    return {
      ready: failing.length === 0,
      checks: Object.fromEntries(listed.map(([name, problem]) => [name, problem === undefined ? 'ok' : 'failed'])),
      failing: failing.map(([name]) => name),
      details: {
        secrets_past_max_age: await overdue,
        ...(listed.some(([name]) => name === 'leases') ? { leases_overdue: leaseCount } : {}),
      },
    };
  };
}
