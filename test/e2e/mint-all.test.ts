// Issue 3 acceptance: one role granting AWS, Azure, GCP and GitHub credentials, the real Node broker (sqlite,
// its own signing key, its JWKS over HTTP) and the four cloud fakes on loopback, each checking what the real
// service checks. Then the failure modes: a hang, a 403, a malformed answer -> 502, nothing returned, the
// GitHub token minted earlier in the same request revoked, the cause in the audit record.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startNodeBroker, type RunningBroker } from '../../broker/entry/node.ts';
import { generateKekBase64 } from '../../broker/src/store/envelope.ts';
import { generateIssuerKey, serveTestIssuer, signTestToken, type IssuerKey, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';
import { FakeAwsSts } from '../fakes/aws-sts.ts';
import { startFakeEntra, type ServedFakeEntra } from '../fakes/azure.ts';
import { FakeGcp } from '../fakes/gcp.ts';
import { generateAppKey, startFakeGithub, type ServedFakeGithub } from '../fakes/github.ts';
import { serveFake, type ServedFake } from '../fakes/tls.ts';
import { freePort } from '../helpers/ports.ts';

const AUD = 'https://broker.e2e.test';
const ROLE_ARN = 'arn:aws:iam::111122223333:role/web-deploy';
const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/ci/providers/secret-broker';
const SA = 'deployer@acme-prod.iam.gserviceaccount.com';
const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = '66666666-7777-8888-9999-000000000000';
const MAX_TTL = 900;

let dir: string;
let ciIssuer: TestIssuerServer;
let ciKey: IssuerKey;
let broker: RunningBroker;
let aws: FakeAwsSts;
let gcp: FakeGcp;
let entra: ServedFakeEntra;
let github: ServedFakeGithub;
const served: ServedFake[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-mint-'));
  ciKey = await generateIssuerKey();
  ciIssuer = await serveTestIssuer(ciKey);
  const port = await freePort();
  const brokerUrl = `http://127.0.0.1:${port}`;

  aws = new FakeAwsSts({ oidcProviders: { [brokerUrl]: ['sts.amazonaws.com'] }, roles: { [ROLE_ARN]: { sub: 'role:deploy-all' } } });
  gcp = new FakeGcp({
    providers: { [PROVIDER]: { issuer: brokerUrl } },
    serviceAccounts: { [SA]: { allowedSubjects: ['role:deploy-all'] } },
  });
  const awsServed = await serveFake(aws.handle);
  const gcpServed = await serveFake(gcp.handle);
  served.push(awsServed, gcpServed);
  entra = await startFakeEntra({
    apps: [{ tenant_id: TENANT, client_id: CLIENT, federated: [{ issuer: brokerUrl, subject: 'role:deploy-all' }] }],
  });
  const appKey = generateAppKey();
  github = await startFakeGithub({
    apps: [
      {
        app_id: '4242',
        publicKeyPem: appKey.publicKeyPem,
        installations: [{ id: '777', account: 'acme', repositories: ['web', 'api'], permissions: { contents: 'write' } }],
      },
    ],
  });

  const pol = join(dir, 'policies');
  mkdirSync(join(pol, 'roles'), { recursive: true });
  writeFileSync(join(pol, 'issuers.yaml'), `issuers:\n  ci:\n    url: ${ciIssuer.url}\n    audience: ${AUD}\n`);
  writeFileSync(
    join(pol, 'roles/deploy-all.yaml'),
    `role: deploy-all
issuer: ci
max_ttl: 15m
allow:
  - repository_id: "42"
grants:
  - type: github
    app_id: 4242
    installation_id: 777
    repositories: [web]
    permissions: {contents: read}
    api_url: ${github.url}
  - type: aws
    role_arn: ${ROLE_ARN}
    region: us-east-1
    sts_endpoint: ${awsServed.url}/
  - type: azure
    tenant_id: ${TENANT}
    client_id: ${CLIENT}
    scope: https://management.azure.com/.default
    authority_host: ${entra.url}
  - type: gcp
    workload_identity_provider: ${PROVIDER}
    service_account: ${SA}
    sts_url: ${gcpServed.url}/v1/token
    iam_credentials_url: ${gcpServed.url}
`,
  );
  const env = { BROKER_KEK: generateKekBase64(), BROKER_PUBLIC_URL: brokerUrl, BROKER_UPSTREAM_TIMEOUT_MS: '1500' };
  broker = await startNodeBroker({ policiesDir: pol, dataDir: join(dir, 'data'), port, host: '127.0.0.1', env, log: () => {} });
  await broker.vault.put('github-app-4242', appKey.pkcs1Pem, Math.floor(Date.now() / 1000));
}, 60_000);

