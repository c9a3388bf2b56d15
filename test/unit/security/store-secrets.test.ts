// The rules of the secret-store grants (aws_secret, aws_parameter, gcp_secret), tried against the fakes and
// the policy check: every failure returns nothing with the upstream's code, values never reach a detail,
// retries only for throttling and 5xx within the deadline, JSON fields are own fields, endpoint overrides are
// https (or loopback) and a lint error, ids carry no wildcards, exported names are valid and unique.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadPolicy, type PolicyFile } from '../../../broker/src/policy/load.ts';
import { checkPolicy } from '../../../broker/src/policy/review/check.ts';
import { grantSchema } from '../../../broker/src/policy/schema.ts';
import {
  DB_JSON,
  DB_SECRET_ARN,
  GCP_SA,
  mintStoreGrant,
  OTHER_ROLE,
  secretStoresWorld,
  type SecretStoresWorld,
} from '../../fakes/secret-stores-world.ts';

let world: SecretStoresWorld;
beforeAll(async () => {
  world = await secretStoresWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());

type Store = 'aws_secret' | 'aws_parameter' | 'gcp_secret';
const SECRET_VALUES = ['pa55-w0rd-S3CRET', 'postgres://app@db/prod', 'api-key-S3CRET', 'gcp-pa55-S3CRET', 'plain-value', DB_JSON];
const GCP_SECRET = (v = 'latest') => `projects/acme-prod/secrets/db-password/versions/${v}`;

interface FailureCase {
  name: string;
  type: Store;
  fields: Record<string, unknown>;
  setup?: (w: SecretStoresWorld) => void;
  upstream: string;
}

const FAILURES: FailureCase[] = [
  {
    name: 'aws_secret: a missing secret',
    type: 'aws_secret',
    fields: { secret_id: 'prod/nope', env: 'X' },
    upstream: 'ResourceNotFoundException',
  },
  {
    name: 'aws_secret: a missing version stage',
    type: 'aws_secret',
    fields: { secret_id: 'prod/url', version_stage: 'AWSPENDING', env: 'X' },
    upstream: 'ResourceNotFoundException',
  },
  {
    name: 'aws_secret: an absent JSON key',
    type: 'aws_secret',
    fields: { secret_id: DB_SECRET_ARN, json_keys: { A: 'username', B: 'nope' } },
    upstream: 'JsonKeyMissing',
  },
  {
    name: 'aws_secret: a null JSON field counts as absent',
    type: 'aws_secret',
    fields: { secret_id: 'prod/db', json_keys: { A: 'nested.a' } },
    upstream: 'JsonKeyMissing',
  },
  {
    name: 'aws_secret: a non-JSON value with json_keys',
    type: 'aws_secret',
    fields: { secret_id: 'prod/url', json_keys: { A: 'user' } },
    upstream: 'NotJson',
  },
  {
    name: 'aws_secret: access denied to the role',
    type: 'aws_secret',
    fields: { secret_id: 'prod/url', role_arn: OTHER_ROLE, env: 'X' },
    upstream: 'AccessDeniedException',
  },
  {
    name: 'aws_secret: STS refuses the broker token',
    type: 'aws_secret',
    fields: { secret_id: 'prod/url', env: 'X' },
    setup: (w) => {
      w.sts.mode = 'deny';
    },
    upstream: 'AccessDenied',
  },
  {
    name: 'aws_secret: a throttle that does not stop',
    type: 'aws_secret',
    fields: { secret_id: 'prod/url', env: 'X' },
    setup: (w) => {
      w.secretsManager.mode = 'throttle';
    },
    upstream: 'ThrottlingException',
  },
  {
    name: 'aws_secret: a 5xx that does not stop',
    type: 'aws_secret',
    fields: { secret_id: 'prod/url', env: 'X' },
    setup: (w) => {
      w.secretsManager.mode = 'server_error';
    },
    upstream: 'InternalServiceError',
  },
  {
    name: 'aws_secret: a malformed response',
    type: 'aws_secret',
    fields: { secret_id: 'prod/url', env: 'X' },
    setup: (w) => {
      w.secretsManager.mode = 'malformed';
    },
    upstream: 'aws_secret.malformed_response:json',
  },
  {
    name: 'aws_secret: a timeout',
    type: 'aws_secret',
    fields: { secret_id: 'prod/url', env: 'X' },
    setup: (w) => {
      w.secretsManager.mode = 'hang';
    },
    upstream: 'aws_secret.timeout',
  },
  {
    name: 'aws_parameter: a missing parameter',
    type: 'aws_parameter',
    fields: { name: '/prod/nope', env: 'X' },
    upstream: 'ParameterNotFound',
  },
  {
    name: 'aws_parameter: access denied to the role',
    type: 'aws_parameter',
    fields: { name: '/prod/api/key', role_arn: OTHER_ROLE, env: 'X' },
    upstream: 'AccessDeniedException',
  },
  {
    name: 'aws_parameter: a non-JSON value with json_keys',
    type: 'aws_parameter',
    fields: { name: '/prod/plain', json_keys: { A: 'a' } },
    upstream: 'NotJson',
  },
  {
    name: 'aws_parameter: a throttle',
    type: 'aws_parameter',
    fields: { name: '/prod/plain', env: 'X' },
    setup: (w) => {
      w.ssm.mode = 'throttle';
    },
    upstream: 'ThrottlingException',
  },
  {
    name: 'aws_parameter: a malformed response',
    type: 'aws_parameter',
    fields: { name: '/prod/plain', env: 'X' },
    setup: (w) => {
      w.ssm.mode = 'malformed';
    },
    upstream: 'aws_parameter.malformed_response:json',
  },
  {
    name: 'gcp_secret: a missing version',
    type: 'gcp_secret',
    fields: { secret: GCP_SECRET('9'), service_account: GCP_SA, env: 'X' },
    upstream: 'NOT_FOUND',
  },
  {
    name: 'gcp_secret: a disabled version',
    type: 'gcp_secret',
    fields: { secret: GCP_SECRET('3'), service_account: GCP_SA, env: 'X' },
    upstream: 'FAILED_PRECONDITION',
  },
  {
    name: 'gcp_secret: access denied to the federated principal',
    type: 'gcp_secret',
    fields: { secret: 'projects/acme-prod/secrets/sa-only/versions/latest', env: 'X' },
    upstream: 'PERMISSION_DENIED',
  },
  {
    name: 'gcp_secret: a missing secret (denied, as Google answers)',
    type: 'gcp_secret',
    fields: { secret: 'projects/acme-prod/secrets/nope/versions/latest', service_account: GCP_SA, env: 'X' },
    upstream: 'PERMISSION_DENIED',
  },
  {
    name: 'gcp_secret: an absent JSON key',
    type: 'gcp_secret',
    fields: { secret: 'projects/acme-prod/secrets/db-json/versions/latest', service_account: GCP_SA, json_keys: { A: 'nope' } },
    upstream: 'JsonKeyMissing',
  },
  {
    name: 'gcp_secret: a non-JSON value with json_keys',
    type: 'gcp_secret',
    fields: { secret: GCP_SECRET(), service_account: GCP_SA, json_keys: { A: 'a' } },
    upstream: 'NotJson',
  },
  {
    name: 'gcp_secret: a throttle',
    type: 'gcp_secret',
    fields: { secret: GCP_SECRET(), service_account: GCP_SA, env: 'X' },
    setup: (w) => {
      w.secretManager.mode = 'throttle';
    },
    upstream: 'RESOURCE_EXHAUSTED',
  },
  {
    name: 'gcp_secret: a 5xx',
    type: 'gcp_secret',
    fields: { secret: GCP_SECRET(), service_account: GCP_SA, env: 'X' },
    setup: (w) => {
      w.secretManager.mode = 'server_error';
    },
    upstream: 'UNAVAILABLE',
  },
  {
    name: 'gcp_secret: a malformed response',
    type: 'gcp_secret',
    fields: { secret: GCP_SECRET(), service_account: GCP_SA, env: 'X' },
    setup: (w) => {
      w.secretManager.mode = 'malformed';
    },
    upstream: 'gcp_secret.malformed_response:json',
  },
  {
    name: 'gcp_secret: a payload whose CRC32C does not match',
    type: 'gcp_secret',
    fields: { secret: GCP_SECRET(), service_account: GCP_SA, env: 'X' },
    setup: (w) => {
      w.secretManager.mode = 'bad_crc';
    },
    upstream: 'DataCorrupted',
  },
  {
    name: 'gcp_secret: a timeout',
    type: 'gcp_secret',
    fields: { secret: GCP_SECRET(), service_account: GCP_SA, env: 'X' },
    setup: (w) => {
      w.secretManager.mode = 'hang';
    },
    upstream: 'gcp_secret.timeout',
  },
  {
    name: 'gcp_secret: Google STS refuses the broker token',
    type: 'gcp_secret',
    fields: { secret: GCP_SECRET(), env: 'X' },
    setup: (w) => {
      w.gcp.stsMode = 'deny';
    },
    upstream: 'access_denied',
  },
];

describe('a secret-store failure is ERR_UPSTREAM with nothing returned and the upstream code kept, and no value in the detail', () => {
  it.each(FAILURES.map((f) => [f.name, f] as const))('%s', async (_name, c) => {
    c.setup?.(world);
    const result = await mintStoreGrant(world, c.type, c.fields);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe('ERR_UPSTREAM');
    expect(result.upstream_code ?? result.detail).toBe(c.upstream);
    expect(Object.keys(result).sort()).toEqual(['code', 'detail', 'ok', ...(result.upstream_code ? ['upstream_code'] : [])].sort());
    const text = JSON.stringify(result);
    for (const v of SECRET_VALUES) expect(text).not.toContain(v);
  });
});

describe('retries only for throttling and 5xx, bounded by the deadline', () => {
  it('a single throttle is retried and the read succeeds (each store)', async () => {
    world.secretsManager.mode = 'throttle_once';
    world.ssm.mode = 'throttle_once';
    world.secretManager.mode = 'throttle_once';
    expect((await mintStoreGrant(world, 'aws_secret', { secret_id: 'prod/url', env: 'X' })).ok).toBe(true);
    expect((await mintStoreGrant(world, 'aws_parameter', { name: '/prod/plain', env: 'X' })).ok).toBe(true);
    expect((await mintStoreGrant(world, 'gcp_secret', { secret: GCP_SECRET(), service_account: GCP_SA, env: 'X' })).ok).toBe(true);
    expect(world.secretsManager.calls.map((c) => c.status)).toEqual([400, 200]);
    expect(world.ssm.calls.map((c) => c.status)).toEqual([400, 200]);
    expect(world.secretManager.calls.map((c) => c.status)).toEqual([429, 200]);
  });

  it('a denial, a missing secret or a bad value is never retried', async () => {
    await mintStoreGrant(world, 'aws_secret', { secret_id: 'prod/url', role_arn: OTHER_ROLE, env: 'X' });
    await mintStoreGrant(world, 'aws_secret', { secret_id: 'prod/nope', env: 'X' });
    expect(world.secretsManager.calls).toHaveLength(2);
    await mintStoreGrant(world, 'aws_parameter', { name: '/prod/nope', env: 'X' });
    expect(world.ssm.calls).toHaveLength(1);
    await mintStoreGrant(world, 'gcp_secret', { secret: GCP_SECRET('9'), service_account: GCP_SA, env: 'X' });
    world.secretManager.mode = 'bad_crc';
    await mintStoreGrant(world, 'gcp_secret', { secret: GCP_SECRET(), service_account: GCP_SA, env: 'X' });
    expect(world.secretManager.calls).toHaveLength(2);
  });

  it('persistent throttling or 5xx stops after a bounded number of attempts', async () => {
    world.secretsManager.mode = 'server_error';
    world.secretManager.mode = 'throttle';
    await mintStoreGrant(world, 'aws_secret', { secret_id: 'prod/url', env: 'X' });
    await mintStoreGrant(world, 'gcp_secret', { secret: GCP_SECRET(), service_account: GCP_SA, env: 'X' });
    expect(world.secretsManager.calls).toHaveLength(3);
    expect(world.secretManager.calls).toHaveLength(3);
  });

  it('retries never outlast the deadline: backoffs that would pass it are not slept', async () => {
    world.secretsManager.mode = 'throttle';
    const started = Date.now();
    const result = await mintStoreGrant(world, 'aws_secret', { secret_id: 'prod/url', env: 'X' }, { attempts: 50, baseDelayMs: 200 });
    expect(result.ok).toBe(false);
    // The STS step and the reads share no budget, but the reads alone never exceed timeoutMs (1500).
    expect(Date.now() - started).toBeLessThan(world.deps.timeoutMs + 1000);
    expect(world.secretsManager.calls.length).toBeLessThan(10);
  });

  it('a hanging store is given up at the deadline, once', async () => {
    world.ssm.mode = 'hang';
    const started = Date.now();
    const result = await mintStoreGrant(world, 'aws_parameter', { name: '/prod/plain', env: 'X' });
    expect(result.ok || result.detail).toBe('aws_parameter.timeout');
    expect(Date.now() - started).toBeLessThan(world.deps.timeoutMs + 1000);
    expect(world.ssm.calls).toHaveLength(1);
  });
});

describe('json_keys read only own fields of the JSON value', () => {
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('%s is absent unless the value has it', async (field) => {
    const result = await mintStoreGrant(world, 'aws_secret', { secret_id: 'prod/db', json_keys: { A: field } });
    expect(result.ok || result.upstream_code).toBe('JsonKeyMissing');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Policy: endpoints, ids, names

const ISSUERS = 'issuers:\n  github:\n    url: https://token.actions.githubusercontent.com\n    audience: https://broker.example.com\n';
const ALLOW = 'allow:\n  - repository_id: "1"\n    repository_owner_id: "2"\n    ref: refs/heads/main\n';
const AWS_SECRET = (extra: string) =>
  `  - type: aws_secret\n    secret_id: prod/db\n    region: us-east-1\n    role_arn: arn:aws:iam::111122223333:role/r\n${extra}`;
const AWS_PARAMETER = (extra: string) =>
  `  - type: aws_parameter\n    name: /prod/api/key\n    region: us-east-1\n    role_arn: arn:aws:iam::111122223333:role/r\n${extra}`;
const GCP_SECRET_GRANT = (extra: string) =>
  `  - type: gcp_secret\n    secret: projects/p/secrets/s/versions/latest\n    workload_identity_provider: projects/1/locations/global/workloadIdentityPools/p/providers/q\n${extra}`;

function files(grants: string): PolicyFile[] {
  return [
    { path: 'issuers.yaml', text: ISSUERS },
    { path: 'roles/r.yaml', text: `role: r\nissuer: github\nmax_ttl: 15m\n${ALLOW}grants:\n${grants}` },
    {
      path: 'tests/r.yaml',
      text: 'tests:\n  - {name: a, role: r, expect: allow, claims: {x: "1"}}\n  - {name: d, role: r, expect: deny, claims: {x: "2"}}\n',
    },
  ];
}

const ENDPOINTS: [string, (extra: string) => string, string, string][] = [
  ['aws_secret sts_endpoint', AWS_SECRET, 'sts_endpoint', 'env: A'],
  ['aws_secret secretsmanager_endpoint', AWS_SECRET, 'secretsmanager_endpoint', 'env: A'],
  ['aws_parameter sts_endpoint', AWS_PARAMETER, 'sts_endpoint', 'env: A'],
  ['aws_parameter ssm_endpoint', AWS_PARAMETER, 'ssm_endpoint', 'env: A'],
  ['gcp_secret sts_url', GCP_SECRET_GRANT, 'sts_url', 'env: A'],
  ['gcp_secret iam_credentials_url', GCP_SECRET_GRANT, 'iam_credentials_url', 'env: A'],
  ['gcp_secret secret_manager_url', GCP_SECRET_GRANT, 'secret_manager_url', 'env: A'],
];

describe('secret-store endpoint overrides are https except loopback, and a lint error unless a reasoned exception names them', () => {
  it.each(ENDPOINTS)('%s: http:// to a non-loopback host does not load', async (_n, grant, field, exp) => {
    for (const url of [
      'http://secrets.attacker.example',
      'http://127.0.0.1.attacker.example',
      'ftp://127.0.0.1/',
      'https://user:pw@x.example',
    ]) {
      const loaded = await loadPolicy(files(grant(`    ${exp}\n    ${field}: ${url}\n`)));
      expect(loaded.ok, url).toBe(false);
    }
  });

  it.each(ENDPOINTS)('%s: any non-default host, loopback included, is a non-default-endpoint error', async (_n, grant, field, exp) => {
    for (const url of [
      'https://secrets.attacker.example',
      'http://127.0.0.1:4566/',
      'https://secretmanager.googleapis.com.attacker.example',
    ]) {
      const report = await checkPolicy(files(grant(`    ${exp}\n    ${field}: ${url}\n`)));
      const hits = report.findings.filter((f) => f.rule === 'non-default-endpoint');
      expect(hits.length, url).toBeGreaterThan(0);
      expect(report.errors).toBeGreaterThan(0);
    }
  });

  it('the default endpoints, spelled out, are not flagged', async () => {
    const report = await checkPolicy(
      files(
        AWS_SECRET(
          '    env: A\n    sts_endpoint: https://sts.us-east-1.amazonaws.com\n    secretsmanager_endpoint: https://secretsmanager.us-east-1.amazonaws.com/\n',
        ) +
          AWS_PARAMETER('    env: B\n    ssm_endpoint: https://ssm.us-east-1.amazonaws.com\n') +
          GCP_SECRET_GRANT('    env: C\n    secret_manager_url: https://secretmanager.googleapis.com\n'),
      ),
    );
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);
  });
});

describe('a secret-store grant names one secret: no wildcards, no other shapes', () => {
  const base = { region: 'us-east-1', role_arn: 'arn:aws:iam::111122223333:role/r', env: 'A' };
  const gcpBase = { workload_identity_provider: 'projects/1/locations/global/workloadIdentityPools/p/providers/q', env: 'A' };
  it.each([
    ['aws_secret', { ...base, secret_id: 'prod/*' }],
    ['aws_secret', { ...base, secret_id: 'prod/db?' }],
    ['aws_secret', { ...base, secret_id: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:*' }],
    ['aws_secret', { ...base, secret_id: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf' }],
    ['aws_secret', { ...base, secret_id: 'prod db' }],
    ['aws_secret', { ...base, secret_id: 'prod/db', version_stage: 'AWSCURRENT', version_id: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111' }],
    ['aws_parameter', { ...base, name: '/prod/*' }],
    ['aws_parameter', { ...base, name: '/prod/key:3' }],
    ['aws_parameter', { ...base, name: 'arn:aws:ssm:us-east-1:111122223333:parameter/*' }],
    ['gcp_secret', { ...gcpBase, secret: 'projects/p/secrets/*/versions/latest' }],
    ['gcp_secret', { ...gcpBase, secret: 'projects/p/secrets/s' }],
    ['gcp_secret', { ...gcpBase, secret: 'projects/p/secrets/s/versions/0' }],
    ['gcp_secret', { ...gcpBase, secret: 'projects/p/secrets/s/versions/latest/../../other/versions/1' }],
    ['gcp_secret', { ...gcpBase, secret: 'projects/p/secrets/s/versions/latest?alt=media' }],
  ])('%s %j is refused', (type, fields) => {
    expect(grantSchema.safeParse({ type, ...fields }).success).toBe(false);
  });

  it.each([
    ['aws_secret', { ...base, secret_id: 'prod/db' }],
    ['aws_secret', { ...base, secret_id: 'prod/db', env: undefined, json_keys: {} }],
    ['gcp_secret', { ...gcpBase, json_keys: { B: 'b' } }],
  ])('%s: exactly one of env and json_keys (%j)', (type, fields) => {
    const both = { ...fields, ...(type === 'gcp_secret' ? { secret: 'projects/p/secrets/s/versions/1' } : {}) };
    expect(grantSchema.safeParse({ type, ...both, json_keys: { B: 'b' }, env: 'A' }).success).toBe(false);
  });
});

describe("exported env names are valid and unique across a role's grants", () => {
  it.each([
    ['env LD_PRELOAD', AWS_SECRET('    env: LD_PRELOAD\n')],
    ['env GITHUB_ENV', AWS_PARAMETER('    env: GITHUB_ENV\n')],
    ['json_keys NODE_OPTIONS', GCP_SECRET_GRANT('    json_keys: {NODE_OPTIONS: a}\n')],
    ['json_keys a *_PATH name', AWS_SECRET('    json_keys: {OK: a, MY_PATH: b}\n')],
  ])('%s is refused by the lint', async (_n, grant) => {
    const report = await checkPolicy(files(grant));
    expect(report.findings.filter((f) => f.rule === 'secret-env-name-refused').length).toBeGreaterThan(0);
    expect(report.errors).toBeGreaterThan(0);
  });

  it.each([
    ['two store grants', AWS_SECRET('    env: DB\n') + GCP_SECRET_GRANT('    env: DB\n')],
    ['a store grant and a secret grant', `  - type: secret\n    name: db-url\n    env: DB\n${AWS_PARAMETER('    json_keys: {DB: url}\n')}`],
    ['a secret grant named like the env', `  - type: secret\n    name: DB\n${AWS_SECRET('    env: DB\n')}`],
    [
      'a store grant and an aws grant',
      `  - type: aws\n    role_arn: arn:aws:iam::111122223333:role/x\n    region: us-east-1\n${AWS_SECRET('    env: AWS_SECRET_ACCESS_KEY\n')}`,
    ],
    [
      'a store grant and a gcp grant',
      `${GCP_SECRET_GRANT('    env: GOOGLE_OAUTH_ACCESS_TOKEN\n')}  - type: gcp\n    workload_identity_provider: projects/1/locations/global/workloadIdentityPools/p/providers/q\n`,
    ],
  ])('%s exporting one name is refused by the lint', async (_n, grants) => {
    const report = await checkPolicy(files(grants));
    expect(report.findings.filter((f) => f.rule === 'secret-env-name-duplicate').length).toBeGreaterThan(0);
    expect(report.errors).toBeGreaterThan(0);
  });

  it('distinct valid names pass', async () => {
    const report = await checkPolicy(
      files(AWS_SECRET('    json_keys: {DB_USER: u, DB_PASSWORD: p}\n') + AWS_PARAMETER('    env: API_KEY\n')),
    );
    expect(report.findings.filter((f) => f.rule.startsWith('secret-env-name'))).toEqual([]);
  });
});
