// ID token verification (RFC 8725): shape and size first, then the allowlisted issuer named by `iss`, then
// jose with that issuer's pinned algorithms, exact issuer and single audience, required claims, a 30 s
// clock tolerance, a maximum token age, and a cap on exp - iat. Stricter than RFC 7519 where it leaves
// room for two readings of one token: a `typ` other than exactly "JWT", and repeated member names in the
// header or the claims, are refused.
import { base64url, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { type FixedReason, type Reason, REASONS } from '../audit/reasons.ts';
import type { CompiledIssuer, CompiledPolicy } from '../policy/compile.ts';
import { findDuplicateKey } from './duplicate-keys.ts';
import type { JwksRegistry } from './jwks.ts';

export const MAX_TOKEN_LENGTH = 8 * 1024;
export const CLOCK_TOLERANCE_S = 30;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const KEY_LOCATION_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;
const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'];
/** The only `typ` accepted (or none): what GitHub and GitLab send. Media-type spellings RFC 7515 would
 * treat as equal ("jwt", "application/jwt") are refused too: no pinned issuer sends them. */
const ID_TOKEN_TYP = 'JWT';
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface VerifiedToken {
  issuer: CompiledIssuer;
  claims: JWTPayload & { iss: string; sub: string; jti: string; exp: number; iat: number };
  kid: string;
}

export type VerifyResult =
  | { ok: true; token: VerifiedToken }
  | {
      ok: false;
      code: 'ERR_REQUEST_INVALID' | 'ERR_TOKEN_INVALID' | 'ERR_TOKEN_EXPIRED' | 'ERR_UNAVAILABLE';
      detail: Reason;
      issuer?: string;
    };

/**
 * A header or claims segment read as jose reads it (a leading byte-order mark dropped, as its TextDecoder
 * does); anything but a JSON object throws.
 */
function jsonObject(text: string): Record<string, unknown> {
  const value: unknown = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('not a JSON object');
  return value as Record<string, unknown>;
}

/** Cheap structural check, before anything is decoded. */
function isTokenShaped(token: unknown): token is string {
  return typeof token === 'string' && token.length <= MAX_TOKEN_LENGTH && TOKEN_SHAPE.test(token);
}

export async function verifyIdToken(token: string, policy: CompiledPolicy, jwks: JwksRegistry, nowMs: number): Promise<VerifyResult> {
  if (!isTokenShaped(token)) return { ok: false, code: 'ERR_REQUEST_INVALID', detail: 'token.shape' };

  // Read iss and the header without trusting them: they only choose which allowlisted issuer to try.
  let unverifiedIss: unknown;
  let header: Record<string, unknown>;
  let segments: [string, string];
  try {
    // The bytes jose will verify, as text, decoded once; not UTF-8 is refused (jose would read it with
    // replacement characters, so two different byte strings could become one name).
    const [h = '', p = ''] = token.split('.');
    segments = [UTF8.decode(base64url.decode(h)), UTF8.decode(base64url.decode(p))];
    header = jsonObject(segments[0]);
    unverifiedIss = jsonObject(segments[1]).iss;
  } catch {
    return { ok: false, code: 'ERR_TOKEN_INVALID', detail: 'token.undecodable' };
  }
  // Before the issuer is chosen: with two `iss` members there is no one issuer to choose.
  if (findDuplicateKey(segments[0]) !== undefined) return { ok: false, code: 'ERR_TOKEN_INVALID', detail: 'token.header_duplicate_member' };
  if (findDuplicateKey(segments[1]) !== undefined) return { ok: false, code: 'ERR_TOKEN_INVALID', detail: 'token.claims_duplicate_member' };
  const issuer = typeof unverifiedIss === 'string' ? policy.issuersByUrl.get(unverifiedIss) : undefined;
  if (!issuer) return { ok: false, code: 'ERR_TOKEN_INVALID', detail: 'token.issuer_not_allowed' };
  const fail = (code: Exclude<VerifyResult, { ok: true }>['code'], detail: Reason): VerifyResult => ({
    ok: false,
    code,
    detail,
    issuer: issuer.name,
  });

  for (const h of KEY_LOCATION_HEADERS) {
    if (h in header) return fail('ERR_TOKEN_INVALID', `token.header_${h}`);
  }
  if ('crit' in header) return fail('ERR_TOKEN_INVALID', 'token.header_crit');
  // Explicit typing (RFC 8725 3.11): an access token (at+jwt), a logout token or anything else is not an ID token.
  if ('typ' in header && header.typ !== ID_TOKEN_TYP) return fail('ERR_TOKEN_INVALID', 'token.typ');
  const kid = header.kid;
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > 256) return fail('ERR_TOKEN_INVALID', 'token.kid_missing');
  if (typeof header.alg !== 'string' || !issuer.algorithms.includes(header.alg as never)) {
    return fail('ERR_TOKEN_INVALID', 'token.algorithm');
  }

  const keys = await jwks.keysFor(issuer, kid);
  if (!keys.ok) return fail(keys.reason === 'unavailable' ? 'ERR_UNAVAILABLE' : 'ERR_TOKEN_INVALID', keys.detail);

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys.resolve, {
      issuer: issuer.url,
      audience: issuer.audience,
      algorithms: issuer.algorithms,
      requiredClaims: REQUIRED_CLAIMS,
      clockTolerance: CLOCK_TOLERANCE_S,
      maxTokenAge: issuer.maxTokenAge,
      currentDate: new Date(nowMs),
    }));
  } catch (err) {
    return fail(...classify(err));
  }

  // jose accepts an audience array that contains ours; a token for several audiences is refused here.
  if (Array.isArray(payload.aud) && payload.aud.length !== 1) return fail('ERR_TOKEN_INVALID', 'token.multiple_audiences');
  const { sub, jti, exp, iat } = payload;
  if (typeof sub !== 'string' || sub.length === 0) return fail('ERR_TOKEN_INVALID', 'token.sub');
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) return fail('ERR_TOKEN_INVALID', 'token.jti');
  if (typeof exp !== 'number' || typeof iat !== 'number') return fail('ERR_TOKEN_INVALID', 'token.times');
  if (exp - iat > issuer.maxTokenLifetime) return fail('ERR_TOKEN_EXPIRED', 'token.lifetime_too_long');
  if (exp <= iat) return fail('ERR_TOKEN_INVALID', 'token.exp_before_iat');

  return {
    ok: true,
    token: { issuer, kid, claims: payload as VerifiedToken['claims'] },
  };
}

