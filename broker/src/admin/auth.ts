// Who may read the audit log: the holder of BROKER_ADMIN_TOKEN (Authorization: Bearer), or on Workers
// optionally a user that Cloudflare Access let through (Cf-Access-Jwt-Assertion, checked with jose).
// The token is compared as SHA-256 digests in constant time, so neither its content nor its length leaks
// through timing. Without any admin credential configured there is no admin surface at all (404).
import type { Reason } from '../audit/reasons.ts';
import { sha256Hex, timingSafeEqual } from '../util/encoding.ts';
import type { AccessVerifier } from './access.ts';

export interface AdminIdentity {
  /** For the audit record: how the admin authenticated ("admin-token", or the Access team domain). */
  issuer: string;
  /** For the audit record: who ("admin-token:<fingerprint>", or the Access user's email). */
  subject: string;
}

export type AdminAuthResult = { ok: true; identity: AdminIdentity } | { ok: false; detail: Reason };

export interface AdminAuthenticator {
  authenticate(req: Request): Promise<AdminAuthResult>;
}

/** Admin tokens shorter than this are refused at start-up: the token is the only thing guarding the log. */
export const MIN_ADMIN_TOKEN_LENGTH = 24;

export interface AdminAuthOptions {
  token?: string | undefined;
  access?: AccessVerifier | undefined;
}

/** undefined when nothing is configured: the admin routes then do not exist. Throws on a weak token. */
export function createAdminAuth(opts: AdminAuthOptions): AdminAuthenticator | undefined {
  const token = opts.token?.trim() ? opts.token : undefined;
  if (!token && !opts.access) return undefined;
  if (token !== undefined && (token.length < MIN_ADMIN_TOKEN_LENGTH || /\s/.test(token))) {
    throw new Error(
      `BROKER_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters without spaces (e.g. openssl rand -base64 32)`,
    );
  }
  const expected = token === undefined ? undefined : sha256Hex(token);
  const access = opts.access;
  return {
    async authenticate(req) {
      const authorization = req.headers.get('authorization');
      const assertion = req.headers.get('cf-access-jwt-assertion');
      if (authorization !== null) {
        if (!expected) return { ok: false, detail: 'admin.token_not_configured' };
        const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization);
        if (!m) return { ok: false, detail: 'admin.authorization_malformed' };
        const want = await expected;
        if (!timingSafeEqual(want, await sha256Hex(m[1]!))) return { ok: false, detail: 'admin.token_wrong' };
        return { ok: true, identity: { issuer: 'admin-token', subject: `admin-token:${want.slice(0, 8)}` } };
      }
      if (assertion !== null && access) {
        const verified = await access.verify(assertion);
        if (!verified.ok) return { ok: false, detail: `admin.access_${verified.detail}` };
        return { ok: true, identity: { issuer: verified.issuer, subject: verified.subject } };
      }
      return { ok: false, detail: 'admin.credentials_missing' };
    },
  };
}
