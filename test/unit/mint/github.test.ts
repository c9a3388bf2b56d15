// The github minter against a fake GitHub API that verifies the App JWT against the App's public key and
// hands out installation tokens that work (GET /installation/repositories) until revoked, with a frozen
// clock shared by the broker and the fake.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CloudMintDeps } from '../../../broker/src/mint/broker-token.ts';
import { createGithubMinter } from '../../../broker/src/mint/github.ts';
import type { MintContext } from '../../../broker/src/mint/types.ts';
import type { CompiledRole } from '../../../broker/src/policy/compile.ts';
import { grantSchema, type GrantOf } from '../../../broker/src/policy/schema.ts';
import { generateAppKey, startFakeGithub, type GithubMode, type ServedFakeGithub } from '../../fakes/github.ts';
import { serveBrokerIssuer, type ServedIssuer } from '../../helpers/broker-issuer.ts';

const T0 = Date.UTC(2026, 10, 28, 1, 0, 0);
const NOW_S = T0 / 1000;
const APP_ID = '12345';
const INSTALLATION = '777';
const TIMEOUT_MS = 300;

const appKey = generateAppKey();
const otherKey = generateAppKey();
let broker: ServedIssuer;
let gh: ServedFakeGithub;
const clock = { now: T0 };
const secrets = new Map<string, string>();
const fetchCalls: string[] = [];
const countingFetch: CloudMintDeps['fetch'] = (input, init) => {
  fetchCalls.push(`${init?.method ?? 'GET'} ${String(input instanceof Request ? input.url : input)}`);
  return fetch(input, init);
};

beforeAll(async () => {
  broker = await serveBrokerIssuer(clock);
  gh = await startFakeGithub({
    apps: [
      {
        app_id: APP_ID,
        publicKeyPem: appKey.publicKeyPem,
        installations: [
          {
            id: INSTALLATION,
            account: 'acme',
            repositories: ['web', 'api', 'infra'],
            permissions: { contents: 'write', issues: 'write', pull_requests: 'write', metadata: 'read' },
          },
        ],
      },
    ],
    now: () => clock.now,
  });
});
afterAll(async () => {
  await gh.close();
  await broker.close();
});
afterEach(() => {
  gh.mode = 'ok';
  gh.revokeMode = 'ok';
  clock.now = T0;
  fetchCalls.length = 0;
  secrets.clear();
});

function deps(over: Partial<CloudMintDeps> = {}): CloudMintDeps {
  if (secrets.size === 0) secrets.set(`github-app-${APP_ID}`, appKey.pkcs1Pem);
  return {
    fetch: countingFetch,
    issuer: broker.issuer,
    timeoutMs: TIMEOUT_MS,
    secrets: { get: async (name) => (secrets.has(name) ? { name, version: 1, value: secrets.get(name) as string } : null) },
    ...over,
  };
}

function grant(over: Record<string, unknown> = {}): GrantOf<'github'> {
  return grantSchema.parse({
    type: 'github',
    app_id: BigInt(APP_ID), // as YAML loads an unquoted integer
    installation_id: INSTALLATION,
    repositories: ['web', 'api'],
    permissions: { contents: 'read', issues: 'write' },
    api_url: gh.url,
    ...over,
  }) as GrantOf<'github'>;
}

function ctx(maxTtl = 900): MintContext {
  return {
    role: { name: 'deploy', maxTtl } as CompiledRole,
    claims: { repository: 'acme/web' },
    issuer: 'github',
    requestId: 'r1',
    now: NOW_S,
    maxTtl,
  };
}

const iso = (s: number) => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function repositoriesWith(token: string): Promise<{ status: number; names?: string[] }> {
  const res = await fetch(`${gh.url}/installation/repositories`, { headers: { authorization: `Bearer ${token}`, 'user-agent': 'test' } });
  if (res.status !== 200) return { status: res.status };
  const body = (await res.json()) as { repositories: { name: string }[] };
  return { status: 200, names: body.repositories.map((r) => r.name) };
}

