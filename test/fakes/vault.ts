// A fake HashiCorp Vault / OpenBao with the JWT auth method and a KV v2 engine, checking what Vault checks.
// Login (`POST /v1/auth/<mount>/login {role, jwt}`): the role exists, the JWT verifies against the keys of
// the configured jwks_url (or oidc_discovery_url's jwks_uri), fetched at login time; bound_issuer, the
// role's bound_audiences (aud must be one of them), bound_subject and bound_claims; then a client token with
// the role's policies and token_ttl. KV v2 (`GET /v1/<mount>/data/<path>[?version=N]`): X-Vault-Token must be
// a live token from the same namespace (X-Vault-Namespace) whose policies allow reading that path; answers
// `data.data` / `data.metadata`, a deleted or destroyed version as 404 with its metadata, errors as
// `{"errors": [...]}`. `POST /v1/auth/token/revoke-self` revokes the caller's token.
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { hangUntilAborted, serveFake, type ServedFake } from './tls.ts';

export interface FakeJwtRole {
  name: string;
  bound_audiences: string[];
  bound_subject?: string;
  /** Claim -> accepted values (Vault's bound_claims, exact matching). */
  bound_claims?: Record<string, string | string[]>;
  user_claim?: string;
  /** KV paths the role's policies may read, as `<mount>/data/<path>`. */
  readable: string[];
  token_ttl?: number;
}

export interface FakeKvVersion {
  data: Record<string, unknown>;
  deleted?: boolean;
  destroyed?: boolean;
}

export interface FakeVaultOptions {
  /** The JWT auth method: its mount path, and its config. */
  auth: { mount: string; jwks_url?: string; oidc_discovery_url?: string; bound_issuer?: string; roles: FakeJwtRole[] };
  /** KV v2 mounts: mount -> path -> versions (version n is index n - 1). */
  kv: Record<string, Record<string, FakeKvVersion[]>>;
  /** Vault Enterprise namespace the auth method and the engine live in ('' for root). */
  namespace?: string;
  now?: () => number;
  fetch?: typeof fetch;
}

/** How the fake answers one step: normally, or an upstream failure (`times` times, then normally). */
export type VaultMode = 'ok' | 'hang' | 'malformed' | { status: number; errors?: string[]; times?: number; retryAfter?: string };

interface IssuedToken {
  role: string;
  namespace: string;
  readable: string[];
  expires_at: number;
}

export interface FakeVault {
  handler: (req: Request) => Promise<Response>;
  modes: { login: VaultMode; read: VaultMode };
  baseUrl: string;
  /** JWT payloads that logged in. */
  logins: JWTPayload[];
  /** Every login's outcome: 'ok' or Vault's first error message. */
  loginOutcomes: string[];
  tokens: Map<string, IssuedToken>;
  revoked: string[];
  /** Every KV read: path and status. */
  reads: { path: string; status: number; token: boolean }[];
}

