// Cloudflare Access in front of the Worker: Access signs a JWT for every request it lets through
// (Cf-Access-Jwt-Assertion). It is trusted only when it verifies against the team's certs, names the team
// domain as issuer and the Access application's AUD tag as audience; the header alone proves nothing.
import { createRemoteJWKSet, customFetch, jwtVerify, type JWTVerifyGetKey } from 'jose';

export interface AccessOptions {
  /** https://<team>.cloudflareaccess.com (http only on loopback, for tests). */
  teamDomain: string;
  /** The Access application's Application Audience (AUD) tag. */
  audience: string;
  fetch?: typeof fetch;
  /** Epoch milliseconds. */
  now?: () => number;
}

export type AccessResult =
  | { ok: true; issuer: string; subject: string }
  | { ok: false; detail: 'jwt_malformed' | 'jwt_invalid' | 'certs_unavailable' };

export interface AccessVerifier {
  verify(jwt: string): Promise<AccessResult>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function createAccessVerifier(opts: AccessOptions): AccessVerifier {
  const url = new URL(opts.teamDomain);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new Error('the Cloudflare Access team domain must be an https:// URL');
  }
  if (!opts.audience.trim()) throw new Error('the Cloudflare Access audience (AUD tag) is empty');
  const issuer = url.origin;
  const fetchFn = opts.fetch;
  const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL('/cdn-cgi/access/certs', issuer), {
    timeoutDuration: 5000,
    cooldownDuration: 30_000,
    ...(fetchFn ? { [customFetch]: (input: string | URL, init: RequestInit) => fetchFn(input, init) } : {}),
  });
  return {
    async verify(jwt) {
      if (jwt.length > 8192 || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(jwt)) return { ok: false, detail: 'jwt_malformed' };
      try {
        const { payload } = await jwtVerify(jwt, keys, {
          issuer,
          audience: opts.audience,
          algorithms: ['RS256'],
          clockTolerance: 30,
          requiredClaims: ['exp', 'iat', 'sub'],
          ...(opts.now ? { currentDate: new Date(opts.now()) } : {}),
        });
        const subject = typeof payload.email === 'string' && payload.email ? payload.email : String(payload.sub);
        return { ok: true, issuer, subject };
      } catch (err) {
        return { ok: false, detail: (err as { code?: string }).code === 'ERR_JWKS_TIMEOUT' ? 'certs_unavailable' : 'jwt_invalid' };
      }
    },
  };
}
