// One interface for every credential type. A minter turns one grant into one credential for a verified
// caller, bounded by the role's max_ttl, or says why it could not (tagged, with the upstream's own code).
import type { Reason } from '../audit/reasons.ts';
import type { CredentialSummary } from '../audit/record.ts';
import type { CompiledRole } from '../policy/compile.ts';
import type { Claims } from '../policy/match.ts';
import type { Grant } from '../policy/schema.ts';

export interface MintContext {
  role: CompiledRole;
  /** The caller's verified ID token claims. */
  claims: Claims;
  /** The caller's issuer (name in issuers.yaml). */
  issuer: string;
  requestId: string;
  /** Epoch seconds. */
  now: number;
  /** Upper bound on the lifetime of anything minted: the role's max_ttl. */
  maxTtl: number;
}

export type Credential = { type: Grant['type'] } & Record<string, unknown>;

export type MintResult =
  | {
      ok: true;
      credential: Credential;
      /**
       * Every credential of a grant that yields several (a secret store grant: one per exported name);
       * `credential` is then the first of them. Absent for the one-credential grants.
       */
      credentials?: Credential[];
      summary: CredentialSummary;
      /** What the post step's revoke needs (kept sealed until the credential expires); only for revocable types. */
      revocation?: Record<string, string>;
    }
  /** `detail` is the audit record's reason (audit/reasons.ts): a fixed one or one of an upstream's families. */
  | { ok: false; code: 'ERR_UPSTREAM' | 'ERR_UNAVAILABLE'; detail: Reason; upstream_code?: string };

/**
 * A grant that exports several names (a secret store read with picked fields): one credential each, one
 * audit summary for the grant. Minters that hand out one credential keep returning MintResult.
 */
export type MultiMintResult =
  | {
      ok: true;
      credentials: Credential[];
      summary: CredentialSummary;
      revocation?: Record<string, string>;
    }
  | Extract<MintResult, { ok: false }>;

export type RevokeResult = { ok: true } | { ok: false; detail: string; upstream_code?: string };

export interface Minter<G extends Grant = Grant, R extends MintResult | MultiMintResult = MintResult> {
  mint(grant: G, ctx: MintContext): Promise<R>;
  /** Revokes what `mint` handed out, given its `revocation` data. */
  revoke?(revocation: Record<string, string>): Promise<RevokeResult>;
}

export type Minters = { [T in Grant['type']]?: Minter<Extract<Grant, { type: T }>, MintResult | MultiMintResult> };
