// A fake GitHub REST API for GitHub App installation tokens, checking what GitHub checks: a User-Agent, an
// App JWT (RS256, signed by the App's key, iss = the App, expiring at most 10 minutes ahead and at most 10
// minutes after iat), an installation of that App, repositories and permissions the installation has.
// Tokens it issues work on GET /installation/repositories until they expire or are revoked with
// DELETE /installation/token. Answers in GitHub's shapes, errors included, and can be told to misbehave.
import { decodeJwt, decodeProtectedHeader, importSPKI, jwtVerify, type JWTPayload } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import { hangUntilAborted, serveFake, type FakeHandler, type ServedFake } from './tls.ts';

export interface FakeGithubInstallation {
  id: string;
  /** The account the App is installed on (owner of the repositories). */
  account: string;
  repositories: string[];
  /** What the installation was granted; metadata: read is always included by GitHub. */
  permissions: Record<string, 'read' | 'write' | 'admin'>;
}

export interface FakeGithubApp {
  /** The App id (numeric, as a string) that the App JWT's iss must name. */
  app_id: string;
  /** SPKI PEM of the App's public key (GitHub keeps the public half). */
  publicKeyPem: string;
  installations: FakeGithubInstallation[];
}

/**
 * How POST .../access_tokens answers: normally; never; 403 "Resource not accessible by integration";
 * 403 rate limit; a 201 with broken JSON; a real token with one permission more than asked (`widen`) or
 * access to every repository (`all_repositories`), which the broker must refuse and revoke.
 */
export type GithubMode = 'ok' | 'hang' | 'forbidden' | 'rate_limited' | 'malformed' | 'widen' | 'all_repositories';
/** How DELETE /installation/token answers. */
export type GithubRevokeMode = 'ok' | 'hang' | 'server_error';

export interface IssuedGithubToken {
  app_id: string;
  installation_id: string;
  repositories: string[];
  permissions: Record<string, string>;
  /** Epoch seconds. */
  expires_at: number;
  revoked: boolean;
}

export interface FakeGithub {
  handler: FakeHandler;
  mode: GithubMode;
  revokeMode: GithubRevokeMode;
  baseUrl: string;
  /** App JWTs that verified, in order. */
  appJwts: JWTPayload[];
  /** Installation tokens handed out. */
  tokens: Map<string, IssuedGithubToken>;
  /** Every request as "METHOD /path status", in order. */
  log: string[];
}

export interface FakeGithubOptions {
  apps: FakeGithubApp[];
  /** Epoch milliseconds (share the broker's frozen clock). */
  now?: () => number;
  baseUrl?: string;
}

const DOCS = 'https://docs.github.com/rest';
const ACCESS_TOKENS_DOCS = `${DOCS}/apps/apps#create-an-installation-access-token-for-an-app`;

