// The aws minter against the fake STS on loopback (which verifies broker tokens against the broker's JWKS
// over HTTP and SigV4 signatures with the known key): credential shape, expiry within max_ttl, session
// names and tags, both modes, strict XML, and every failure as ERR_UPSTREAM with the AWS code kept.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  awsAccessKeySecretNames,
  createAwsMinter,
  roleSessionName,
  sessionTagsOf,
  sourceIdentityOf,
} from '../../../broker/src/mint/aws.ts';
import type { CloudMintDeps } from '../../../broker/src/mint/broker-token.ts';
import type { MintResult } from '../../../broker/src/mint/types.ts';
import { isoSeconds } from '../../../broker/src/util/duration.ts';
import { FakeAwsSts, type FakeAwsMode } from '../../fakes/aws-sts.ts';
import { GITHUB_CLAIMS, grantOf, mintContext } from '../../fakes/mint-context.ts';
import { handlerFetch, serveFake, type ServedFake } from '../../fakes/tls.ts';
import { serveBrokerIssuer, type ServedIssuer } from '../../helpers/broker-issuer.ts';

const ROLE = 'arn:aws:iam::111122223333:role/web-deploy';
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const clock = { now: Date.UTC(2026, 10, 28, 1, 0, 0) };
const NOW = clock.now / 1000;

let issuer: ServedIssuer;
let fake: FakeAwsSts;
let served: ServedFake;
let secrets: Map<string, string>;
let secretsBroken = false;

beforeAll(async () => {
  issuer = await serveBrokerIssuer(clock);
  fake = new FakeAwsSts({
    oidcProviders: { [issuer.url]: ['sts.amazonaws.com'] },
    roles: {
      [ROLE]: { sub: 'role:deploy-web-prod', claims: { repository_id: '123456' }, maxSessionDuration: 7200 },
      'arn:aws:iam::111122223333:role/short': { maxSessionDuration: 900 },
      'arn:aws:iam::111122223333:role/no-tags': { allowTagSession: false },
    },
    accessKeys: { [KEY_ID]: SECRET },
    region: 'us-east-1',
    now: () => clock.now,
  });
  served = await serveFake(fake.handle);
});

afterAll(async () => {
  await served.close();
  await issuer.close();
});

beforeEach(() => {
  fake.mode = 'ok';
  fake.calls.length = 0;
  secretsBroken = false;
  secrets = new Map([
    ['aws.111122223333.access_key_id', `${KEY_ID}\n`],
    ['aws.111122223333.secret_access_key', SECRET],
  ]);
});

function deps(overrides: Partial<CloudMintDeps> = {}): CloudMintDeps {
  return {
    fetch: (input, init) => fetch(input, init),
    issuer: issuer.issuer,
    timeoutMs: 2000,
    secrets: {
      async get(name) {
        if (secretsBroken) throw new Error('store down');
        const value = secrets.get(name);
        return value === undefined ? null : { name, version: 1, value };
      },
    },
    ...overrides,
  };
}

async function mint(
  fields: Record<string, unknown> = {},
  opts: { maxTtl?: string; claims?: Record<string, unknown>; deps?: Partial<CloudMintDeps> } = {},
): Promise<MintResult> {
  const grant = grantOf('aws', { role_arn: ROLE, region: 'us-east-1', sts_endpoint: `${served.url}/`, ...fields });
  const ctx = mintContext({ grant, now: NOW, maxTtl: opts.maxTtl ?? '1h', ...(opts.claims ? { claims: opts.claims } : {}) });
  return createAwsMinter(deps(opts.deps)).mint(grant, ctx);
}

function expectFailure(result: MintResult): Extract<MintResult, { ok: false }> {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('minted');
  expect(result.code).toBe('ERR_UPSTREAM');
  return result;
}

