// A fake OIDC issuer for unit tests: keys, a signer, and a fetch function that serves discovery and JWKS
// for one or more issuers, counting requests and letting a test break it on purpose.
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { randomUUID } from 'node:crypto';

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(kid: string, alg = 'RS256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export interface SignOptions {
  header?: Record<string, unknown>;
  /** Claims to remove after defaults are applied. */
  omit?: string[];
}

export function baseClaims(issuer: string, audience: string, nowS: number, extra: JWTPayload = {}): JWTPayload {
  return {
    iss: issuer,
    aud: audience,
    sub: 'repo:acme/web:ref:refs/heads/main',
    iat: nowS,
    nbf: nowS,
    exp: nowS + 300,
    jti: randomUUID(),
    ...extra,
  };
}

export async function sign(key: TestKey, claims: JWTPayload, opts: SignOptions = {}): Promise<string> {
  const payload: Record<string, unknown> = { ...claims };
  for (const k of opts.omit ?? []) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...opts.header }).sign(key.privateKey);
}

export type Behaviour = 'ok' | 'fail500' | 'garbage' | 'hang' | 'redirect' | 'huge' | 'wrong_issuer' | 'offsite_jwks';

export interface FakeIssuer {
  url: string;
  keys: TestKey[];
  behaviour: Behaviour;
  /** Fail every other JWKS request (resilience tests). */
  flaky?: boolean;
}

/** A fetch that answers for the given issuers only; anything else is a test failure (no network). */
export function fakeFetch(issuers: FakeIssuer[]) {
  const calls: string[] = [];
  let flip = 0;
  const fn = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input instanceof Request ? input.url : input);
    calls.push(url);
    const issuer = issuers.find((i) => url.startsWith(`${i.url}/`));
    if (!issuer) throw new Error(`unexpected fetch to ${url}`);
    if (init?.redirect !== 'manual') throw new Error('fetch must not follow redirects');
    const json = (body: unknown, status = 200) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    switch (issuer.behaviour) {
      case 'hang':
        return new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
      case 'fail500':
        return json({ error: 'boom' }, 500);
      case 'garbage':
        return new Response('<html>not json</html>', { status: 200 });
      case 'redirect':
        return new Response(null, { status: 302, headers: { location: `${issuer.url}/elsewhere` } });
      default:
        break;
    }
    if (url.endsWith('/.well-known/openid-configuration')) {
      return json({
        issuer: issuer.behaviour === 'wrong_issuer' ? `${issuer.url}/other` : issuer.url,
        jwks_uri: issuer.behaviour === 'offsite_jwks' ? 'https://evil.example/jwks' : `${issuer.url}/jwks`,
      });
    }
    if (url.endsWith('/jwks')) {
      if (issuer.flaky && flip++ % 2 === 0) return json({ error: 'flaky' }, 503);
      if (issuer.behaviour === 'huge') {
        const padding = 'x'.repeat(200 * 1024);
        return json({ keys: issuer.keys.map((k) => k.publicJwk), padding });
      }
      return json({ keys: issuer.keys.map((k) => k.publicJwk) });
    }
    return json({ error: 'not found' }, 404);
  };
  return { fetch: fn, calls };
}
