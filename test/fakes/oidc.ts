// What the fake clouds share: verifying a broker token the way a cloud does (the issuer's discovery document,
// then its jwks_uri, fetched over HTTP with jose's createRemoteJWKSet), and hanging on demand. Web-standard
// only, so a fake can answer from a Node HTTP server, a handler-backed fetch, or miniflare's outboundService.
import { createRemoteJWKSet, customFetch, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';

export type FetchLike = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

export type TokenCheck =
  | { ok: true; claims: JWTPayload; header: { kid?: string; alg: string } }
  | {
      ok: false;
      kind: 'malformed' | 'unknown_issuer' | 'idp_unreachable' | 'expired' | 'audience' | 'signature' | 'claims';
      message: string;
    };

export interface TrustedIssuerVerifierOptions {
  /** For discovery and JWKS; defaults to the global fetch. */
  fetch?: FetchLike;
  /** Epoch milliseconds. */
  now?: () => number;
}

/** Verifies JWTs from a set of trusted issuers, each looked up through its own discovery document. */
export class TrustedIssuerVerifier {
  private readonly jwks = new Map<string, Promise<ReturnType<typeof createRemoteJWKSet>>>();
  private readonly opts: TrustedIssuerVerifierOptions;
  /** Every JWKS URL fetched, in order (tests assert the fake really went to the broker's JWKS). */
  readonly jwksFetched: string[] = [];

  constructor(opts: TrustedIssuerVerifierOptions = {}) {
    this.opts = opts;
  }

  private fetch(input: string, init?: RequestInit): Promise<Response> {
    return (this.opts.fetch ?? globalThis.fetch)(input, init);
  }

  private keysFor(issuer: string): Promise<ReturnType<typeof createRemoteJWKSet>> {
    let keys = this.jwks.get(issuer);
    if (!keys) {
      keys = (async () => {
        const res = await this.fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, {
          redirect: 'manual',
          signal: AbortSignal.timeout(5000),
        });
        if (res.status !== 200) throw new Error(`discovery HTTP ${res.status}`);
        const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
        if (doc.issuer !== issuer || typeof doc.jwks_uri !== 'string') throw new Error('discovery document mismatch');
        const jwksUri = doc.jwks_uri;
        return createRemoteJWKSet(new URL(jwksUri), {
          cooldownDuration: 0,
          [customFetch]: (url, init) => {
            this.jwksFetched.push(url);
            return this.fetch(url, init);
          },
        });
      })();
      keys.catch(() => this.jwks.delete(issuer));
      this.jwks.set(issuer, keys);
    }
    return keys;
  }

  async verify(token: string, trusted: { issuers: string[]; audiences: string[] }): Promise<TokenCheck> {
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      return { ok: false, kind: 'malformed', message: 'the token is not a JWT' };
    }
    if (typeof iss !== 'string' || !trusted.issuers.includes(iss)) {
      return { ok: false, kind: 'unknown_issuer', message: `no provider for ${String(iss).slice(0, 200)}` };
    }
    let keys: ReturnType<typeof createRemoteJWKSet>;
    try {
      keys = await this.keysFor(iss);
    } catch (err) {
      return { ok: false, kind: 'idp_unreachable', message: String(err) };
    }
    try {
      const { payload, protectedHeader } = await jwtVerify(token, keys, {
        issuer: iss,
        audience: trusted.audiences,
        algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256'],
        currentDate: new Date(this.opts.now?.() ?? Date.now()),
        clockTolerance: 5,
      });
      const header: { kid?: string; alg: string } = { alg: protectedHeader.alg };
      if (protectedHeader.kid !== undefined) header.kid = protectedHeader.kid;
      return { ok: true, claims: payload, header };
    } catch (err) {
      if (err instanceof errors.JWTExpired) return { ok: false, kind: 'expired', message: err.message };
      if (err instanceof errors.JWTClaimValidationFailed) {
        return { ok: false, kind: err.claim === 'aud' ? 'audience' : 'claims', message: err.message };
      }
      if (err instanceof errors.JWKSTimeout || (err instanceof TypeError && /fetch/i.test(err.message))) {
        return { ok: false, kind: 'idp_unreachable', message: err.message };
      }
      return { ok: false, kind: 'signature', message: err instanceof Error ? err.message : String(err) };
    }
  }
}

/** Resolves when the client gives up (the request is aborted) or after `maxMs`, for `hang` modes. */
export function hang(req: Request, maxMs: number): Promise<Response> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve(new Response(null, { status: 504 }));
    };
    const timer = setTimeout(done, maxMs);
    if (req.signal.aborted) done();
    else req.signal.addEventListener('abort', done, { once: true });
  });
}

/** Random characters from `alphabet`, for fake key ids and tokens. */
export function randomChars(length: number, alphabet: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}