describe('github minter: success', () => {
  it.each([
    ['PKCS#1 (as GitHub issues it)', appKey.pkcs1Pem],
    ['PKCS#8', appKey.pkcs8Pem],
  ])('mints a scoped installation token with a %s App key', async (_name, pem) => {
    secrets.set(`github-app-${APP_ID}`, pem);
    const result = await createGithubMinter(deps()).mint(grant(), ctx(900));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.keys(result.credential).sort()).toEqual(['expires_at', 'permissions', 'repositories', 'token', 'type']);
    expect(result.credential).toMatchObject({
      type: 'github',
      expires_at: iso(NOW_S + 900),
      repositories: ['web', 'api'],
      permissions: { contents: 'read', issues: 'write', metadata: 'read' },
    });
    const token = result.credential.token as string;
    expect(token).toMatch(/^ghs_/);
    expect(gh.tokens.get(token)).toMatchObject({
      installation_id: INSTALLATION,
      repositories: ['web', 'api'],
      permissions: { contents: 'read', issues: 'write', metadata: 'read' },
    });
    expect(result.summary).toEqual({ type: 'github', target: `${APP_ID}/${INSTALLATION}:web,api`, expires_at: iso(NOW_S + 3600) });
    expect(result.revocation).toEqual({ api_url: gh.url, token });
    // The token works, and only for the repositories asked for.
    expect(await repositoriesWith(token)).toEqual({ status: 200, names: ['web', 'api'] });
  });

  it('signs an App JWT GitHub accepts: iss = app id, iat backdated, exp - iat = 10 minutes, RS256', async () => {
    const before = gh.appJwts.length;
    const result = await createGithubMinter(deps()).mint(grant(), ctx());
    expect(result.ok).toBe(true);
    const [jwt] = gh.appJwts.slice(before);
    expect(jwt).toMatchObject({ iss: APP_ID, iat: NOW_S - 60, exp: NOW_S + 540 });
    expect(fetchCalls).toEqual([`POST ${gh.url}/app/installations/${INSTALLATION}/access_tokens`]);
  });

  it('reads the key named by private_key_secret', async () => {
    secrets.set('ORG_APP_KEY', appKey.pkcs8Pem);
    const result = await createGithubMinter(deps()).mint(grant({ private_key_secret: 'ORG_APP_KEY' }), ctx());
    expect(result.ok).toBe(true);
  });

  it('never claims an expiry past max_ttl, and reports GitHub’s when it is sooner', async () => {
    for (const maxTtl of [60, 900, 3600, 7200]) {
      const result = await createGithubMinter(deps()).mint(grant(), ctx(maxTtl));
      expect(result.ok && result.credential.expires_at).toBe(iso(NOW_S + Math.min(maxTtl, 3600)));
    }
  });

  it('accepts GitHub’s canonical case for repository names', async () => {
    const result = await createGithubMinter(deps()).mint(grant({ repositories: ['WEB'] }), ctx());
    expect(result.ok && result.credential.repositories).toEqual(['web']);
  });

  it('accepts an api_url with a trailing slash (GHES style bases keep their path)', async () => {
    const result = await createGithubMinter(deps()).mint(grant({ api_url: `${gh.url}/` }), ctx());
    expect(result.ok && result.revocation).toEqual({ api_url: gh.url, token: expect.any(String) });
  });
});

