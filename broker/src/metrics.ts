// What the broker counts and times, as one port: the Node entry implements it with prom-client
// (entry/node/metrics.ts) and serves it on GET /metrics; Workers have none (no nodejs_compat, and a
// counter per isolate would say little), and use the request log lines instead. Every label is bounded:
// a role is a role of the loaded policy set or "_other" (never the name a caller sent), a code an error
// code, an issuer a name from issuers.yaml, a grant type one of the schema's.
import type { AuditRecord } from './audit/record.ts';
import type { CompiledPolicy } from './policy/compile.ts';

export interface BrokerMetrics {
  /** One exchange as the caller saw it, with its wall time in seconds. */
  exchange(outcome: { decision: AuditRecord['decision']; code: string; role: string }, seconds: number): void;
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
