// A non-default grant endpoint receives broker-signed material (web identity tokens, signed STS requests,
// client assertions, GitHub App JWTs), so it is a lint error unless the role names a reasoned exception.
// The broker still loads such a role (serve does not lint), which is what the loopback fakes of the e2e
// tests rely on.
import { describe, expect, it } from 'vitest';
import { checkPolicy } from '../../../broker/src/policy/review/check.ts';
import { loadPolicy, type PolicyFile } from '../../../broker/src/policy/load.ts';

const ISSUERS = 'issuers:\n  github:\n    url: https://token.actions.githubusercontent.com\n    audience: https://broker.example.com\n';
const ALLOW = 'allow:\n  - repository_id: "1"\n    repository_owner_id: "2"\n    ref: refs/heads/main\n';
const EXCEPTION =
  'lint:\n  exceptions:\n    - rule: non-default-endpoint\n      reason: our sovereign-cloud endpoint, reviewed by the security team\n';

const AWS = (extra: string) => `  - type: aws\n    role_arn: arn:aws:iam::111122223333:role/x\n    region: us-east-1\n${extra}`;
const AZURE = (extra: string) =>
  `  - type: azure\n    tenant_id: t\n    client_id: c\n    scope: https://management.azure.com/.default\n${extra}`;
const GCP = (extra: string) =>
  `  - type: gcp\n    workload_identity_provider: projects/1/locations/global/workloadIdentityPools/p/providers/q\n${extra}`;
const GITHUB = (extra: string) =>
  `  - type: github\n    app_id: 1\n    installation_id: 2\n    repositories: [web]\n    permissions: {contents: read}\n${extra}`;

function files(grant: string, lint = ''): PolicyFile[] {
  return [
    { path: 'issuers.yaml', text: ISSUERS },
    { path: 'roles/r.yaml', text: `role: r\nissuer: github\nmax_ttl: 15m\n${ALLOW}${lint}grants:\n${grant}` },
    {
      path: 'tests/r.yaml',
      text: 'tests:\n  - {name: a, role: r, expect: allow, claims: {x: "1"}}\n  - {name: d, role: r, expect: deny, claims: {x: "2"}}\n',
    },
  ];
}

const NON_DEFAULT: [string, string][] = [
  ['aws sts_endpoint elsewhere', AWS('    sts_endpoint: https://sts.attacker.example\n')],
  [
    'aws sts_endpoint with the AWS host as a prefix of another domain',
    AWS('    sts_endpoint: https://sts.us-east-1.amazonaws.com.attacker.example\n'),
  ],
  ['aws sts_endpoint on loopback (a test fake)', AWS('    sts_endpoint: http://127.0.0.1:4566/\n')],
  ['azure authority_host', AZURE('    authority_host: https://login.attacker.example\n')],
  ['gcp sts_url', GCP('    sts_url: https://sts.attacker.example/v1/token\n')],
  ['gcp sts_url with a query added to the default', GCP('    sts_url: https://sts.googleapis.com/v1/token?via=x\n')],
  ['gcp iam_credentials_url', GCP('    iam_credentials_url: https://iam.attacker.example\n')],
  ['github api_url (GHES)', GITHUB('    api_url: https://ghes.example.com/api/v3\n')],
  ['github api_url on a path of the default host', GITHUB('    api_url: https://api.github.com/repos/attacker/relay\n')],
];

describe('a non-default endpoint that receives broker-signed material is a lint error unless a reasoned exception names it', () => {
  it.each(NON_DEFAULT)('%s: error, policy check fails', async (_name, grant) => {
    const report = await checkPolicy(files(grant));
    const hits = report.findings.filter((f) => f.rule === 'non-default-endpoint');
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((f) => f.severity === 'error')).toBe(true);
    expect(report.errors).toBeGreaterThan(0);
  });

  it.each(NON_DEFAULT)('%s: a lint exception for non-default-endpoint with a reason waives it', async (_name, grant) => {
    const report = await checkPolicy(files(grant, EXCEPTION));
    expect(report.findings.filter((f) => f.rule === 'non-default-endpoint' || f.rule === 'unused-exception')).toEqual([]);
    expect(report.errors).toBe(0);
  });

  it.each(NON_DEFAULT)('%s: the broker still loads the role (serve does not lint)', async (_name, grant) => {
    expect((await loadPolicy(files(grant))).ok).toBe(true);
  });

  it('an exception without a reason a reviewer can judge is refused by the schema', async () => {
    const report = await checkPolicy(
      files(
        AWS('    sts_endpoint: https://sts.attacker.example\n'),
        'lint:\n  exceptions:\n    - rule: non-default-endpoint\n      reason: ok\n',
      ),
    );
    expect(report.findings.map((f) => f.rule)).toContain('schema');
    expect(report.errors).toBeGreaterThan(0);
  });

  const DEFAULTS: [string, string][] = [
    ['aws, no override', AWS('')],
    ['aws regional default', AWS('    sts_endpoint: https://sts.us-east-1.amazonaws.com\n')],
    ['aws global default with a trailing slash', AWS('    sts_endpoint: https://sts.amazonaws.com/\n')],
    ['azure default', AZURE('')],
    [
      'gcp defaults',
      GCP('    sts_url: https://sts.googleapis.com/v1/token\n    iam_credentials_url: https://iamcredentials.googleapis.com\n'),
    ],
    ['github default', GITHUB('    api_url: https://api.github.com\n')],
  ];
  it.each(DEFAULTS)('the defaults pass: %s', async (_name, grant) => {
    const report = await checkPolicy(files(grant));
    expect(report.findings.filter((f) => f.rule === 'non-default-endpoint')).toEqual([]);
  });
});
