// Issue 16 on the real Node broker: one role reading AWS Secrets Manager, SSM Parameter Store and GCP Secret
// Manager with the broker's federated identity (the fakes on loopback verify the broker's tokens against its
// JWKS over HTTP and the SigV4 / bearer that follows). One exchange returns every value; each failure is a
// 502 with nothing returned and the upstream's code in the audit record; a denied caller makes no upstream
// call; no value ever reaches the audit record.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startNodeBroker, type RunningBroker } from '../../broker/entry/node.ts';
import { generateKekBase64 } from '../../broker/src/store/envelope.ts';
import { generateIssuerKey, serveTestIssuer, signTestToken, type IssuerKey, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';
import {
  DB_SECRET_ARN,
  GCP_PROVIDER,
  GCP_SA,
  READER_ROLE,
  secretStoresWorld,
  serveSecretStores,
  type ServedSecretStores,
  type SecretStoresWorld,
} from '../fakes/secret-stores-world.ts';
import { freePort } from '../helpers/ports.ts';

const AUD = 'https://broker.e2e.test';
const VALUES = ['app', 'pa55-w0rd-S3CRET', 'api-key-S3CRET', 'gcp-pa55-S3CRET'];

let dir: string;
let ciIssuer: TestIssuerServer;
let ciKey: IssuerKey;
let broker: RunningBroker;
let world: SecretStoresWorld;
let served: ServedSecretStores | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-stores-'));
  ciKey = await generateIssuerKey();
  ciIssuer = await serveTestIssuer(ciKey);
  const port = await freePort();
  const brokerUrl = `http://127.0.0.1:${port}`;
  world = await secretStoresWorld(brokerUrl);
  served = await serveSecretStores(world);
  const { sts, secretsManager: sm, ssm, gcp, secretManager: gsm } = served;
  const pol = join(dir, 'policies');
  mkdirSync(join(pol, 'roles'), { recursive: true });
  writeFileSync(join(pol, 'issuers.yaml'), `issuers:\n  ci:\n    url: ${ciIssuer.url}\n    audience: ${AUD}\n`);
  writeFileSync(
    join(pol, 'roles/deploy-web-prod.yaml'),
    `role: deploy-web-prod
issuer: ci
max_ttl: 10m
allow:
  - repository_id: "42"
grants:
  - type: aws_secret
    secret_id: ${DB_SECRET_ARN}
    region: us-east-1
    role_arn: ${READER_ROLE}
    json_keys: { DB_USER: username, DB_PASSWORD: password }
    sts_endpoint: ${sts.url}/
    secretsmanager_endpoint: ${sm.url}/
  - type: aws_parameter
    name: /prod/api/key
    region: us-east-1
    role_arn: ${READER_ROLE}
    env: API_KEY
    sts_endpoint: ${sts.url}/
    ssm_endpoint: ${ssm.url}/
  - type: gcp_secret
    secret: projects/acme-prod/secrets/db-password/versions/latest
    workload_identity_provider: ${GCP_PROVIDER}
    service_account: ${GCP_SA}
    env: GCP_DB_PASSWORD
    sts_url: ${gcp.url}/v1/token
    iam_credentials_url: ${gcp.url}
    secret_manager_url: ${gsm.url}
`,
  );
  const env = { BROKER_KEK: generateKekBase64(), BROKER_PUBLIC_URL: brokerUrl, BROKER_UPSTREAM_TIMEOUT_MS: '1500' };
  broker = await startNodeBroker({ policiesDir: pol, dataDir: join(dir, 'data'), port, host: '127.0.0.1', env, log: () => {} });
}, 60_000);

afterAll(async () => {
  await broker?.stop();
  await ciIssuer?.close();
  await served?.close();
  await world?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  world.reset();
  world.sts.calls.length = 0;
  world.gcp.calls.length = 0;
});

const idToken = (extra: Record<string, unknown> = {}) =>
  signTestToken(ciKey, {
    iss: ciIssuer.url,
    aud: AUD,
    sub: 'repo:acme/web:ref:refs/heads/main',
    repository: 'acme/web',
    repository_id: '42',
    ...extra,
  });