afterAll(async () => {
  await broker?.stop();
  await ciIssuer?.close();
  for (const s of served) await s.close();
  await entra?.close();
  await github?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  aws.mode = 'ok';
  gcp.stsMode = 'ok';
  gcp.iamMode = 'ok';
  entra.mode = 'ok';
  github.mode = 'ok';
});

const idToken = (extra: Record<string, unknown> = {}) =>
  signTestToken(ciKey, {
    iss: ciIssuer.url,
    aud: AUD,
    sub: 'repo:acme/web:ref:refs/heads/main',
    repository: 'acme/web',
    repository_id: '42',
    run_id: '9001',
    ...extra,
  });

async function post(path: string, body: unknown) {
  const res = await fetch(`${broker.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const lastAudit = async () => {
  const page = await broker.deps.auditor.store.list({ descending: true, limit: 1 });
  return JSON.parse(page[0]!.record);
};

describe('one exchange, four clouds', () => {
  it('returns all four credentials in the documented shape, none outliving max_ttl', async () => {
    const started = Math.floor(Date.now() / 1000);
    const { status, body } = await post('/v1/exchange', { token: await idToken(), role: 'deploy-all' });
    expect(status, JSON.stringify(body)).toBe(200);
    const byType = Object.fromEntries(body.credentials.map((c: { type: string }) => [c.type, c]));
    expect(Object.keys(byType).sort()).toEqual(['aws', 'azure', 'gcp', 'github']);
    expect(byType.aws).toEqual({
      type: 'aws',
      access_key_id: expect.stringMatching(/^ASIA/),
      secret_access_key: expect.any(String),
      session_token: expect.any(String),
      expires_at: expect.any(String),
      region: 'us-east-1',
      role_arn: ROLE_ARN,
    });
    expect(byType.azure).toEqual({
      type: 'azure',
      access_token: expect.any(String),
      expires_at: expect.any(String),
      tenant_id: TENANT,
      client_id: CLIENT,
      scope: 'https://management.azure.com/.default',
    });
    expect(byType.gcp).toMatchObject({
      type: 'gcp',
      access_token: expect.any(String),
      expires_at: expect.any(String),
      service_account: SA,
    });
    // GitHub adds metadata: read to every token with repository access; the credential says what was granted.
    expect(byType.github).toEqual({
      type: 'github',
      token: expect.stringMatching(/^ghs_/),
      expires_at: expect.any(String),
      repositories: ['web'],
      permissions: { contents: 'read', metadata: 'read' },
    });
    for (const c of body.credentials) {
      expect(Date.parse(c.expires_at) / 1000, c.type).toBeLessThanOrEqual(started + MAX_TTL + 2);
    }
    expect(Date.parse(body.expires_at) / 1000).toBeLessThanOrEqual(started + MAX_TTL + 2);

    // Each cloud saw a broker token that verifies against the broker's published JWKS.
    const jwks = createRemoteJWKSet(new URL(`${broker.url}/.well-known/jwks.json`));
    const seen = {
      aws: aws.calls.at(-1)!.params.WebIdentityToken!,
      azure: entra.assertions.at(-1)!.token,
      gcp: gcp.calls.find((c) => c.endpoint === 'sts')!.fields.subject_token!,
    };
    const audiences = { aws: 'sts.amazonaws.com', azure: 'api://AzureADTokenExchange', gcp: `https://iam.googleapis.com/${PROVIDER}` };
    for (const [type, token] of Object.entries(seen)) {
      const { payload } = await jwtVerify(token, jwks, { issuer: broker.url, audience: audiences[type as keyof typeof audiences] });
      expect(payload, type).toMatchObject({ sub: 'role:deploy-all', repository: 'acme/web', repository_id: '42', run_id: '9001' });
      expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(300);
    }
    // GitHub's side: an App JWT for app 4242, and a token scoped to what the role grants.
    expect(github.appJwts.at(-1)).toMatchObject({ iss: '4242' });
    const ghToken = github.tokens.get(byType.github.token)!;
    expect(ghToken).toMatchObject({ repositories: ['web'], permissions: { contents: 'read' }, revoked: false });

    const record = await lastAudit();
    expect(record.credentials.map((c: { type: string }) => c.type)).toEqual(['github', 'aws', 'azure', 'gcp']);
    expect(JSON.stringify(record)).not.toContain(byType.aws.secret_access_key);
    expect(JSON.stringify(record)).not.toContain(byType.github.token);
  });

  it('the post step revokes the GitHub token with a fresh token from the same job; another job cannot', async () => {
    const { body } = await post('/v1/exchange', { token: await idToken(), role: 'deploy-all' });
    const gh = body.credentials.find((c: { type: string }) => c.type === 'github');
    const stranger = await post('/v1/revoke', { token: await idToken({ run_id: '1' }), request_id: body.request_id });
    // Another job gets the answer of "nothing to revoke" (it must not learn that the request holds any).
    expect([stranger.status, stranger.body.revoked]).toEqual([200, []]);
    expect(github.tokens.get(gh.token)!.revoked).toBe(false);
    const own = await post('/v1/revoke', { token: await idToken(), request_id: body.request_id });
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expect(own.body.revoked).toEqual([{ type: 'github', ok: true }]);
    expect(github.tokens.get(gh.token)!.revoked).toBe(true);
    const again = await post('/v1/revoke', { token: await idToken(), request_id: body.request_id });
    expect(again.body.revoked).toEqual([]);
    expect((await lastAudit()).action).toBe('revoke');
  });
});

