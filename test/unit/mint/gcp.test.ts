// The gcp minter against the fake Google Cloud on loopback (STS verifies the broker token against the
// broker's JWKS over HTTP; IAM Credentials checks the bearer it issued): credential shape, lifetimes within
// max_ttl, access boundaries, and every failure as ERR_UPSTREAM with Google's code kept, nothing partial.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CloudMintDeps } from '../../../broker/src/mint/broker-token.ts';
import { createGcpMinter, providerAudience } from '../../../broker/src/mint/gcp.ts';
import type { MintResult } from '../../../broker/src/mint/types.ts';
import { isoSeconds } from '../../../broker/src/util/duration.ts';
import { FakeGcp, type FakeGcpMode } from '../../fakes/gcp.ts';
import { GITHUB_CLAIMS, grantOf, mintContext } from '../../fakes/mint-context.ts';
import { serveFake, type ServedFake } from '../../fakes/tls.ts';
import { serveBrokerIssuer, type ServedIssuer } from '../../helpers/broker-issuer.ts';

const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/ci/providers/secret-broker';
const SA = 'deployer@acme-prod.iam.gserviceaccount.com';
const BOUNDARY = [
  {
    available_resource: '//storage.googleapis.com/projects/_/buckets/acme-artifacts',
    available_permissions: ['inRole:roles/storage.objectViewer'],
    availability_condition: { expression: "resource.name.startsWith('projects/_/buckets/acme-artifacts/objects/web/')", title: 'web only' },
  },
];
const GOOGLE_BOUNDARY = {
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
};
const clock = { now: Date.UTC(2026, 10, 28, 1, 0, 0) };
const NOW = clock.now / 1000;

let issuer: ServedIssuer;
let fake: FakeGcp;
let served: ServedFake;

