// A local OIDC issuer for development, demos and tests: an RS256 key in a file, tokens signed with it, and
// a tiny server for its discovery document and JWKS on loopback.
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';

export interface IssuerKey {
  privateJwk: JWK & { kid: string };
  publicJwk: JWK & { kid: string };
}

export async function generateIssuerKey(): Promise<IssuerKey> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const priv = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(priv);
  return toIssuerKey({ ...priv, kid, alg: 'RS256' });
}

function toIssuerKey(priv: JWK & { kid: string }): IssuerKey {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = priv;
  return { privateJwk: priv, publicJwk: { ...pub, kid: priv.kid, alg: priv.alg ?? 'RS256', use: 'sig' } };
}

/** Reads the key file, or creates it (mode 0600). Returns whether it was created. */
export async function loadOrCreateIssuerKey(file: string): Promise<{ key: IssuerKey; created: boolean }> {
  if (existsSync(file)) {
    const jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK & { kid?: string };
    if (jwk.kty !== 'RSA' || !jwk.d) throw new Error(`${file} is not an RSA private JWK`);
    return { key: toIssuerKey({ ...jwk, kid: jwk.kid ?? (await calculateJwkThumbprint(jwk)) }), created: false };
  }
  const key = await generateIssuerKey();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(key.privateJwk)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { key, created: true };
}

export function publicJwks(key: IssuerKey): { keys: JWK[] } {
  return { keys: [key.publicJwk] };
}

export interface SignOptions {
  issuer?: string;
  audience?: string;
  /** Lifetime in seconds when the claims give no exp. */
  ttl?: number;
  /** Epoch seconds. */
  now?: number;
  header?: Record<string, unknown>;
}

/** Signs claims; fills iat, exp and jti when absent, and iss/aud from the options when given. */
export async function signTestToken(key: IssuerKey, claims: JWTPayload, opts: SignOptions = {}): Promise<string> {
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const payload: JWTPayload = { ...claims };
  payload.iat ??= now;
  payload.nbf ??= payload.iat;
  payload.exp ??= payload.iat + (opts.ttl ?? 300);
  payload.jti ??= randomUUID();
  if (opts.issuer) payload.iss = opts.issuer;
  if (opts.audience) payload.aud = opts.audience;
  const privateKey = await importJWK(key.privateJwk, 'RS256');
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: key.privateJwk.kid, typ: 'JWT', ...opts.header }).sign(privateKey);
}

export interface TestIssuerServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** The issuer's two documents, by their URLs: discovery and the JWKS of `key`. */
export function issuerDocuments(issuerUrl: string, key: IssuerKey): Record<string, unknown> {
  return {
    [`${issuerUrl}/.well-known/openid-configuration`]: {
      issuer: issuerUrl,
      jwks_uri: `${issuerUrl}/.well-known/jwks.json`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    },
    [`${issuerUrl}/.well-known/jwks.json`]: publicJwks(key),
  };
}

/** Serves /.well-known/openid-configuration and /.well-known/jwks.json for `key` on loopback. */
export async function serveTestIssuer(key: IssuerKey, port = 0, host = '127.0.0.1'): Promise<TestIssuerServer> {
  let issuerUrl = '';
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { error: 'method not allowed' });
    const body = issuerDocuments(issuerUrl, key)[`${issuerUrl}${path}`];
    if (body !== undefined) return send(200, body);
    return send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  issuerUrl = `http://${host}:${(server.address() as AddressInfo).port}`;
  return {
    url: issuerUrl,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