describe('an upstream failing', () => {
  const cases: [string, () => void, string][] = [
    ['AWS STS hangs', () => (aws.mode = 'hang'), 'aws'],
    ['Entra answers 403', () => (entra.mode = { error: 'tenantNotFound', status: 403 } as never), 'azure'],
    ['AWS answers malformed XML', () => (aws.mode = 'malformed'), 'aws'],
    ['GCP STS answers malformed JSON', () => (gcp.stsMode = 'malformed'), 'gcp'],
    ['GCP refuses the impersonation (403)', () => (gcp.iamMode = 'deny'), 'gcp'],
  ];
  it.each(cases)('%s -> 502, nothing returned, earlier GitHub token revoked, cause audited', async (_name, breakIt, type) => {
    breakIt();
    const before = new Set(github.tokens.keys());
    const started = Date.now();
    const { status, body } = await post('/v1/exchange', { token: await idToken(), role: 'deploy-all' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect([status, body.error]).toEqual([502, 'ERR_UPSTREAM']);
    expect(Object.keys(body).sort()).toEqual(['error', 'message', 'request_id']);
    const minted = [...github.tokens.entries()].filter(([t]) => !before.has(t));
    expect(minted).toHaveLength(1);
    expect(minted[0]![1].revoked).toBe(true);
    const record = await lastAudit();
    expect(record).toMatchObject({ code: 'ERR_UPSTREAM', upstream: { type } });
    expect(record.reason).toMatch(new RegExp(`^${type}\\.`));
  });
});