describe('web_identity (AssumeRoleWithWebIdentity)', () => {
  it('returns the documented credential shape, from what STS issued, expiring within max_ttl', async () => {
    const result = await mint({ duration: '15m' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const issued = fake.calls[0]?.issued;
    expect(Object.keys(result.credential).sort()).toEqual([
      'access_key_id',
      'expires_at',
      'region',
      'role_arn',
      'secret_access_key',
      'session_token',
      'type',
    ]);
    expect(result.credential).toEqual({
      type: 'aws',
      access_key_id: issued?.accessKeyId,
      secret_access_key: issued?.secretAccessKey,
      session_token: issued?.sessionToken,
      expires_at: isoSeconds(NOW + 900),
      region: 'us-east-1',
      role_arn: ROLE,
    });
    expect(result.summary).toEqual({ type: 'aws', target: ROLE, expires_at: isoSeconds(NOW + 900) });
    expect(result.revocation).toBeUndefined();
  });

  it('sends the Query API parameters STS expects, unsigned, with a broker token for sts.amazonaws.com', async () => {
    await mint({ duration: '15m' });
    const call = fake.calls[0]!;
    expect(call.status).toBe(200);
    expect(call.params).toMatchObject({
      Action: 'AssumeRoleWithWebIdentity',
      Version: '2011-06-15',
      RoleArn: ROLE,
      RoleSessionName: 'acme-web@9876543210',
      DurationSeconds: '900',
    });
    expect(Object.keys(call.params).some((k) => k.startsWith('Tags.') || k === 'SourceIdentity')).toBe(false);
    const claims = decodeJwt(call.params.WebIdentityToken!);
    expect(claims).toMatchObject({
      iss: issuer.url,
      sub: 'role:deploy-web-prod',
      aud: 'sts.amazonaws.com',
      repository: 'acme/web',
      repository_id: '123456',
      run_id: '9876543210',
      'https://aws.amazon.com/source_identity': 'acme-web',
    });
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(300);
    expect(claims['https://aws.amazon.com/tags']).toBeUndefined();
    // The fake verified it against the broker's JWKS, fetched over HTTP.
    expect(call.claims?.jti).toBe(claims.jti);
    expect(fake.verifier.jwksFetched).toContain(`${issuer.url}/.well-known/jwks.json`);
    expect(call.sourceIdentity).toBe('acme-web');
  });

  it.each([
    ['no duration: max_ttl', {}, '30m', 1800],
    ['a duration over max_ttl: max_ttl', { duration: '2h' }, '20m', 1200],
    ['a duration under max_ttl: the duration', { duration: '16m' }, '1h', 960],
  ])('asks for %s', async (_name, fields, maxTtl, seconds) => {
    const result = await mint(fields, { maxTtl });
    expect(fake.calls[0]?.params.DurationSeconds).toBe(String(seconds));
    expect(result.ok && result.credential.expires_at).toBe(isoSeconds(NOW + seconds));
  });

  it('refuses to mint, without calling STS, when max_ttl is under the 900 s STS minimum', async () => {
    const result = expectFailure(await mint({}, { maxTtl: '10m' }));
    expect(result.detail).toBe('aws.duration_below_minimum:600s<900s');
    expect(result.upstream_code).toBeUndefined();
    expect(fake.calls).toHaveLength(0);
  });

  it('carries session tags from verified claims in the token, transitive, as STS reads them', async () => {
    const result = await mint({ session_tags: { Repository: 'repository', RepositoryId: 'repository_id', Environment: 'environment' } });
    expect(result.ok).toBe(true);
    const call = fake.calls[0]!;
    expect(call.tags).toEqual({ Repository: 'acme/web', RepositoryId: '123456', Environment: 'production' });
    expect(call.transitiveTagKeys).toEqual(['Repository', 'RepositoryId', 'Environment']);
    expect(decodeJwt(call.params.WebIdentityToken!)['https://aws.amazon.com/tags']).toEqual({
      principal_tags: { Repository: ['acme/web'], RepositoryId: ['123456'], Environment: ['production'] },
      transitive_tag_keys: ['Repository', 'RepositoryId', 'Environment'],
    });
  });

  it('passes the session policy and policy ARNs for downscoping', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::acme-web/*' }],
    });
    const result = await mint({
      session_policy: policy,
      policy_arns: ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'arn:aws:iam::111122223333:policy/web'],
    });
    expect(result.ok).toBe(true);
    expect(fake.calls[0]?.params).toMatchObject({
      Policy: policy,
      'PolicyArns.member.1.arn': 'arn:aws:iam::aws:policy/ReadOnlyAccess',
      'PolicyArns.member.2.arn': 'arn:aws:iam::111122223333:policy/web',
    });
  });

  it('keeps the AWS code when the trust policy refuses the token', async () => {
    const result = expectFailure(await mint({}, { claims: { ...GITHUB_CLAIMS, repository_id: '999' } }));
    expect(result.upstream_code).toBe('AccessDenied');
    expect(result.detail).toBe('aws.http_403:AccessDenied');
  });

  it('keeps ValidationError when the role allows less than the duration asked for', async () => {
    const result = expectFailure(await mint({ role_arn: 'arn:aws:iam::111122223333:role/short', duration: '1h' }));
    expect(result.upstream_code).toBe('ValidationError');
  });

  it('keeps AccessDenied when the trust policy does not allow sts:TagSession', async () => {
    const result = expectFailure(
      await mint({ role_arn: 'arn:aws:iam::111122223333:role/no-tags', session_tags: { Repository: 'repository' } }),
    );
    expect(result.upstream_code).toBe('AccessDenied');
  });
});

describe('access_key (AssumeRole signed with broker-held keys)', () => {
  it('documents where the keys are stored', () => {
    expect(awsAccessKeySecretNames(ROLE)).toEqual({
      accessKeyId: 'aws.111122223333.access_key_id',
      secretAccessKey: 'aws.111122223333.secret_access_key',
    });
  });

  it('signs AssumeRole with SigV4 and passes tags, transitive keys and source identity as parameters', async () => {
    const result = await mint(
      { mode: 'access_key', duration: '15m', session_tags: { Repository: 'repository', Protected: 'ref_protected' } },
      { claims: { ...GITHUB_CLAIMS, ref_protected: true } },
    );
    expect(result.ok).toBe(true);
    const call = fake.calls[0]!;
    expect(call.status).toBe(200);
    expect(call.accessKeyId).toBe(KEY_ID);
    expect(call.params).toMatchObject({
      Action: 'AssumeRole',
      Version: '2011-06-15',
      RoleArn: ROLE,
      RoleSessionName: 'acme-web@9876543210',
      DurationSeconds: '900',
      SourceIdentity: 'acme-web',
      'Tags.member.1.Key': 'Repository',
      'Tags.member.1.Value': 'acme/web',
      'Tags.member.2.Key': 'Protected',
      'Tags.member.2.Value': 'true',
      'TransitiveTagKeys.member.1': 'Repository',
      'TransitiveTagKeys.member.2': 'Protected',
    });
    expect(call.params.WebIdentityToken).toBeUndefined();
    expect(result.ok && result.credential).toMatchObject({
      type: 'aws',
      access_key_id: call.issued?.accessKeyId,
      expires_at: isoSeconds(NOW + 900),
    });
  });

  it('keeps SignatureDoesNotMatch when the stored secret key is wrong', async () => {
    secrets.set('aws.111122223333.secret_access_key', `${SECRET}x`);
    const result = expectFailure(await mint({ mode: 'access_key' }));
    expect(result.upstream_code).toBe('SignatureDoesNotMatch');
  });

  it('refuses without calling STS when a key is not stored, and reports a failing store as unavailable', async () => {
    secrets.delete('aws.111122223333.secret_access_key');
    const missing = expectFailure(await mint({ mode: 'access_key' }));
    expect(missing.detail).toBe('aws.access_key_missing:aws.111122223333.secret_access_key');
    secretsBroken = true;
    const broken = await mint({ mode: 'access_key' });
    expect(broken).toMatchObject({ ok: false, code: 'ERR_UNAVAILABLE' });
    expect(fake.calls).toHaveLength(0);
  });
});

describe('session names and source identity', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['GitHub', { repository: 'acme/web', run_id: '9876543210' }],
    ['GitLab', { project_path: 'group/sub group/proj', pipeline_id: 1234 }],
    ['non-ASCII and emoji', { repository: 'ünïcödé/répo-😀', run_id: '1' }],
    ['every forbidden character', { repository: 'a/b c#d$e%f&g*h(i)j[k]{l}|m\\n;o:p"q\'r<s>t?u!v~w`x^y', run_id: '7' }],
    ['a very long repository', { repository: `${'o'.repeat(40)}/${'r'.repeat(100)}`, run_id: '12345678901234567890' }],
    ['an absurdly long run id', { repository: 'acme/web', run_id: '9'.repeat(200) }],
    ['a one-character repository, no run', { repository: 'a' }],
    ['an empty repository', { repository: '', run_id: '5' }],
    ['no repository at all', {}],
    ['a non-string repository', { repository: { nested: true }, run_id: ['x'] }],
  ];

  it.each(cases)('keeps AWS rules for %s', (_name, claims) => {
    const name = roleSessionName(claims, 'deploy-web-prod');
    const source = sourceIdentityOf(claims, 'deploy-web-prod');
    expect(name).toMatch(SESSION_NAME);
    expect(source).toMatch(SESSION_NAME);
  });

  it('keeps the run id whole and the end of the repository when shortening', () => {
    const name = roleSessionName({ repository: `acme/${'x'.repeat(100)}-end`, run_id: '12345' }, 'r');
    expect(name).toHaveLength(64);
    expect(name.endsWith('-end@12345')).toBe(true);
    expect(roleSessionName({ repository: 'a' }, 'deploy')).toBe('a-deploy');
    expect(roleSessionName({ project_path: 'group/proj', pipeline_id: 77 }, 'r')).toBe('group-proj@77');
  });

  it.each(cases)('STS accepts the session name and source identity for %s', async (_name, claims) => {
    const result = await mint({ mode: 'access_key' }, { claims: { ...claims, iss: 'x', sub: 'y' } });
    expect(result.ok).toBe(true);
  });
});

describe('session tags from claims', () => {
  it.each([
    ['a claim the token lacks', { Missing: 'no_such_claim' }, 'aws.session_tag_claim_missing:Missing'],
    ['an object claim', { Nested: 'nested' }, 'aws.session_tag_claim_missing:Nested'],
    ['a value AWS refuses', { Ref: 'weird' }, 'aws.session_tag_value_invalid:Ref'],
    ['a key in the aws: namespace', { 'aws:foo': 'repository' }, 'aws.session_tag_key_invalid:aws:foo'],
    ['two spellings of one key', { Repo: 'repository', repo: 'repository' }, 'aws.session_tag_key_duplicate:repo'],
    ['a prototype key as claim name', { Proto: '__proto__' }, 'aws.session_tag_claim_missing:Proto'],
  ])('refuses %s before calling STS', (_name, map, detail) => {
    const claims = { ...GITHUB_CLAIMS, nested: { a: 1 }, weird: 'a,b#c' };
    expect(sessionTagsOf(map, claims)).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail });
  });

  it('refuses the mint, not just the tag, and calls nothing', async () => {
    const result = expectFailure(await mint({ session_tags: { Missing: 'no_such_claim' } }));
    expect(result.detail).toBe('aws.session_tag_claim_missing:Missing');
    expect(fake.calls).toHaveLength(0);
  });

  it('turns numbers and booleans into their canonical strings', () => {
    expect(sessionTagsOf({ N: 'n', B: 'b' }, { n: 42, b: false })).toEqual({
      ok: true,
      tags: [
        ['N', '42'],
        ['B', 'false'],
      ],
    });
  });
});

describe('strict parsing of the STS answer', () => {
  it.each([
    ['malformed', 'aws.malformed_response:unclosed_'],
    ['missing_element', 'aws.malformed_response:missing:AssumeRoleWithWebIdentityResult/Credentials/SessionToken'],
    ['duplicate_element', 'aws.malformed_response:duplicate:AssumeRoleWithWebIdentityResult/Credentials/AccessKeyId'],
    ['wrong_namespace', 'aws.malformed_response:namespace'],
    ['long_expiry', 'aws.expiration_out_of_range'],
  ] as [FakeAwsMode, string][])('refuses a %s answer', async (mode, detail) => {
    fake.mode = mode;
    const result = expectFailure(await mint());
    expect(result.detail.startsWith(detail)).toBe(true);
    expect(fake.calls[0]?.status).toBe(200);
  });

  it('refuses an answer for the other action', async () => {
    const body = '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult/></AssumeRoleResponse>';
    const result = expectFailure(await mint({}, { deps: { fetch: async () => new Response(body, { status: 200 }) } }));
    expect(result.detail).toBe('aws.malformed_response:root:AssumeRoleResponse');
  });

  it('refuses an ErrorResponse sent with 200, and element names hidden in text', async () => {
    const error =
      '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Code>AccessDenied</Code></Error></ErrorResponse>';
    expect(expectFailure(await mint({}, { deps: { fetch: async () => new Response(error) } })).detail).toBe(
      'aws.malformed_response:root:ErrorResponse',
    );
    const sneaky =
      '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>' +
      '<Provider>&lt;Credentials&gt;&lt;AccessKeyId&gt;ASIAFAKEFAKEFAKEFAKE&lt;/AccessKeyId&gt;&lt;/Credentials&gt;</Provider>' +
      '</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>';
    expect(expectFailure(await mint({}, { deps: { fetch: async () => new Response(sneaky) } })).detail).toBe(
      'aws.malformed_response:missing:AssumeRoleWithWebIdentityResult/Credentials',
    );
  });
});

describe('upstream failures', () => {
  it.each([
    ['deny', 'AccessDenied', 'aws.http_403:AccessDenied'],
    ['throttle', 'Throttling', 'aws.http_400:Throttling'],
    ['server_error', 'InternalFailure', 'aws.http_500:InternalFailure'],
  ] as [FakeAwsMode, string, string][])('%s: ERR_UPSTREAM with the AWS code', async (mode, code, detail) => {
    fake.mode = mode;
    const result = expectFailure(await mint());
    expect(result.upstream_code).toBe(code);
    expect(result.detail).toBe(detail);
  });

  it('times out within the deadline when STS hangs', async () => {
    fake.mode = 'hang';
    const started = performance.now();
    const result = expectFailure(await mint({}, { deps: { timeoutMs: 300 } }));
    const elapsed = performance.now() - started;
    expect(result.detail).toBe('aws.timeout');
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(5000); // the fake hangs 30 s: far below that means the deadline worked
  });

  it('refuses a redirect', async () => {
    fake.mode = 'redirect';
    expect(expectFailure(await mint()).detail).toBe('aws.redirect');
  });

  it('refuses an oversized answer', async () => {
    const huge = `<AssumeRoleWithWebIdentityResponse>${'x'.repeat(200_000)}</AssumeRoleWithWebIdentityResponse>`;
    expect(expectFailure(await mint({}, { deps: { fetch: async () => new Response(huge) } })).detail).toBe('aws.too_large');
  });

  it('names the HTTP status when an error body is not an AWS ErrorResponse', async () => {
    const result = expectFailure(
      await mint({}, { deps: { fetch: async () => new Response('<html>bad gateway</html>', { status: 502 }) } }),
    );
    expect(result.upstream_code).toBe('HTTP_502');
    const junkCode = '<ErrorResponse><Error><Code>not a code; rm -rf</Code></Error></ErrorResponse>';
    expect(expectFailure(await mint({}, { deps: { fetch: async () => new Response(junkCode, { status: 400 }) } })).upstream_code).toBe(
      'HTTP_400',
    );
  });

  it('reports a network failure', async () => {
    const result = expectFailure(await mint({ sts_endpoint: 'http://127.0.0.1:1/' }));
    expect(result.detail).toBe('aws.network');
  });
});

describe('endpoints', () => {
  it.each([
    ['arn:aws:iam::111122223333:role/web-deploy', 'eu-west-1', 'https://sts.eu-west-1.amazonaws.com/'],
    ['arn:aws-cn:iam::111122223333:role/web-deploy', 'cn-north-1', 'https://sts.cn-north-1.amazonaws.com.cn/'],
    ['arn:aws-us-gov:iam::111122223333:role/web-deploy', 'us-gov-west-1', 'https://sts.us-gov-west-1.amazonaws.com/'],
  ])('uses the regional STS endpoint for %s in %s', async (roleArn, region, url) => {
    const seen: string[] = [];
    const stub = new FakeAwsSts({ oidcProviders: { [issuer.url]: ['sts.amazonaws.com'] }, roles: { [roleArn]: {} }, now: () => clock.now });
    const grant = grantOf('aws', { role_arn: roleArn, region });
    const ctx = mintContext({ grant, now: NOW });
    const result = await createAwsMinter(
      deps({
        fetch: (input, init) => {
          seen.push(new Request(input, init).url);
          return handlerFetch(stub.handle)(input, init);
        },
      }),
    ).mint(grant, ctx);
    expect(seen).toEqual([url]);
    expect(result.ok).toBe(true);
  });

  it('signs with the request time and the grant region', async () => {
    let auth = '';
    let date = '';
    await mint(
      { mode: 'access_key', region: 'us-east-1' },
      {
        deps: {
          fetch: (input, init) => {
            const req = new Request(input, init);
            auth = req.headers.get('authorization') ?? '';
            date = req.headers.get('x-amz-date') ?? '';
            return fetch(req);
          },
        },
      },
    );
    expect(date).toBe('20261128T010000Z');
    expect(auth).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/20261128\/us-east-1\/sts\/aws4_request, SignedHeaders=host;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
  });
});
