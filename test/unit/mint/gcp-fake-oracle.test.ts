// The fake Google Cloud is only worth what it is faithful: google-auth-library's workload identity client
// (IdentityPoolClient with a subject token supplier, the fake STS as token_url and the fake IAM Credentials
// as service_account_impersonation_url) must get access tokens from it, its STS client must downscope with
// an access boundary, and both must surface the fakes' errors.
import { IdentityPoolClient } from 'google-auth-library';
import { StsCredentials } from 'google-auth-library/build/src/auth/stscredentials.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeGcp } from '../../fakes/gcp.ts';
import { serveFake, type ServedFake } from '../../fakes/tls.ts';
import { serveBrokerIssuer, type ServedIssuer } from '../../helpers/broker-issuer.ts';

const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/ci/providers/secret-broker';
const SA = 'deployer@acme-prod.iam.gserviceaccount.com';

let issuer: ServedIssuer;
let fake: FakeGcp;
let served: ServedFake;

beforeAll(async () => {
  issuer = await serveBrokerIssuer();
  fake = new FakeGcp({
    providers: { [PROVIDER]: { issuer: issuer.url, attributeCondition: (c) => c.repository === 'acme/web' } },
    serviceAccounts: { [SA]: { allowedSubjects: ['role:deploy-web-prod'] } },
  });
  served = await serveFake(fake.handle);
});

afterAll(async () => {
  await served.close();
  await issuer.close();
});

beforeEach(() => {
  fake.stsMode = 'ok';
  fake.iamMode = 'ok';
  fake.calls.length = 0;
});

async function brokerToken(
  audience = `https://iam.googleapis.com/${PROVIDER}`,
  claims: Record<string, unknown> = { repository: 'acme/web' },
): Promise<string> {
  return (await issuer.issuer.sign({ subject: 'role:deploy-web-prod', audience, ttl: 300, claims })).token;
}

function poolClient(token: string, impersonate: boolean): IdentityPoolClient {
  return new IdentityPoolClient({
    type: 'external_account',
    audience: `//iam.googleapis.com/${PROVIDER}`,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: `${served.url}/v1/token`,
    subject_token_supplier: { getSubjectToken: async () => token },
    ...(impersonate
      ? {
          service_account_impersonation_url: `${served.url}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
          service_account_impersonation: { token_lifetime_seconds: 600 },
        }
      : {}),
  });
}

describe('google-auth-library against the fake', () => {
  it('exchanges a broker token and impersonates the service account', async () => {
    const client = poolClient(await brokerToken(), true);
    const { token } = await client.getAccessToken();
    const [sts, iam] = fake.calls;
    expect(sts?.endpoint).toBe('sts');
    expect(sts?.status).toBe(200);
    expect(sts?.fields.subject_token_type).toBe('urn:ietf:params:oauth:token-type:jwt');
    expect(sts?.fields.scope).toBe('https://www.googleapis.com/auth/cloud-platform');
    expect(sts?.claims?.sub).toBe('role:deploy-web-prod');
    expect(iam?.endpoint).toBe('iam');
    expect(iam?.status).toBe(200);
    expect(iam?.body).toMatchObject({ lifetime: '600s' });
    expect(token).toBe(iam?.issued?.token);
    expect(client.credentials.expiry_date).toBe((iam?.issued?.expiresAt ?? 0) * 1000);
    expect(fake.verifier.jwksFetched).toContain(`${issuer.url}/.well-known/jwks.json`);
  });

  it('gets a federated token without impersonation', async () => {
    const { token } = await poolClient(await brokerToken(), false).getAccessToken();
    expect(fake.calls).toHaveLength(1);
    expect(token).toBe(fake.calls[0]?.issued?.token);
    expect(fake.calls[0]?.issued?.kind).toBe('federated');
  });

  it('downscopes a service account token with a credential access boundary through the STS client', async () => {
    const client = poolClient(await brokerToken(), true);
    const { token: source } = await client.getAccessToken();
    const sts = new StsCredentials({ tokenExchangeEndpoint: `${served.url}/v1/token` });
    const boundary = {
      accessBoundary: {
        accessBoundaryRules: [
          {
            availableResource: '//storage.googleapis.com/projects/_/buckets/acme-artifacts',
            availablePermissions: ['inRole:roles/storage.objectViewer'],
            availabilityCondition: {
              expression: "resource.name.startsWith('projects/_/buckets/acme-artifacts/objects/web/')",
              title: 'web only',
            },
          },
        ],
      },
    };
    const out = await sts.exchangeToken(
      {
        grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
        requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
        subjectToken: source!,
        subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      },
      undefined,
      boundary,
    );
    const call = fake.calls.at(-1);
    expect(call?.issued?.kind).toBe('downscoped');
    expect(call?.issued?.accessBoundary).toEqual(boundary.accessBoundary);
    expect(out.access_token).toBe(call?.issued?.token);
    expect(out.expires_in).toBeGreaterThan(0);
  });

  it.each([
    [
      'a wrong audience',
      `https://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/x/providers/y`,
      { repository: 'acme/web' },
      /invalid_grant/,
    ],
    ['a claim the attribute condition rejects', undefined, { repository: 'acme/other' }, /unauthorized_client/],
  ] as const)('surfaces STS refusing %s as the OAuth error code', async (_name, audience, claims, pattern) => {
    const client = poolClient(await brokerToken(audience, claims), false);
    await expect(client.getAccessToken()).rejects.toThrow(pattern);
    expect(fake.calls[0]?.status).toBe(400);
  });

  it('surfaces the STS deny mode (403) and the IAM deny mode (403 PERMISSION_DENIED)', async () => {
    fake.stsMode = 'deny';
    await expect(poolClient(await brokerToken(), true).getAccessToken()).rejects.toThrow(/access_denied/);
    fake.stsMode = 'ok';
    fake.iamMode = 'deny';
    const err = await poolClient(await brokerToken(), true)
      .getAccessToken()
      .then(
        () => undefined,
        (e: unknown) => e as { status?: number; message: string },
      );
    expect(err?.status).toBe(403);
    expect(err?.message).toMatch(/iam\.serviceAccounts\.getAccessToken/);
  });

  it('refuses a lifetime beyond 3600s as the real IAM does', async () => {
    const client = new IdentityPoolClient({
      type: 'external_account',
      audience: `//iam.googleapis.com/${PROVIDER}`,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: `${served.url}/v1/token`,
      subject_token_supplier: { getSubjectToken: async () => brokerToken() },
      service_account_impersonation_url: `${served.url}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
      service_account_impersonation: { token_lifetime_seconds: 7200 },
    });
    const err = await client.getAccessToken().then(
      () => undefined,
      (e: unknown) => e as { status?: number },
    );
    expect(err?.status).toBe(400);
    expect(fake.calls.at(-1)?.error).toBe('INVALID_ARGUMENT');
  });
});