export function createFakeGithub(opts: FakeGithubOptions): FakeGithub {
  const now = opts.now ?? Date.now;
  const nowS = () => Math.floor(now() / 1000);
  const publicKeys = new Map<string, Promise<CryptoKey>>();
  const keyOf = (app: FakeGithubApp) => {
    let key = publicKeys.get(app.app_id);
    if (!key) {
      key = importSPKI(app.publicKeyPem, 'RS256');
      publicKeys.set(app.app_id, key);
    }
    return key;
  };

  const fake: FakeGithub = {
    mode: 'ok',
    revokeMode: 'ok',
    baseUrl: opts.baseUrl ?? 'https://api.github.com',
    appJwts: [],
    tokens: new Map(),
    log: [],
    handler: async (req) => {
      const res = await route(req);
      fake.log.push(`${req.method} ${new URL(req.url).pathname} ${res.status}`);
      return res;
    },
  };

  async function route(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    // GitHub refuses requests without a User-Agent before anything else.
    if (!req.headers.get('user-agent')) {
      return new Response(
        'Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n',
        { status: 403, headers: { 'content-type': 'text/plain; charset=utf-8' } },
      );
    }
    const accessTokens = /^\/app\/installations\/([^/]+)\/access_tokens$/.exec(path);
    if (accessTokens && req.method === 'POST') return createToken(req, accessTokens[1] as string);
    if (path === '/installation/token' && req.method === 'DELETE') return revoke(req);
    if (path === '/installation/repositories' && req.method === 'GET') return listRepositories(req);
    return error(404, 'Not Found', DOCS);
  }

  async function createToken(req: Request, installationId: string): Promise<Response> {
    const mode = fake.mode;
    if (mode === 'hang') return hangUntilAborted(req);
    const app = await verifyAppJwt(req);
    if (app instanceof Response) return app;
    const installation = app.installations.find((i) => i.id === installationId);
    if (!installation) return error(404, 'Not Found', ACCESS_TOKENS_DOCS);
    if (mode === 'forbidden') return error(403, 'Resource not accessible by integration', ACCESS_TOKENS_DOCS);
    if (mode === 'rate_limited') {
      return error(
        403,
        `API rate limit exceeded for installation ID ${installation.id}. If you reach out to GitHub Support for help, please include the request ID 0400:1C2B:3A4D5E:6F7A8B:66A0B1C2.`,
        `${DOCS}/overview/rate-limits-for-the-rest-api`,
        {
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-used': '5000',
          'x-ratelimit-resource': 'core',
          'x-ratelimit-reset': String(nowS() + 600),
        },
      );
    }
    if (mode === 'malformed')
      return new Response('{"token":"ghs_', { status: 201, headers: { 'content-type': 'application/json; charset=utf-8' } });

    let body: { repositories?: unknown; permissions?: unknown } = {};
    const text = await req.text();
    if (text !== '') {
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        return error(400, 'Problems parsing JSON', ACCESS_TOKENS_DOCS);
      }
    }
    const granted: Record<string, string> = { ...installation.permissions, metadata: 'read' };
    let repositories = installation.repositories;
    let selection = 'all';
    if (body.repositories !== undefined) {
      if (!Array.isArray(body.repositories) || body.repositories.some((r) => typeof r !== 'string'))
        return error(422, "Invalid request.\n\nFor 'properties/repositories', is not an array of strings.", ACCESS_TOKENS_DOCS);
      const wanted = body.repositories as string[];
      const found = wanted.map((w) => installation.repositories.find((r) => r.toLowerCase() === w.toLowerCase()));
      if (found.some((r) => r === undefined))
        return error(
          422,
          'There is at least one repository that does not exist or is not accessible to the parent installation.',
          ACCESS_TOKENS_DOCS,
        );
      repositories = [...new Set(found as string[])];
      selection = 'selected';
    }
    let permissions = granted;
    if (body.permissions !== undefined) {
      if (typeof body.permissions !== 'object' || body.permissions === null) return error(422, 'Invalid request.', ACCESS_TOKENS_DOCS);
      const levels: Record<string, number> = { read: 1, write: 2, admin: 3 };
      permissions = { metadata: 'read' };
      for (const [name, level] of Object.entries(body.permissions as Record<string, unknown>)) {
        const have = Object.hasOwn(granted, name) ? levels[granted[name] as string] : undefined;
        const want = typeof level === 'string' && Object.hasOwn(levels, level) ? levels[level] : undefined;
        if (want === undefined) return error(422, 'Invalid request.', ACCESS_TOKENS_DOCS);
        if (have === undefined || want > have)
          return error(422, 'The permissions requested are not granted to this installation.', ACCESS_TOKENS_DOCS);
        permissions[name] = level as string;
      }
    }
    if (mode === 'widen') permissions = { ...permissions, administration: 'write' };
    if (mode === 'all_repositories') {
      repositories = installation.repositories;
      selection = 'all';
    }

    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const token = `ghs_${[...crypto.getRandomValues(new Uint8Array(36))].map((b) => alphabet[b % alphabet.length]).join('')}`;
    const expiresAt = nowS() + 3600;
    fake.tokens.set(token, {
      app_id: app.app_id,
      installation_id: installation.id,
      repositories,
      permissions,
      expires_at: expiresAt,
      revoked: false,
    });
    return Response.json(
      {
        token,
        expires_at: new Date(expiresAt * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        permissions,
        repository_selection: selection,
        repositories: repositories.map((name) => repositoryObject(installation, name)),
      },
      { status: 201 },
    );
  }

  /** The App JWT as GitHub checks it; the App it names, or GitHub's 401. */
  async function verifyAppJwt(req: Request): Promise<FakeGithubApp | Response> {
    const jwt = /^Bearer (\S+)$/i.exec(req.headers.get('authorization') ?? '')?.[1];
    if (!jwt) return error(401, 'A JSON web token could not be decoded', DOCS);
    let iss: string;
    try {
      if (decodeProtectedHeader(jwt).alg !== 'RS256') return error(401, 'A JSON web token could not be decoded', DOCS);
      const claims = decodeJwt(jwt);
      iss = typeof claims.iss === 'number' ? String(claims.iss) : String(claims.iss ?? '');
      if (typeof claims.iat !== 'number')
        return error(401, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.", DOCS);
      if (typeof claims.exp !== 'number' || claims.exp <= nowS())
        return error(
          401,
          "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.",
          DOCS,
        );
      if (claims.exp > nowS() + 600 || claims.exp - claims.iat > 600)
        return error(401, "'Expiration time' claim ('exp') is too far in the future.", DOCS);
      if (claims.iat > nowS() + 60)
        return error(401, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.", DOCS);
    } catch {
      return error(401, 'A JSON web token could not be decoded', DOCS);
    }
    const app = opts.apps.find((a) => a.app_id === iss);
    if (!app) return error(401, 'A JSON web token could not be decoded', DOCS);
    try {
      const { payload } = await jwtVerify(jwt, await keyOf(app), {
        algorithms: ['RS256'],
        currentDate: new Date(now()),
        issuer: app.app_id,
      });
      fake.appJwts.push(payload);
    } catch {
      return error(401, 'A JSON web token could not be decoded', DOCS);
    }
    return app;
  }

  function tokenOf(req: Request): [string, IssuedGithubToken] | undefined {
    const token = /^(?:Bearer|token) (\S+)$/i.exec(req.headers.get('authorization') ?? '')?.[1];
    const issued = token ? fake.tokens.get(token) : undefined;
    if (!token || !issued || issued.revoked || issued.expires_at <= nowS()) return undefined;
    return [token, issued];
  }

  async function revoke(req: Request): Promise<Response> {
    if (fake.revokeMode === 'hang') return hangUntilAborted(req);
    if (fake.revokeMode === 'server_error') return error(500, 'Server Error', DOCS);
    const found = tokenOf(req);
    if (!found) return error(401, 'Bad credentials', DOCS);
    found[1].revoked = true;
    return new Response(null, { status: 204 });
  }

  async function listRepositories(req: Request): Promise<Response> {
    const found = tokenOf(req);
    if (!found) return error(401, 'Bad credentials', DOCS);
    const [, issued] = found;
    const app = opts.apps.find((a) => a.app_id === issued.app_id);
    const installation = app?.installations.find((i) => i.id === issued.installation_id);
    if (!installation) return error(404, 'Not Found', DOCS);
    return Response.json({
      total_count: issued.repositories.length,
      repository_selection: issued.repositories.length === installation.repositories.length ? 'all' : 'selected',
      repositories: issued.repositories.map((name) => repositoryObject(installation, name)),
    });
  }

  return fake;
}

/** GitHub's error body: message, documentation_url, status (a string). */
function error(status: number, message: string, documentationUrl: string, headers: Record<string, string> = {}): Response {
  return Response.json({ message, documentation_url: documentationUrl, status: String(status) }, { status, headers });
}

function repositoryObject(installation: FakeGithubInstallation, name: string): Record<string, unknown> {
  const id = 100000 + [...`${installation.account}/${name}`].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 900000, 7);
  const fullName = `${installation.account}/${name}`;
  return {
    id,
    node_id: `R_kgDO${id}`,
    name,
    full_name: fullName,
    private: true,
    owner: { login: installation.account, id: 7890, node_id: 'O_kgDOAAAe0g', type: 'Organization', site_admin: false },
    html_url: `https://github.com/${fullName}`,
    description: null,
    fork: false,
    url: `https://api.github.com/repos/${fullName}`,
    default_branch: 'main',
    visibility: 'private',
    archived: false,
    disabled: false,
  };
}

/** An App key pair as GitHub hands it out (PKCS#1 PEM), with the PKCS#8 form and the public SPKI PEM. */
export function generateAppKey(): { pkcs1Pem: string; pkcs8Pem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    pkcs1Pem: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    pkcs8Pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

export type ServedFakeGithub = FakeGithub & ServedFake;

/** Starts the fake on 127.0.0.1 (`tls: true` for HTTPS with a self-signed certificate). */
export async function startFakeGithub(opts: FakeGithubOptions & { tls?: boolean }): Promise<ServedFakeGithub> {
  const fake = createFakeGithub(opts);
  const served = await serveFake((req) => fake.handler(req), opts.tls ? { tls: true } : {});
  fake.baseUrl = served.url;
  return Object.assign(fake, served);
}