async function exchange(token: string) {
  const res = await fetch(`${broker.url}/v1/exchange`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, role: 'deploy-web-prod' }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const lastAudit = async () => JSON.parse((await broker.deps.auditor.store.list({ descending: true, limit: 1 }))[0]!.record);

describe('one exchange, three secret stores', () => {
  it('returns every value as a secret credential with source and version; the audit names source, id and version only', async () => {
    const { status, body } = await exchange(await idToken());
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.credentials.map((c: Record<string, unknown>) => [c.type, c.name, c.value, c.version, c.source])).toEqual([
      ['secret', 'DB_USER', 'app', 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111', `aws_secret:${DB_SECRET_ARN}`],
      ['secret', 'DB_PASSWORD', 'pa55-w0rd-S3CRET', 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111', `aws_secret:${DB_SECRET_ARN}`],
      ['secret', 'API_KEY', 'api-key-S3CRET', 7, 'aws_parameter:/prod/api/key'],
      ['secret', 'GCP_DB_PASSWORD', 'gcp-pa55-S3CRET', 2, 'gcp_secret:projects/acme-prod/secrets/db-password/versions/latest'],
    ]);
    const record = await lastAudit();
    expect(record.credentials).toEqual([
      { type: 'aws_secret', target: `${DB_SECRET_ARN}@a1b2c3d4-5678-90ab-cdef-EXAMPLE11111` },
      { type: 'aws_parameter', target: '/prod/api/key@7' },
      { type: 'gcp_secret', target: 'projects/acme-prod/secrets/db-password/versions/latest@2' },
    ]);
    const text = JSON.stringify(record);
    for (const v of VALUES.slice(1)) expect(text).not.toContain(v);
  });

  it('a denied caller makes no upstream call', async () => {
    const { status, body } = await exchange(await idToken({ repository_id: '43' }));
    expect([status, body.error]).toEqual([403, 'ERR_ACCESS_DENIED']);
    expect(world.sts.calls).toEqual([]);
    expect(world.gcp.calls).toEqual([]);
    expect([world.secretsManager.calls, world.ssm.calls, world.secretManager.calls]).toEqual([[], [], []]);
  });
});

describe('a secret store failing', () => {
  const cases: [string, (w: SecretStoresWorld) => void, string, string][] = [
    ['Secrets Manager denies', (w) => (w.secretsManager.mode = 'deny'), 'aws_secret', 'AccessDeniedException'],
    ['Secrets Manager throttles', (w) => (w.secretsManager.mode = 'throttle'), 'aws_secret', 'ThrottlingException'],
    ['Secrets Manager hangs', (w) => (w.secretsManager.mode = 'hang'), 'aws_secret', 'aws_secret.timeout'],
    [
      'a JSON key is absent',
      (w) => (w.secretsManager.secrets[0]!.versions[0]!.string = '{"username":"app"}'),
      'aws_secret',
      'JsonKeyMissing',
    ],
    ['the secret is not JSON', (w) => (w.secretsManager.secrets[0]!.versions[0]!.string = 'not json'), 'aws_secret', 'NotJson'],
    ['the parameter is missing', (w) => (w.ssm.parameters[0]!.name = '/prod/api/gone'), 'aws_parameter', 'ParameterNotFound'],
    ['SSM answers malformed JSON', (w) => (w.ssm.mode = 'malformed'), 'aws_parameter', 'aws_parameter.malformed_response:json'],
    ['Secret Manager fails (5xx)', (w) => (w.secretManager.mode = 'server_error'), 'gcp_secret', 'UNAVAILABLE'],
    ['the CRC32C does not match', (w) => (w.secretManager.mode = 'bad_crc'), 'gcp_secret', 'DataCorrupted'],
  ];
  it.each(cases)('%s -> 502, nothing returned, the upstream code audited', async (_name, breakIt, type, code) => {
    const saved = { json: world.secretsManager.secrets[0]!.versions[0]!.string, param: world.ssm.parameters[0]!.name };
    breakIt(world);
    try {
      const started = Date.now();
      const { status, body } = await exchange(await idToken());
      expect(Date.now() - started).toBeLessThan(8_000);
      expect([status, body.error]).toEqual([502, 'ERR_UPSTREAM']);
      expect(Object.keys(body).sort()).toEqual(['error', 'message', 'request_id']);
      const record = await lastAudit();
      expect(record).toMatchObject({ code: 'ERR_UPSTREAM', upstream: { type, code } });
      expect(record.reason).toMatch(new RegExp(`^${type}\\.`));
      const text = JSON.stringify(record);
      for (const v of VALUES.slice(1)) expect(text).not.toContain(v);
    } finally {
      world.secretsManager.secrets[0]!.versions[0]!.string = saved.json as string;
      world.ssm.parameters[0]!.name = saved.param;
    }
  });
});