beforeAll(async () => {
  issuer = await serveBrokerIssuer(clock);
  fake = new FakeGcp({
    providers: { [PROVIDER]: { issuer: issuer.url, attributeCondition: (c) => c.repository_id === '123456' } },
    serviceAccounts: {
      [SA]: { allowedSubjects: ['role:deploy-web-prod'] },
      'other@acme-prod.iam.gserviceaccount.com': { allowedSubjects: ['role:someone-else'] },
    },
    now: () => clock.now,
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

function deps(overrides: Partial<CloudMintDeps> = {}): CloudMintDeps {
  return {
    fetch: (input, init) => fetch(input, init),
    issuer: issuer.issuer,
    timeoutMs: 2000,
    secrets: { get: async () => null },
    ...overrides,
  };
}

async function mint(
  fields: Record<string, unknown> = {},
  opts: { maxTtl?: string; claims?: Record<string, unknown>; deps?: Partial<CloudMintDeps>; url?: string } = {},
): Promise<MintResult> {
  const url = opts.url ?? served.url;
  const grant = grantOf('gcp', {
    workload_identity_provider: PROVIDER,
    service_account: SA,
    sts_url: `${url}/v1/token`,
    iam_credentials_url: url,
    ...fields,
  });
  const ctx = mintContext({ grant, now: NOW, maxTtl: opts.maxTtl ?? '1h', ...(opts.claims ? { claims: opts.claims } : {}) });
  return createGcpMinter(deps(opts.deps)).mint(grant, ctx);
}

function expectFailure(result: MintResult): Extract<MintResult, { ok: false }> {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('minted');
  expect(result.code).toBe('ERR_UPSTREAM');
  return result;
}

describe('with service account impersonation', () => {
  it('returns the documented credential shape: the service account token, expiring within max_ttl', async () => {
    const result = await mint({ lifetime: '10m' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const iam = fake.calls.find((c) => c.endpoint === 'iam');
    expect(Object.keys(result.credential).sort()).toEqual(['access_token', 'expires_at', 'project_id', 'service_account', 'type']);
    expect(result.credential).toEqual({
      type: 'gcp',
      access_token: iam?.issued?.token,
      expires_at: isoSeconds(NOW + 600),
      service_account: SA,
      project_id: 'acme-prod',
    });
    expect(iam?.issued?.kind).toBe('service_account');
    expect(result.summary).toEqual({ type: 'gcp', target: SA, expires_at: isoSeconds(NOW + 600) });
  });

  it('exchanges a broker token for the provider audience, then impersonates with the grant scopes', async () => {
    await mint({ scopes: ['https://www.googleapis.com/auth/devstorage.read_only'], lifetime: '10m' });
    const [sts, iam] = fake.calls;
    expect(sts?.status).toBe(200);
    expect(sts?.fields).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      audience: `//iam.googleapis.com/${PROVIDER}`,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      subject_token: expect.any(String),
      scope: 'https://www.googleapis.com/auth/cloud-platform',
    });
    const claims = decodeJwt(sts!.fields.subject_token!);
    expect(claims).toMatchObject({
      iss: issuer.url,
      sub: 'role:deploy-web-prod',
      aud: `https://iam.googleapis.com/${PROVIDER}`,
      repository_id: '123456',
    });
    expect(sts?.claims?.jti).toBe(claims.jti);
    expect(fake.verifier.jwksFetched).toContain(`${issuer.url}/.well-known/jwks.json`);
    expect(iam?.serviceAccount).toBe(SA);
    expect(iam?.body).toEqual({ scope: ['https://www.googleapis.com/auth/devstorage.read_only'], lifetime: '600s' });
  });

  it.each([
    ['no lifetime: max_ttl', {}, '15m', 900],
    ['a lifetime over max_ttl: max_ttl', { lifetime: '1h' }, '10m', 600],
    ['a lifetime under max_ttl: the lifetime', { lifetime: '5m' }, '1h', 300],
  ])('asks for %s', async (_name, fields, maxTtl, seconds) => {
    const result = await mint(fields, { maxTtl });
    expect(fake.calls.find((c) => c.endpoint === 'iam')?.body).toMatchObject({ lifetime: `${seconds}s` });
    expect(result.ok && result.credential.expires_at).toBe(isoSeconds(NOW + seconds));
  });

  it('accepts the provider as a full //iam.googleapis.com name and takes project_id from the grant', async () => {
    const result = await mint({ workload_identity_provider: `//iam.googleapis.com/${PROVIDER}`, project_id: 'acme-web-prod' });
    expect(result.ok && result.credential.project_id).toBe('acme-web-prod');
    expect(providerAudience(`//iam.googleapis.com/${PROVIDER}`)).toBe(`https://iam.googleapis.com/${PROVIDER}`);
    expect(fake.calls[0]?.fields.audience).toBe(`//iam.googleapis.com/${PROVIDER}`);
  });

  it('downscopes the service account token with the access boundary and hands out only that', async () => {
    const result = await mint({ access_boundary: BOUNDARY, lifetime: '10m' });
    expect(fake.calls.map((c) => c.endpoint)).toEqual(['sts', 'iam', 'sts']);
    const [federated, iam, downscope] = fake.calls;
    expect(federated?.fields.options).toBeUndefined();
    expect(downscope?.fields).toMatchObject({
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      subject_token: iam?.issued?.token,
    });
    expect(JSON.parse(downscope!.fields.options!)).toEqual({ accessBoundary: GOOGLE_BOUNDARY });
    expect(downscope?.issued?.kind).toBe('downscoped');
    expect(result.ok && result.credential.access_token).toBe(downscope?.issued?.token);
    expect(result.ok && result.credential.expires_at).toBe(isoSeconds(NOW + 600));
  });
});

describe('without impersonation (direct federated access)', () => {
  it('hands out the federated token when Google gives it no longer than max_ttl', async () => {
    const result = await mint(
      { service_account: undefined, scopes: ['https://www.googleapis.com/auth/devstorage.read_only'] },
      { maxTtl: '1h' },
    );
    expect(fake.calls.map((c) => c.endpoint)).toEqual(['sts']);
    expect(fake.calls[0]?.fields.scope).toBe('https://www.googleapis.com/auth/devstorage.read_only');
    expect(result.ok && result.credential).toEqual({
      type: 'gcp',
      access_token: fake.calls[0]?.issued?.token,
      expires_at: isoSeconds(NOW + 3600),
      service_account: null,
      project_id: null,
    });
    expect(result.ok && result.summary.target).toBe(`//iam.googleapis.com/${PROVIDER}`);
  });

  it('refuses when the federated token would outlive max_ttl (its lifetime cannot be asked for)', async () => {
    const result = expectFailure(await mint({ service_account: undefined }, { maxTtl: '15m' }));
    expect(result.detail).toBe('gcp.token_outlives_max_ttl:3600s>900s');
  });

  it('puts the access boundary on the exchange itself', async () => {
    const result = await mint({ service_account: undefined, access_boundary: BOUNDARY });
    expect(result.ok).toBe(true);
    expect(fake.calls).toHaveLength(1);
    expect(JSON.parse(fake.calls[0]!.fields.options!)).toEqual({ accessBoundary: GOOGLE_BOUNDARY });
    expect(fake.calls[0]?.issued?.accessBoundary).toEqual(GOOGLE_BOUNDARY);
  });
});

describe('upstream failures: ERR_UPSTREAM with Google code, nothing partial', () => {
  it.each([
    ['sts', 'deny', 'access_denied', 'gcp.sts.http_403:access_denied', ['sts']],
    ['sts', 'server_error', 'INTERNAL', 'gcp.sts.http_500:INTERNAL', ['sts']],
    ['iam', 'deny', 'PERMISSION_DENIED', 'gcp.impersonation.http_403:PERMISSION_DENIED', ['sts', 'iam']],
    ['iam', 'server_error', 'INTERNAL', 'gcp.impersonation.http_500:INTERNAL', ['sts', 'iam']],
  ] as ['sts' | 'iam', FakeGcpMode, string, string, string[]][])('%s %s', async (endpoint, mode, code, detail, endpoints) => {
    if (endpoint === 'sts') fake.stsMode = mode;
    else fake.iamMode = mode;
    const result = expectFailure(await mint());
    expect(result.upstream_code).toBe(code);
    expect(result.detail).toBe(detail);
    expect(fake.calls.map((c) => c.endpoint)).toEqual(endpoints);
  });

  it.each([
    ['sts', 'malformed', 'gcp.sts.malformed_response:json'],
    ['sts', 'missing_field', 'gcp.sts.malformed_response:access_token'],
    ['iam', 'malformed', 'gcp.impersonation.malformed_response:json'],
    ['iam', 'missing_field', 'gcp.impersonation.malformed_response:expireTime'],
    ['iam', 'long_expiry', 'gcp.expiration_out_of_range'],
  ] as ['sts' | 'iam', FakeGcpMode, string][])('refuses a %s %s answer', async (endpoint, mode, detail) => {
    if (endpoint === 'sts') fake.stsMode = mode;
    else fake.iamMode = mode;
    const result = expectFailure(await mint());
    expect(result.detail).toBe(detail);
    expect(result.upstream_code).toBeUndefined();
  });

  it('refuses a federated token that STS says lives far longer than asked', async () => {
    fake.stsMode = 'long_expiry';
    expect(expectFailure(await mint({ service_account: undefined })).detail).toBe('gcp.token_outlives_max_ttl:43200s>3600s');
  });

  it.each([
    ['sts', 'gcp.sts.timeout'],
    ['iam', 'gcp.impersonation.timeout'],
  ] as const)('times out within the deadline when %s hangs', async (endpoint, detail) => {
    if (endpoint === 'sts') fake.stsMode = 'hang';
    else fake.iamMode = 'hang';
    const started = performance.now();
    const result = expectFailure(await mint({}, { deps: { timeoutMs: 300 } }));
    const elapsed = performance.now() - started;
    expect(result.detail).toBe(detail);
    expect(elapsed).toBeLessThan(5000); // the fake hangs 30 s: far below that means the deadline worked
  });

  it('keeps the code when the attribute condition rejects the caller', async () => {
    const result = expectFailure(await mint({}, { claims: { ...GITHUB_CLAIMS, repository_id: '999' } }));
    expect(result.upstream_code).toBe('unauthorized_client');
  });

  it('keeps the code when the service account does not admit this role', async () => {
    const result = expectFailure(await mint({ service_account: 'other@acme-prod.iam.gserviceaccount.com' }));
    expect(result.upstream_code).toBe('PERMISSION_DENIED');
  });

  it('keeps invalid_target for a provider that does not exist', async () => {
    const result = expectFailure(
      await mint({ workload_identity_provider: 'projects/1/locations/global/workloadIdentityPools/x/providers/y' }),
    );
    expect(result.upstream_code).toBe('invalid_target');
  });

  it('fails the whole grant when downscoping fails after impersonation succeeded', async () => {
    let calls = 0;
    const result = expectFailure(
      await mint(
        { access_boundary: BOUNDARY },
        {
          deps: {
            fetch: (input, init) => {
              calls++;
              return calls === 3
                ? Promise.resolve(Response.json({ error: 'invalid_request', error_description: 'no' }, { status: 400 }))
                : fetch(input, init);
            },
          },
        },
      ),
    );
    expect(result.detail).toBe('gcp.downscope.http_400:invalid_request');
    expect(fake.calls.map((c) => c.endpoint)).toEqual(['sts', 'iam']);
  });

  it('names the HTTP status when the error body is not Google JSON, and never keeps free text as a code', async () => {
    const html = expectFailure(await mint({}, { deps: { fetch: async () => new Response('<html>502</html>', { status: 502 }) } }));
    expect(html.upstream_code).toBe('HTTP_502');
    const prose = expectFailure(
      await mint({}, { deps: { fetch: async () => Response.json({ error: 'a sentence with spaces' }, { status: 400 }) } }),
    );
    expect(prose.upstream_code).toBe('HTTP_400');
  });

  it('refuses an oversized answer and a redirect', async () => {
    const huge = expectFailure(await mint({}, { deps: { fetch: async () => new Response('x'.repeat(200_000)) } }));
    expect(huge.detail).toBe('gcp.sts.too_large');
    const redirect = expectFailure(
      await mint({}, { deps: { fetch: async () => new Response(null, { status: 302, headers: { location: 'https://evil.example/' } }) } }),
    );
    expect(redirect.detail).toBe('gcp.sts.redirect');
  });
});
