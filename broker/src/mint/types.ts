// One interface for every credential type. A minter turns one grant into one credential for a verified
// caller, bounded by the role's max_ttl, or says why it could not (tagged, with the upstream's own code).
import type { CredentialSummary } from '../audit/record.ts';
import type { CompiledRole } from '../policy/compile.ts';
import type { Claims } from '../policy/match.ts';
import type { Grant } from '../policy/schema.ts';

export interface MintContext {
  role: CompiledRole;
  claims: Claims;
  issuer: string;
  requestId: string;
  /** Epoch seconds. */
  now: number;
  /** Upper bound on the lifetime of anything minted: the role's max_ttl. */
  maxTtl: number;
}

export type Credential = { type: Grant['type'] } & Record<string, unknown>;

export type MintResult =
  | { ok: true; credential: Credential; summary: CredentialSummary }
  | { ok: false; code: 'ERR_UPSTREAM' | 'ERR_UNAVAILABLE'; detail: string; upstream_code?: string };

export interface Minter<G extends Grant = Grant> {
  mint(grant: G, ctx: MintContext): Promise<MintResult>;
}

export type Minters = { [T in Grant['type']]?: Minter<Extract<Grant, { type: T }>> };