describe('github minter: revoke', () => {
  it('revokes the token: it no longer works afterwards, and revoking again still counts as revoked', async () => {
    const minter = createGithubMinter(deps());
    const result = await minter.mint(grant(), ctx());
    if (!result.ok || !result.revocation) throw new Error('mint failed');
    const token = result.credential.token as string;
    expect(await minter.revoke!(result.revocation)).toEqual({ ok: true });
    expect(gh.tokens.get(token)?.revoked).toBe(true);
    expect(await repositoriesWith(token)).toEqual({ status: 401 });
    expect(fetchCalls.at(-1)).toBe(`DELETE ${gh.url}/installation/token`);
    // GitHub answers 401 for a dead token: the state a revoke wants.
    expect(await minter.revoke!(result.revocation)).toEqual({ ok: true });
  });

  it('reports a revoke GitHub refuses, and the token stays usable', async () => {
    const minter = createGithubMinter(deps());
    const result = await minter.mint(grant(), ctx());
    if (!result.ok || !result.revocation) throw new Error('mint failed');
    gh.revokeMode = 'server_error';
    expect(await minter.revoke!(result.revocation)).toMatchObject({ ok: false, upstream_code: '500' });
    expect(await repositoriesWith(result.credential.token as string)).toMatchObject({ status: 200 });
  });

  it('reports a revoke that hangs, within the deadline', async () => {
    const minter = createGithubMinter(deps());
    const result = await minter.mint(grant(), ctx());
    if (!result.ok || !result.revocation) throw new Error('mint failed');
    gh.revokeMode = 'hang';
    const started = performance.now();
    const revoked = await minter.revoke!(result.revocation);
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 4000);
    expect(revoked.ok).toBe(false);
    expect(!revoked.ok && revoked.detail).toMatch(/^github\.revoke_timeout/);
  });

  it.each([
    ['a non-loopback http api_url', { api_url: 'http://evil.example', token: 'ghs_x' }],
    ['a URL with credentials', { api_url: 'https://user:pw@api.github.com', token: 'ghs_x' }],
    ['no token', { api_url: 'https://api.github.com', token: '' }],
    ['no api_url', { token: 'ghs_x' }],
  ])('refuses revocation data with %s, without a request', async (_name, revocation) => {
    const revoked = await createGithubMinter(deps()).revoke!(revocation as Record<string, string>);
    expect(revoked).toEqual({ ok: false, detail: 'github.revocation_invalid' });
    expect(fetchCalls).toEqual([]);
  });
});