export function createFakeVault(opts: FakeVaultOptions): FakeVault {
  const now = opts.now ?? Date.now;
  const fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
  const ns = (opts.namespace ?? '').replace(/\/+$/, '');
  const fake: FakeVault = {
    modes: { login: 'ok', read: 'ok' },
    baseUrl: 'https://vault.example.com',
    logins: [],
    loginOutcomes: [],
    tokens: new Map(),
    revoked: [],
    reads: [],
    handler: async (req) => {
      const url = new URL(req.url);
      if (!url.pathname.startsWith('/v1/')) return vaultErrors(404, []);
      if ((req.headers.get('x-vault-namespace') ?? '').replace(/\/+$/, '') !== ns) {
        // Another namespace has no such mounts (and no such tokens).
        return vaultErrors(url.pathname.includes('/login') ? 400 : 403, [
          url.pathname.includes('/login') ? 'namespace not found' : 'permission denied',
        ]);
      }
      const path = url.pathname.slice('/v1/'.length);
      if (req.method === 'POST' && path === `auth/${opts.auth.mount}/login`) return login(req);
      if (req.method === 'POST' && path === 'auth/token/revoke-self') {
        const token = req.headers.get('x-vault-token') ?? '';
        if (!fake.tokens.delete(token)) return vaultErrors(403, ['permission denied']);
        fake.revoked.push(token);
        return new Response(null, { status: 204 });
      }
      if (req.method === 'POST' && path.startsWith('auth/') && path.endsWith('/login'))
        return vaultErrors(400, [`no handler for route "${path}". route entry not found.`]);
      if (req.method === 'GET') return read(req, path, url);
      return vaultErrors(405, ['unsupported operation']);
    },
  };

  function injected(req: Request, mode: VaultMode, step: 'login' | 'read'): Promise<Response> | Response | undefined {
    if (mode === 'ok') return undefined;
    if (mode === 'hang') return hangUntilAborted(req);
    if (mode === 'malformed') return new Response('{"data":{"data":', { status: 200, headers: { 'content-type': 'application/json' } });
    if (mode.times !== undefined && --mode.times <= 0) fake.modes[step] = 'ok';
    return vaultErrors(mode.status, mode.errors ?? ['injected failure'], mode.retryAfter ? { 'retry-after': mode.retryAfter } : {});
  }

  async function login(req: Request): Promise<Response> {
    const inject = injected(req, fake.modes.login, 'login');
    if (inject) return inject;
    const refuse = (status: number, message: string) => {
      fake.loginOutcomes.push(message);
      return vaultErrors(status, [message]);
    };
    let body: Record<string, unknown>;
    try {
      body = (await req.json()) as Record<string, unknown>;
    } catch {
      return refuse(400, 'failed to parse JSON input: invalid character');
    }
    const roleName = body.role;
    if (typeof roleName !== 'string' || roleName === '') return refuse(400, 'missing role');
    const role = opts.auth.roles.find((r) => r.name === roleName);
    if (!role) return refuse(400, `role "${roleName}" could not be found`);
    const jwt = body.jwt;
    if (typeof jwt !== 'string' || jwt === '') return refuse(400, 'missing token');

    let keys: ReturnType<typeof createLocalJWKSet>;
    try {
      keys = createLocalJWKSet(await jwks());
    } catch {
      return refuse(500, 'error fetching JWKS');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, keys, {
        algorithms: ['RS256', 'ES256', 'EdDSA', 'PS256'],
        currentDate: new Date(now()),
        clockTolerance: 60,
        ...(opts.auth.bound_issuer ? { issuer: opts.auth.bound_issuer } : {}),
      }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) return refuse(400, 'error validating token: token is expired (exp)');
      if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'iss')
        return refuse(400, 'error validating token: invalid issuer (iss) claim');
      return refuse(
        400,
        'error validating token: error verifying token signature: no known key successfully validated the token signature',
      );
    }
    const audiences = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
    // Vault requires bound_audiences when the token has an aud, and one of them must match.
    if (!audiences.some((a) => role.bound_audiences.includes(a)))
      return refuse(400, 'error validating token: invalid audience (aud) claim: audience claim does not match any expected audience');
    if (role.bound_subject !== undefined && payload.sub !== role.bound_subject)
      return refuse(400, 'sub claim does not match bound subject');
    for (const [claim, wanted] of Object.entries(role.bound_claims ?? {})) {
      const accepted = Array.isArray(wanted) ? wanted : [wanted];
      const got = (payload as Record<string, unknown>)[claim];
      if (typeof got !== 'string' || !accepted.includes(got))
        return refuse(400, `error validating claims: claim "${claim}" does not match any associated bound claim values`);
    }
    const userClaim = role.user_claim ?? 'sub';
    if (typeof (payload as Record<string, unknown>)[userClaim] !== 'string') return refuse(400, `claim "${userClaim}" not found in token`);

    fake.logins.push(payload);
    fake.loginOutcomes.push('ok');
    const ttl = role.token_ttl ?? 300;
    const token = `hvs.${[...crypto.getRandomValues(new Uint8Array(24))].map((b) => b.toString(36).padStart(2, '0')).join('')}`;
    fake.tokens.set(token, { role: role.name, namespace: ns, readable: role.readable, expires_at: now() + ttl * 1000 });
    return Response.json({
      request_id: crypto.randomUUID(),
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data: null,
      wrap_info: null,
      warnings: null,
      auth: {
        client_token: token,
        accessor: crypto.randomUUID().replaceAll('-', '').slice(0, 24),
        policies: ['default', `kv-read-${role.name}`],
        token_policies: ['default', `kv-read-${role.name}`],
        metadata: { role: role.name },
        lease_duration: ttl,
        renewable: true,
        entity_id: crypto.randomUUID(),
        token_type: 'service',
        orphan: true,
        mfa_requirement: null,
        num_uses: 0,
      },
    });
  }

  async function jwks(): Promise<JSONWebKeySet> {
    const get = async (u: string) => {
      const res = await fetchFn(u, { redirect: 'manual', signal: AbortSignal.timeout(5_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return (await res.json()) as Record<string, unknown>;
    };
    if (opts.auth.jwks_url) return (await get(opts.auth.jwks_url)) as unknown as JSONWebKeySet;
    const discovery = await get(`${opts.auth.oidc_discovery_url}/.well-known/openid-configuration`);
    if (typeof discovery.jwks_uri !== 'string') throw new Error('no jwks_uri');
    return (await get(discovery.jwks_uri)) as unknown as JSONWebKeySet;
  }

  async function read(req: Request, path: string, url: URL): Promise<Response> {
    const tokenHeader = req.headers.get('x-vault-token');
    const answer = (res: Response) => {
      fake.reads.push({ path, status: res.status, token: tokenHeader !== null });
      return res;
    };
    const issued = tokenHeader ? fake.tokens.get(tokenHeader) : undefined;
    if (!issued || issued.expires_at <= now()) return answer(vaultErrors(403, ['permission denied']));
    const inject = injected(req, fake.modes.read, 'read');
    if (inject) return answer(await inject);
    if (!issued.readable.includes(path)) return answer(vaultErrors(403, ['1 error occurred:\n\t* permission denied\n\n']));
    const m = /^(.+?)\/data\/(.+)$/.exec(path);
    const mount = m?.[1];
    if (!mount || !Object.hasOwn(opts.kv, mount))
      return answer(vaultErrors(404, [`no handler for route "${path}". route entry not found.`]));
    const secrets = opts.kv[mount]!;
    const versions = Object.hasOwn(secrets, m[2]!) ? secrets[m[2]!]! : [];
    const wanted = Number(url.searchParams.get('version') ?? '0');
    const n = wanted > 0 ? wanted : versions.length;
    const found = versions[n - 1];
    if (!found) return answer(vaultErrors(404, []));
    const t = new Date(now() - 3600_000).toISOString();
    const metadata = {
      created_time: t,
      custom_metadata: null,
      deletion_time: found.deleted && !found.destroyed ? new Date(now() - 60_000).toISOString() : '',
      destroyed: found.destroyed === true,
      version: n,
    };
    const envelope = (data: unknown, status: number) =>
      Response.json(
        {
          request_id: crypto.randomUUID(),
          lease_id: '',
          renewable: false,
          lease_duration: 0,
          data,
          wrap_info: null,
          warnings: null,
          auth: null,
          mount_type: 'kv',
        },
        { status },
      );
    if (found.deleted || found.destroyed) return answer(envelope({ data: null, metadata }, 404));
    return answer(envelope({ data: found.data, metadata }, 200));
  }

  return fake;
}

function vaultErrors(status: number, list: string[], headers: Record<string, string> = {}): Response {
  return Response.json({ errors: list }, { status, headers: { 'cache-control': 'no-store', ...headers } });
}

export type ServedFakeVault = FakeVault & ServedFake;

export async function startFakeVault(opts: FakeVaultOptions & { tls?: boolean }): Promise<ServedFakeVault> {
  const fake = createFakeVault(opts);
  const served = await serveFake((req) => fake.handler(req), opts.tls ? { tls: true } : {});
  fake.baseUrl = served.url;
  return Object.assign(fake, served);
}
