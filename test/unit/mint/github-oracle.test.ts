// The oracle: GitHub's own client (octokit, as @actions/github ships it) creates an installation token from
// the fake with an App JWT, uses it, revokes it, and reads the fake's errors, so the fake speaks GitHub's
// REST protocol and the github minter's tests against it mean something. The minter's token, too, is used
// and revoked through octokit.
import { getOctokit } from '@actions/github';
import { SignJWT, importPKCS8 } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGithubMinter } from '../../../broker/src/mint/github.ts';
import type { CompiledRole } from '../../../broker/src/policy/compile.ts';
import { grantSchema, type GrantOf } from '../../../broker/src/policy/schema.ts';
import { generateAppKey, startFakeGithub, type ServedFakeGithub } from '../../fakes/github.ts';
import { serveBrokerIssuer, type ServedIssuer } from '../../helpers/broker-issuer.ts';

const APP_ID = '12345';
const INSTALLATION = 777;
const appKey = generateAppKey();
let gh: ServedFakeGithub;
let broker: ServedIssuer;

// octokit knows nothing of frozen clocks, so this file uses the real one.
beforeAll(async () => {
  broker = await serveBrokerIssuer({ now: Date.now() });
  gh = await startFakeGithub({
    apps: [
      {
        app_id: APP_ID,
        publicKeyPem: appKey.publicKeyPem,
        installations: [
          { id: String(INSTALLATION), account: 'acme', repositories: ['web', 'api'], permissions: { contents: 'write', metadata: 'read' } },
        ],
      },
    ],
  });
});
afterAll(async () => {
  await gh.close();
  await broker.close();
});
afterEach(() => {
  gh.mode = 'ok';
});

/** An App JWT the way octokit's universal-github-app-jwt makes one: iat 30 s back, exp 10 minutes after iat. */
async function appJwt(): Promise<string> {
  const iat = Math.floor(Date.now() / 1000) - 30;
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(APP_ID)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 600)
    .sign(await importPKCS8(appKey.pkcs8Pem, 'RS256'));
}

const octokit = (token: string) => getOctokit(token, { baseUrl: gh.url });

describe('octokit against the fake GitHub API', () => {
  it('creates an installation token, uses it, revokes it', async () => {
    const created = await octokit(await appJwt()).rest.apps.createInstallationAccessToken({
      installation_id: INSTALLATION,
      repositories: ['web'],
      permissions: { contents: 'read' },
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ permissions: { contents: 'read', metadata: 'read' }, repository_selection: 'selected' });
    expect(created.data.repositories?.map((r) => r.full_name)).toEqual(['acme/web']);
    expect(Date.parse(created.data.expires_at)).toBeGreaterThan(Date.now() + 3500_000);

    const installation = octokit(created.data.token);
    const repos = await installation.rest.apps.listReposAccessibleToInstallation();
    expect(repos.status).toBe(200);
    expect(repos.data.total_count).toBe(1);
    expect(repos.data.repositories.map((r) => r.name)).toEqual(['web']);

    expect((await installation.rest.apps.revokeInstallationAccessToken()).status).toBe(204);
    await expect(installation.rest.apps.listReposAccessibleToInstallation()).rejects.toMatchObject({
      status: 401,
      response: { data: { message: 'Bad credentials' } },
    });
  });

  it('reads the fake’s 403 error bodies as GitHub’s', async () => {
    gh.mode = 'forbidden';
    await expect(octokit(await appJwt()).rest.apps.createInstallationAccessToken({ installation_id: INSTALLATION })).rejects.toMatchObject({
      name: 'HttpError',
      status: 403,
      message: expect.stringMatching(/^Resource not accessible by integration - https:\/\/docs\.github\.com\//),
    });
    gh.mode = 'rate_limited';
    await expect(octokit(await appJwt()).rest.apps.createInstallationAccessToken({ installation_id: INSTALLATION })).rejects.toMatchObject({
      status: 403,
      response: { headers: { 'x-ratelimit-remaining': '0' } },
    });
  });

  it('refuses octokit’s request with an App JWT for an installation of another App', async () => {
    await expect(octokit(await appJwt()).rest.apps.createInstallationAccessToken({ installation_id: 1 })).rejects.toMatchObject({
      status: 404,
    });
  });

  it('the broker’s token works through octokit, and the broker’s revoke kills it', async () => {
    const minter = createGithubMinter({
      fetch: (input, init) => fetch(input, init),
      issuer: broker.issuer,
      timeoutMs: 2000,
      secrets: { get: async (name) => ({ name, version: 1, value: appKey.pkcs1Pem }) },
    });
    const grant = grantSchema.parse({
      type: 'github',
      app_id: APP_ID,
      installation_id: INSTALLATION,
      repositories: ['api'],
      permissions: { contents: 'write' },
      api_url: gh.url,
    }) as GrantOf<'github'>;
    const now = Math.floor(Date.now() / 1000);
    const result = await minter.mint(grant, {
      role: { name: 'deploy', maxTtl: 900 } as CompiledRole,
      claims: {},
      issuer: 'github',
      requestId: 'r1',
      now,
      maxTtl: 900,
    });
    if (!result.ok || !result.revocation) throw new Error(`mint failed: ${JSON.stringify(result)}`);
    const installation = octokit(result.credential.token as string);
    expect((await installation.rest.apps.listReposAccessibleToInstallation()).data.repositories.map((r) => r.name)).toEqual(['api']);
    expect(await minter.revoke!(result.revocation)).toEqual({ ok: true });
    await expect(installation.rest.apps.listReposAccessibleToInstallation()).rejects.toMatchObject({ status: 401 });
  });
});