describe('github minter: GitHub granting more than asked is refused, and the token revoked', () => {
  it.each([
    ['an extra permission', 'widen', /^github\.grant_widened:permissions:administration=write$/],
    ['every repository of the installation', 'all_repositories', /^github\.grant_widened:repository_selection=all$/],
  ] as const)('%s', async (_name, mode, detail) => {
    gh.mode = mode as GithubMode;
    const before = new Set(gh.tokens.keys());
    const result = await createGithubMinter(deps()).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM' });
    expect(!result.ok && result.detail).toMatch(detail);
    const issued = [...gh.tokens.entries()].filter(([t]) => !before.has(t));
    expect(issued).toHaveLength(1);
    expect(issued[0]?.[1].revoked).toBe(true);
  });

  it('says so when the revoke of a widened token fails too', async () => {
    gh.mode = 'widen';
    gh.revokeMode = 'server_error';
    const result = await createGithubMinter(deps()).mint(grant(), ctx());
    expect(!result.ok && result.detail).toMatch(
      /^github\.grant_widened:permissions:administration=write;revoke_failed:github\.revoke_http_500/,
    );
  });

  const respond =
    (body: unknown): CloudMintDeps['fetch'] =>
    async (input, init) => {
      fetchCalls.push(`${init?.method ?? 'GET'} ${String(input)}`);
      if (init?.method === 'DELETE') return new Response(null, { status: 204 });
      return new Response(JSON.stringify(body), { status: 201, headers: { 'content-type': 'application/json' } });
    };
  const good = {
    token: 'ghs_abc',
    expires_at: iso(NOW_S + 3600),
    permissions: { contents: 'read', issues: 'write', metadata: 'read' },
    repository_selection: 'selected',
    repositories: [{ name: 'web' }, { name: 'api' }],
  };

  it('accepts the stub’s good answer (so the cases below fail for their one difference)', async () => {
    const result = await createGithubMinter(deps({ fetch: respond(good) })).mint(grant(), ctx());
    expect(result.ok).toBe(true);
  });

  it.each([
    ['a higher level than asked', { permissions: { contents: 'write', issues: 'write' } }, 'permissions:contents=write'],
    ['admin where write was asked', { permissions: { issues: 'admin' } }, 'permissions:issues=admin'],
    ['an unknown level', { permissions: { contents: 'owner' } }, 'permissions:contents=owner'],
    ['metadata above read', { permissions: { metadata: 'write' } }, 'permissions:metadata=write'],
    ['a prototype key', { permissions: JSON.parse('{"__proto__":"read"}') }, 'permissions:__proto__=read'],
    ['a repository not asked for', { repositories: [{ name: 'web' }, { name: 'infra' }] }, 'repositories:infra'],
  ])('%s', async (_name, over, what) => {
    const result = await createGithubMinter(deps({ fetch: respond({ ...good, ...over }) })).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail: `github.grant_widened:${what}` });
    expect(fetchCalls.at(-1)).toBe(`DELETE ${gh.url}/installation/token`);
  });

  it.each([
    ['no expires_at', { expires_at: undefined }],
    ['an unparseable expires_at', { expires_at: 'tomorrow' }],
    ['permissions as an array', { permissions: ['contents'] }],
    ['a non-string permission level', { permissions: { contents: 1 } }],
    ['no repository_selection', { repository_selection: undefined }],
    ['no repositories', { repositories: undefined }],
    ['a repository without a name', { repositories: [{ id: 1 }] }],
  ])('refuses and revokes a 201 with %s', async (_name, over) => {
    const result = await createGithubMinter(deps({ fetch: respond({ ...good, ...over }) })).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail: 'github.access_tokens_malformed' });
    expect(fetchCalls.at(-1)).toBe(`DELETE ${gh.url}/installation/token`);
  });

  it('refuses and revokes a token that is already expired', async () => {
    const result = await createGithubMinter(deps({ fetch: respond({ ...good, expires_at: iso(NOW_S - 1) }) })).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, detail: 'github.access_tokens_expired' });
    expect(fetchCalls.at(-1)).toBe(`DELETE ${gh.url}/installation/token`);
  });

  it.each([
    ['no token', { token: undefined }],
    ['an empty token', { token: '' }],
    ['a token with whitespace', { token: 'ghs_a b' }],
  ])('refuses a 201 with %s (nothing to revoke)', async (_name, over) => {
    const result = await createGithubMinter(deps({ fetch: respond({ ...good, ...over }) })).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, detail: 'github.access_tokens_malformed' });
    expect(fetchCalls.filter((c) => c.startsWith('DELETE'))).toEqual([]);
  });
});

