// What the broker counts and times, as one port: the Node entry implements it with prom-client
// (entry/node/metrics.ts) and serves it on GET /metrics; Workers have none (no nodejs_compat, and a
// counter per isolate would say little), and use the request log lines instead. Every label is bounded:
// a role is a role of the loaded policy set or "_other" (never the name a caller sent), a code an error
// code, an issuer a name from issuers.yaml, a grant type one of the schema's.
import type { AuditRecord } from './audit/record.ts';
import type { CompiledPolicy } from './policy/compile.ts';

/**
 * Where an exchange's time went, in seconds, for the stages it reached: verify (token hash, signature and
 * claims), replay (the jti claim), policy (the decision), mint (every grant), audit_queue (waiting for the
 * group write ahead of its own) and audit_write (its group's write up to durable). What the sum leaves of
 * the exchange's time is the rest: parsing, the per-client limit, the answer.
 */
export const EXCHANGE_STAGES = ['verify', 'replay', 'policy', 'mint', 'audit_queue', 'audit_write'] as const;
export type ExchangeStage = (typeof EXCHANGE_STAGES)[number];
export type StageTimes = Partial<Record<ExchangeStage, number>>;

export interface BrokerMetrics {
  /** One exchange as the caller saw it, with its wall time in seconds, and the time of each stage it reached. */
  exchange(outcome: { decision: AuditRecord['decision']; code: string; role: string }, seconds: number, stages?: StageTimes): void;
  /** One grant minted (or refused) by its minter. */
  mint(type: string, seconds: number, ok: boolean): void;
  /** One JWKS fetch of a token issuer. */
  jwksFetch(issuer: string, ok: boolean): void;
  /** One write to the audit store. */
  auditWrite(seconds: number, ok: boolean): void;
  /** A replay claim the store could not answer. */
  replayFailure(): void;
  /** A policy reload (SIGHUP, --watch), and whether the new set was taken. */
  policyReload(ok: boolean): void;
  /** One attempt of the lease sweeper (or a revoke) to remove an upstream login, by lease kind. */
  leaseRemoval(kind: string, ok: boolean): void;
  /** Leases past their expiry that the sweeper has not removed (refreshed after each sweep). */
  leasesOverdue(count: number): void;
  /** The set now in force (build info carries its hash). */
  policyLoaded(policy: CompiledPolicy): void;
  /** The Prometheus text exposition. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** The role label: a role of the set in force, or "_other" (ROLE_NAME never starts with "_"). */
export function roleLabel(role: string | null, policy: CompiledPolicy): string {
  return role !== null && policy.roles.has(role) ? role : '_other';
}
