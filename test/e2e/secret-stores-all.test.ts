// Issue 16's end-to-end case: one role with all five secret-store grants (AWS Secrets Manager, SSM Parameter
// Store, GCP Secret Manager, Azure Key Vault, Vault) on the real Node broker, each store a fake on loopback
// that checks the broker's federated credentials as the service does. One exchange returns every value; the
// audit record names every source and version and holds none of the values. The failure classes of each
// store are covered per store in secret-stores-cloud.test.ts and secret-stores-keyvault-vault.test.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeBroker, type RunningBroker } from '../../broker/entry/node.ts';
import { generateKekBase64 } from '../../broker/src/store/envelope.ts';
import { generateIssuerKey, serveTestIssuer, signTestToken, type IssuerKey, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';
import { startFakeEntra, type ServedFakeEntra } from '../fakes/azure.ts';
import { keyVaultVersion, startFakeKeyVault, type ServedFakeKeyVault } from '../fakes/keyvault.ts';
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
import { startFakeVault, type ServedFakeVault } from '../fakes/vault.ts';
import { freePort } from '../helpers/ports.ts';

const AUD = 'https://broker.e2e.test';
const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = '66666666-7777-8888-9999-000000000000';
// The name the AWS and GCP fakes trust (test/fakes/secret-stores-world.ts binds their readers to it).
const ROLE = 'deploy-web-prod';
const VALUES = ['pa55-w0rd-S3CRET', 'api-key-S3CRET', 'gcp-pa55-S3CRET', 'kv-value-must-not-leak', 'vault-value-must-not-leak'];

let dir: string;
let ciIssuer: TestIssuerServer;
let ciKey: IssuerKey;
let broker: RunningBroker;
let world: SecretStoresWorld;
let entra: ServedFakeEntra;
let keyVault: ServedFakeKeyVault;
let vault: ServedFakeVault;
let served: ServedSecretStores | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-all-stores-'));
  ciKey = await generateIssuerKey();
  ciIssuer = await serveTestIssuer(ciKey);
  const port = await freePort();
  const brokerUrl = `http://127.0.0.1:${port}`;
  world = await secretStoresWorld(brokerUrl);
  served = await serveSecretStores(world);
  const { sts, secretsManager: sm, ssm, gcp, secretManager: gsm } = served;
  entra = await startFakeEntra({
    apps: [{ tenant_id: TENANT, client_id: CLIENT, federated: [{ issuer: brokerUrl, subject: `role:${ROLE}` }] }],
  });
  keyVault = await startFakeKeyVault({
    entra,
    tenant_id: TENANT,
    readers: [CLIENT],
    secrets: { 'db-password': [{ version: keyVaultVersion(), value: VALUES[3]! }] },
  });
  vault = await startFakeVault({
    auth: {
      mount: 'jwt',
      jwks_url: `${brokerUrl}/.well-known/jwks.json`,
      bound_issuer: brokerUrl,
      roles: [
        {
          name: 'ci-broker',
          bound_audiences: ['https://vault.e2e.test'],
          bound_claims: { repository_id: '42' },
          readable: ['secret/data/app/prod'],
        },
      ],
    },
    kv: { secret: { 'app/prod': [{ data: { password: VALUES[4]!, user: 'svc' } }] } },
  });
  const pol = join(dir, 'policies');
  mkdirSync(join(pol, 'roles'), { recursive: true });
  writeFileSync(join(pol, 'issuers.yaml'), `issuers:\n  ci:\n    url: ${ciIssuer.url}\n    audience: ${AUD}\n`);
  writeFileSync(
    join(pol, `roles/${ROLE}.yaml`),
    `role: ${ROLE}
issuer: ci
max_ttl: 10m
allow:
  - repository_id: "42"
grants:
  - type: aws_secret
    secret_id: ${DB_SECRET_ARN}
    region: us-east-1
    role_arn: ${READER_ROLE}
    json_keys: { DB_PASSWORD: password }
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
  - type: azure_secret
    vault_url: ${keyVault.url}
    name: db-password
    tenant_id: ${TENANT}
    client_id: ${CLIENT}
    authority_host: ${entra.url}
    env: KV_PASSWORD
  - type: vault_secret
    address: ${vault.url}
    auth_role: ci-broker
    path: app/prod
    keys: { VAULT_PASSWORD: password }
    audience: https://vault.e2e.test
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
  await keyVault?.close();
  await vault?.close();
  await entra?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('one exchange, five secret stores', () => {
  it('returns every value as a secret credential naming its source; the audit record names sources and versions, never a value', async () => {
    const token = await signTestToken(ciKey, {
      iss: ciIssuer.url,
      aud: AUD,
      sub: 'repo:acme/web:ref:refs/heads/main',
      repository: 'acme/web',
      repository_id: '42',
    });
    const res = await fetch(`${broker.url}/v1/exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, role: ROLE }),
    });
    const body = (await res.json()) as { credentials: Record<string, unknown>[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    const byName = Object.fromEntries(body.credentials.map((c) => [c.name, c]));
    expect(Object.keys(byName).sort()).toEqual(['API_KEY', 'DB_PASSWORD', 'GCP_DB_PASSWORD', 'KV_PASSWORD', 'VAULT_PASSWORD']);
    expect(body.credentials.every((c) => c.type === 'secret')).toBe(true);
    expect(
      [byName.DB_PASSWORD, byName.API_KEY, byName.GCP_DB_PASSWORD, byName.KV_PASSWORD, byName.VAULT_PASSWORD].map((c) => c?.value),
    ).toEqual(VALUES);
    const record = JSON.parse((await broker.deps.auditor.store.list({ descending: true, limit: 1 }))[0]!.record) as {
      decision: string;
      credentials: { type: string; target: string }[];
    };
    expect(record.decision).toBe('allow');
    expect(record.credentials.map((c) => c.type)).toEqual(['aws_secret', 'aws_parameter', 'gcp_secret', 'azure_secret', 'vault_secret']);
    const text = JSON.stringify(record);
    for (const v of VALUES) expect(text).not.toContain(v);
  });
});