type Refusal = ['ERR_TOKEN_INVALID' | 'ERR_TOKEN_EXPIRED', Reason];

/** jose's claim and reason, as `token.<claim>_<reason>`, when the table knows it; else jose's error code. */
function claimReason(err: joseErrors.JWTClaimValidationFailed | joseErrors.JWTExpired, suffix: string): Reason {
  const reason = `token.${err.claim}_${suffix}`;
  return Object.hasOwn(REASONS, reason) ? (reason as FixedReason) : joseCode(err);
}

function joseCode(err: joseErrors.JOSEError): Reason {
  const code = err.code;
  return code.startsWith('ERR_') ? `token.${code as `ERR_${string}`}` : 'token.unverifiable';
}

function classify(err: unknown): Refusal {
  if (err instanceof joseErrors.JWTExpired) return ['ERR_TOKEN_EXPIRED', claimReason(err, 'expired')];
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    const claim = err.claim;
    if (claim === 'nbf' || claim === 'iat' || claim === 'exp') {
      // Timestamp checks; a malformed (non-numeric) time is invalid rather than expired.
      return err.reason === 'check_failed'
        ? ['ERR_TOKEN_EXPIRED', claimReason(err, 'window')]
        : ['ERR_TOKEN_INVALID', claimReason(err, err.reason)];
    }
    return ['ERR_TOKEN_INVALID', claimReason(err, err.reason)];
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return ['ERR_TOKEN_INVALID', 'token.signature'];
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return ['ERR_TOKEN_INVALID', 'token.algorithm'];
  if (err instanceof joseErrors.JWKSNoMatchingKey) return ['ERR_TOKEN_INVALID', 'token.no_matching_key'];
  if (err instanceof joseErrors.JOSEError) return ['ERR_TOKEN_INVALID', joseCode(err)];
  return ['ERR_TOKEN_INVALID', 'token.unverifiable'];
}
