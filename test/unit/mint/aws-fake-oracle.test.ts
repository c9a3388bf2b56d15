// The fake STS is only worth what it is faithful: the official SDK (@aws-sdk/client-sts) is pointed at it
// and must parse its answers, successes and errors alike (AWS error code -> SDK error name), and its signed
// AssumeRole requests must verify in the fake's SigV4 check.
import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeAwsSts } from '../../fakes/aws-sts.ts';
import { serveFake, type ServedFake } from '../../fakes/tls.ts';
import { serveBrokerIssuer, type ServedIssuer } from '../../helpers/broker-issuer.ts';

const ROLE = 'arn:aws:iam::111122223333:role/web-deploy';
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

let issuer: ServedIssuer;
let fake: FakeAwsSts;
let served: ServedFake;
/** How far the fake's clock runs ahead of the real one (to make tokens expire). */
let fakeAheadMs = 0;

beforeAll(async () => {
  issuer = await serveBrokerIssuer();
  fake = new FakeAwsSts({
    oidcProviders: { [issuer.url]: ['sts.amazonaws.com'] },
    roles: { [ROLE]: { sub: 'role:deploy-web-prod', maxSessionDuration: 3600 } },
    accessKeys: { [KEY_ID]: SECRET },
    region: 'us-east-1',
    now: () => Date.now() + fakeAheadMs,
  });
  served = await serveFake(fake.handle);
});

afterAll(async () => {
  await served.close();
  await issuer.close();
});

beforeEach(() => {
  fakeAheadMs = 0;
  fake.mode = 'ok';
  fake.calls.length = 0;
});

function client(credentials?: { accessKeyId: string; secretAccessKey: string }): STSClient {
  return new STSClient({ region: 'us-east-1', endpoint: served.url, maxAttempts: 1, ...(credentials ? { credentials } : {}) });
}

async function brokerToken(
  overrides: { audience?: string; ttl?: number; subject?: string; claims?: Record<string, unknown> } = {},
): Promise<string> {
  const signed = await issuer.issuer.sign({
    subject: overrides.subject ?? 'role:deploy-web-prod',
    audience: overrides.audience ?? 'sts.amazonaws.com',
    ttl: overrides.ttl ?? 300,
    claims: overrides.claims ?? { repository: 'acme/web' },
  });
  return signed.token;
}

async function sdkError(promise: Promise<unknown>): Promise<STSServiceException> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(STSServiceException);
  return err as STSServiceException;
}

describe('AssumeRoleWithWebIdentity through @aws-sdk/client-sts', () => {
  it('parses the fake success, including tags and source identity set by token claims', async () => {
    const token = await brokerToken({
      claims: {
        'https://aws.amazon.com/tags': { principal_tags: { Repository: ['acme/web'] }, transitive_tag_keys: ['Repository'] },
        'https://aws.amazon.com/source_identity': 'acme-web',
      },
    });
    const out = await client().send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: ROLE,
        RoleSessionName: 'acme-web@42',
        WebIdentityToken: token,
        DurationSeconds: 900,
      }),
    );
    const issued = fake.calls[0]?.issued;
    expect(issued).toBeDefined();
    expect(out.Credentials?.AccessKeyId).toBe(issued?.accessKeyId);
    expect(out.Credentials?.SecretAccessKey).toBe(issued?.secretAccessKey);
    expect(out.Credentials?.SessionToken).toBe(issued?.sessionToken);
    expect(out.Credentials?.Expiration).toBeInstanceOf(Date);
    expect(out.Credentials!.Expiration!.getTime() / 1000).toBe(issued?.expiration);
    expect(out.AssumedRoleUser?.Arn).toBe('arn:aws:sts::111122223333:assumed-role/web-deploy/acme-web@42');
    expect(out.AssumedRoleUser?.AssumedRoleId).toMatch(/^AROA[A-Z0-9]+:acme-web@42$/);
    expect(out.SubjectFromWebIdentityToken).toBe('role:deploy-web-prod');
    expect(out.Audience).toBe('sts.amazonaws.com');
    expect(out.Provider).toBe(`arn:aws:iam::111122223333:oidc-provider/${issuer.url.replace('http://', '')}`);
    expect(out.SourceIdentity).toBe('acme-web');
    expect(out.PackedPolicySize).toBeGreaterThan(0);
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(fake.calls[0]?.tags).toEqual({ Repository: 'acme/web' });
    // The fake verified the token against the broker's published JWKS, fetched over HTTP.
    expect(fake.verifier.jwksFetched).toContain(`${issuer.url}/.well-known/jwks.json`);
  });

  it.each([
    ['an expired token', { ttl: 1 }, 'ExpiredTokenException', 400, 60_000],
    ['another audience', { audience: 'https://example.com' }, 'InvalidIdentityTokenException', 400, 0],
    ['a subject the trust policy does not name', { subject: 'role:other' }, 'AccessDenied', 403, 0],
  ] as const)('maps %s to the SDK error', async (_name, overrides, name, status, aheadMs) => {
    const token = await brokerToken(overrides);
    fakeAheadMs = aheadMs;
    const err = await sdkError(
      client().send(new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE, RoleSessionName: 'acme-web', WebIdentityToken: token })),
    );
    expect(err.name).toBe(name);
    expect(err.$metadata.httpStatusCode).toBe(status);
    expect(err.$fault).toBe('client');
  });

  it('maps a token from an issuer with no IAM OIDC provider to InvalidIdentityTokenException', async () => {
    const other = await serveBrokerIssuer();
    try {
      const signed = await other.issuer.sign({ subject: 'role:deploy-web-prod', audience: 'sts.amazonaws.com', ttl: 300, claims: {} });
      const err = await sdkError(
        client().send(new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE, RoleSessionName: 'acme-web', WebIdentityToken: signed.token })),
      );
      expect(err.name).toBe('InvalidIdentityTokenException');
      expect(err.message).toMatch(/No OpenIDConnect provider/);
    } finally {
      await other.close();
    }
  });

  it.each([
    ['deny', 'AccessDenied', 403, 'client'],
    ['throttle', 'Throttling', 400, 'client'],
    ['server_error', 'InternalFailure', 500, 'server'],
  ] as const)('parses the %s mode error', async (mode, name, status, fault) => {
    fake.mode = mode;
    const err = await sdkError(
      client().send(
        new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE, RoleSessionName: 'acme-web', WebIdentityToken: await brokerToken() }),
      ),
    );
    expect(err.name).toBe(name);
    expect(err.$metadata.httpStatusCode).toBe(status);
    expect(err.$fault).toBe(fault);
    expect(err.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses what STS refuses: durations outside 900..MaxSessionDuration, bad session names', async () => {
    const token = await brokerToken();
    for (const input of [
      { DurationSeconds: 899, RoleSessionName: 'acme-web' },
      { DurationSeconds: 7200, RoleSessionName: 'acme-web' },
      { DurationSeconds: 900, RoleSessionName: 'acme/web' },
      { DurationSeconds: 900, RoleSessionName: 'a' },
    ]) {
      const err = await sdkError(client().send(new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE, WebIdentityToken: token, ...input })));
      expect(err.name).toBe('ValidationError');
    }
  });

  it('parses a malformed session policy error as MalformedPolicyDocumentException', async () => {
    const err = await sdkError(
      client().send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: ROLE,
          RoleSessionName: 'acme-web',
          WebIdentityToken: await brokerToken(),
          Policy: '{not json',
        }),
      ),
    );
    expect(err.name).toBe('MalformedPolicyDocumentException');
  });
});