describe('github minter: upstream failures', () => {
  it.each([
    ['forbidden', '403', /^github\.access_tokens_http_403:Resource not accessible by integration$/],
    ['rate_limited', '403', /^github\.access_tokens_http_403:API rate limit exceeded/],
  ] as const)('a 403 (%s) is ERR_UPSTREAM with the status as upstream code', async (mode, code, detail) => {
    gh.mode = mode;
    const result = await createGithubMinter(deps()).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', upstream_code: code });
    expect(!result.ok && result.detail).toMatch(detail);
  });

  it.each([
    ['a repository the installation lacks', { repositories: ['web', 'secret-repo'] }, '422'],
    ['a permission the installation lacks', { permissions: { administration: 'write' } }, '422'],
    ['another installation', { installation_id: '999' }, '404'],
    ['another App', { app_id: '54321', private_key_secret: `github-app-${APP_ID}` }, '401'],
  ])('GitHub refuses %s', async (_name, over, code) => {
    const result = await createGithubMinter(deps()).mint(grant(over), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', upstream_code: code });
  });

  it('GitHub refuses an App JWT signed with the wrong key', async () => {
    secrets.set(`github-app-${APP_ID}`, otherKey.pkcs1Pem);
    const result = await createGithubMinter(deps()).mint(grant(), ctx());
    expect(result).toMatchObject({
      ok: false,
      code: 'ERR_UPSTREAM',
      upstream_code: '401',
      detail: 'github.access_tokens_http_401:A JSON web token could not be decoded',
    });
  });

  it('GitHub refuses an App JWT when the clocks are far apart', async () => {
    const fake = await startFakeGithub({
      apps: [
        {
          app_id: APP_ID,
          publicKeyPem: appKey.publicKeyPem,
          installations: [
            { id: INSTALLATION, account: 'acme', repositories: ['web', 'api'], permissions: { contents: 'read', issues: 'write' } },
          ],
        },
      ],
      now: () => T0 + 15 * 60_000,
    });
    try {
      const result = await createGithubMinter(deps()).mint(grant({ api_url: fake.url }), ctx());
      expect(result).toMatchObject({ ok: false, upstream_code: '401' });
    } finally {
      await fake.close();
    }
  });

  it('gives up at the deadline when GitHub hangs', async () => {
    gh.mode = 'hang';
    const started = performance.now();
    const result = await createGithubMinter(deps()).mint(grant(), ctx());
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 4000);
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM' });
    expect(!result.ok && result.detail).toMatch(/^github\.access_tokens_timeout/);
  });

  it('refuses malformed JSON', async () => {
    gh.mode = 'malformed';
    const result = await createGithubMinter(deps()).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail: 'github.access_tokens_malformed' });
  });

  it('treats 200 (not 201) as an error: GitHub creates tokens with 201', async () => {
    const stub: CloudMintDeps['fetch'] = async () => Response.json({ token: 'ghs_x' }, { status: 200 });
    const result = await createGithubMinter(deps({ fetch: stub })).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, upstream_code: '200' });
  });

  it('does not follow redirects', async () => {
    const stub: CloudMintDeps['fetch'] = async () => new Response(null, { status: 307, headers: { location: 'https://evil.example/' } });
    const result = await createGithubMinter(deps({ fetch: stub })).mint(grant(), ctx());
    expect(!result.ok && result.detail).toMatch(/^github\.access_tokens_redirect/);
  });

  it('caps the response size by the number of repositories asked for', async () => {
    const stub: CloudMintDeps['fetch'] = async () => new Response('x'.repeat(200_000), { status: 201 });
    const result = await createGithubMinter(deps({ fetch: stub })).mint(grant(), ctx());
    expect(!result.ok && result.detail).toMatch(/^github\.access_tokens_too_large/);
  });
});

describe('github minter: refusals before any call', () => {
  it('a missing App key', async () => {
    const result = await createGithubMinter(deps({ secrets: { get: async () => null } })).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail: `github.app_key_missing:github-app-${APP_ID}` });
    expect(fetchCalls).toEqual([]);
  });

  it('a secret store that is down is unavailable, not an upstream failure', async () => {
    const result = await createGithubMinter(deps({ secrets: { get: async () => Promise.reject(new Error('down')) } })).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UNAVAILABLE' });
    expect(fetchCalls).toEqual([]);
  });

  it('an App key that is not an RSA private key', async () => {
    secrets.set(`github-app-${APP_ID}`, appKey.publicKeyPem);
    const result = await createGithubMinter(deps()).mint(grant(), ctx());
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail: `github.app_key_invalid:github-app-${APP_ID}` });
    expect(fetchCalls).toEqual([]);
  });

  it.each(['1/../../user', '12?x=1', '', 'abc', '1 2'])('installation_id %j', async (id) => {
    const result = await createGithubMinter(deps()).mint({ ...grant(), installation_id: id }, ctx());
    expect(result).toMatchObject({ ok: false, detail: 'github.installation_id_invalid' });
    expect(fetchCalls).toEqual([]);
  });

  it.each(['../x', 'a/b', ''])('app_id %j', async (id) => {
    const result = await createGithubMinter(deps()).mint({ ...grant(), app_id: id }, ctx());
    expect(result).toMatchObject({ ok: false, detail: 'github.app_id_invalid' });
    expect(fetchCalls).toEqual([]);
  });
});
