// What one audit record holds (docs/SECURITY.md "Audit"): who asked, for what, what was decided and why, and
// what was handed out (type, target, expiry: never a value, never the token).
import { type Claims, claimValue } from '../policy/match.ts';
import { claimLocation } from '../policy/schema.ts';
import { IDENTITY_KEYS } from './identity-keys.ts';

export type AuditDecision = 'allow' | 'deny' | 'error';

export interface CredentialSummary {
  type: string;
  target: string;
  expires_at?: string;
}

export interface AuditRecord {
  time: string;
  request_id: string;
  action: 'exchange' | 'revoke' | 'admin_query' | 'audit_prune' | 'alert' | 'admin';
  decision: AuditDecision;
  /** The ERR_* code (or OK) and the precise internal reason. */
  code: string;
  reason: string;
  status: number;
  role: string | null;
  issuer: string | null;
  subject: string | null;
  identity: Record<string, string | number | boolean | null>;
  jti: string | null;
  token_sha256: string | null;
  /** Only for an issuer with `replay: reuse`: which use of this token the request was (1 for the first). */
  token_uses?: number;
  client_ip: string | null;
  user_agent: string | null;
  credentials: CredentialSummary[];
  policy_hash: string;
  policy_trace?: { matched: string | null; failed: string[] };
  /** For exchange records: the `grants` subset the caller asked for (types or env names), when it asked. */
  requested_grants?: string[];
  upstream?: { type: string; code: string } | undefined;
  /** For revoke records: the exchange whose credentials were revoked. */
  target_request_id?: string;
  /** For admin_query records: the filters asked for; for audit_prune records: what was pruned; for alert records: what was said. */
  query?: Record<string, string>;
}

/**
 * Every identity key's location (a top-level claim, or a pointer's tokens, split once), in canonical key
 * order: the identity is then written into the audit chain by one JSON.stringify (util/encoding.ts).
 */
const IDENTITY_LOCATIONS = [...IDENTITY_KEYS].sort().map(claimLocation);

export function identityOf(claims: Claims): AuditRecord['identity'] {
  const out: AuditRecord['identity'] = {};
  for (const location of IDENTITY_LOCATIONS) {
    const v = claimValue(claims, location);
    if (typeof v === 'string') out[location.claim] = v.length > 512 ? v.slice(0, 512) : v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[location.claim] = v;
  }
  return out;
}