describe('AssumeRole through @aws-sdk/client-sts (SigV4)', () => {
  it('verifies the SDK signature and parses the success, with tags, source identity and policy ARNs', async () => {
    const out = await client({ accessKeyId: KEY_ID, secretAccessKey: SECRET }).send(
      new AssumeRoleCommand({
        RoleArn: ROLE,
        RoleSessionName: 'acme-web@42',
        DurationSeconds: 1800,
        SourceIdentity: 'acme-web',
        Tags: [{ Key: 'Repository', Value: 'acme/web' }],
        TransitiveTagKeys: ['Repository'],
        PolicyArns: [{ arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }],
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }),
      }),
    );
    const call = fake.calls[0];
    expect(call?.accessKeyId).toBe(KEY_ID);
    expect(call?.tags).toEqual({ Repository: 'acme/web' });
    expect(call?.transitiveTagKeys).toEqual(['Repository']);
    expect(call?.params['PolicyArns.member.1.arn']).toBe('arn:aws:iam::aws:policy/ReadOnlyAccess');
    expect(out.Credentials?.AccessKeyId).toBe(call?.issued?.accessKeyId);
    expect(out.Credentials!.Expiration!.getTime() / 1000).toBe(call?.issued?.expiration);
    expect(out.SourceIdentity).toBe('acme-web');
    expect(out.AssumedRoleUser?.Arn).toBe('arn:aws:sts::111122223333:assumed-role/web-deploy/acme-web@42');
  });

  it.each([
    ['a wrong secret key', { accessKeyId: KEY_ID, secretAccessKey: `${SECRET}x` }, 'SignatureDoesNotMatch', 403],
    ['an unknown key id', { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: SECRET }, 'InvalidClientTokenId', 403],
  ] as const)('rejects %s with the AWS error code as the SDK error name', async (_name, credentials, name, status) => {
    const err = await sdkError(client(credentials).send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'acme-web' })));
    expect(err.name).toBe(name);
    expect(err.$metadata.httpStatusCode).toBe(status);
  });

  it('rejects a signature scoped to another region', async () => {
    const other = new STSClient({
      region: 'eu-west-1',
      endpoint: served.url,
      maxAttempts: 1,
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
    });
    const err = await sdkError(other.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'acme-web' })));
    expect(err.name).toBe('SignatureDoesNotMatch');
  });

  it('refuses an unknown role as AccessDenied', async () => {
    const err = await sdkError(
      client({ accessKeyId: KEY_ID, secretAccessKey: SECRET }).send(
        new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111122223333:role/other', RoleSessionName: 'acme-web' }),
      ),
    );
    expect(err.name).toBe('AccessDenied');
  });
});
