// The aws_secret, aws_parameter and gcp_secret minters inside workerd: the runtime's fetch, SigV4 through
// aws4fetch on WebCrypto, the JSON protocol, the CRC32C check. Their requests to the real hosts are answered
// on the Node side by the fakes (test/fakes/mint-outbound.ts), which check the STS sessions and Google
// tokens they were signed or sent with.
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { BrokerIssuer } from '../../broker/src/issuer/issuer.ts';
import { createAwsParameterMinter } from '../../broker/src/mint/aws-parameter.ts';
import { createAwsSecretMinter } from '../../broker/src/mint/aws-secret.ts';
import type { CloudMintDeps } from '../../broker/src/mint/broker-token.ts';
import { createGcpSecretMinter } from '../../broker/src/mint/gcp-secret.ts';
import { importKek } from '../../broker/src/store/envelope.ts';
import type { MintFakesBinding } from '../fakes/mint-outbound.ts';
import { grantOf, mintContext } from '../fakes/mint-context.ts';
import { MemoryKeyStore } from '../helpers/memory-stores.ts';

const fakes = JSON.parse((env as unknown as { TEST_MINT_FAKES: string }).TEST_MINT_FAKES) as MintFakesBinding;
let deps: CloudMintDeps;

beforeAll(async () => {
  const store = new MemoryKeyStore();
  store.rows = fakes.keyRows;
  const issuer = new BrokerIssuer({
    store,
    keks: { current: await importKek(fakes.kek) },
    publicUrl: fakes.issuerUrl,
    now: () => Date.now(),
  });
  deps = { fetch: (input, init) => fetch(input, init), issuer, timeoutMs: 2000, secrets: { get: async () => null } };
});

const ctxFor = (grant: Parameters<typeof mintContext>[0]['grant']) =>
  mintContext({ grant, now: Math.floor(Date.now() / 1000), maxTtl: '10m' });

async function stores(): Promise<{
  secretsManager: { status: number; role: string | null }[];
  ssm: { status: number; role: string | null }[];
  secretManager: { status: number; principal: string | null }[];
  throttled: number;
}> {
  return ((await (await fetch('https://mint-fakes.test/state')).json()) as { stores: never }).stores;
}

describe('secret-store minters inside workerd', () => {
  it('aws_secret: GetSecretValue with a web identity session, json_keys picked', async () => {
    const grant = grantOf('aws_secret', {
      secret_id: 'prod/db',
      region: 'us-east-1',
      role_arn: fakes.aws.role,
      json_keys: { U: 'username', P: 'password' },
    });
    const result = await createAwsSecretMinter(deps).mint(grant, ctxFor(grant));
    expect(result.ok && result.credentials?.map((c) => [c.name, c.value, c.source])).toEqual([
      ['U', 'app', 'aws_secret:prod/db'],
      ['P', 'w0rkerd', 'aws_secret:prod/db'],
    ]);
    expect((await stores()).secretsManager.at(-1)).toEqual({ status: 200, role: fakes.aws.role });
  });

  it('aws_parameter: GetParameter WithDecryption', async () => {
    const grant = grantOf('aws_parameter', { name: '/prod/api/key', region: 'us-east-1', role_arn: fakes.aws.role, env: 'API_KEY' });
    const result = await createAwsParameterMinter(deps).mint(grant, ctxFor(grant));
    expect(result.ok && result.credential).toMatchObject({ name: 'API_KEY', value: 'workers-api-key', version: 3 });
  });

  it('gcp_secret: versions.access through impersonation, CRC32C checked', async () => {
    const grant = grantOf('gcp_secret', {
      secret: 'projects/acme-prod/secrets/db-password/versions/latest',
      workload_identity_provider: fakes.gcp.provider,
      service_account: fakes.gcp.serviceAccount,
      env: 'DB_PASSWORD',
    });
    const result = await createGcpSecretMinter(deps).mint(grant, ctxFor(grant));
    expect(result.ok && result.credential).toMatchObject({ name: 'DB_PASSWORD', value: 'gcp-w0rkerd', version: 1 });
    expect((await stores()).secretManager.at(-1)).toEqual({ status: 200, principal: `serviceAccount:${fakes.gcp.serviceAccount}` });
  });

  it('a throttle that does not stop is retried within the deadline, then ERR_UPSTREAM with the code', async () => {
    const before = (await stores()).throttled;
    const grant = grantOf('aws_secret', {
      secret_id: 'prod/db',
      region: 'us-east-1',
      role_arn: fakes.aws.role,
      env: 'X',
      secretsmanager_endpoint: 'https://throttle.secretsmanager.fake/',
    });
    const result = await createAwsSecretMinter(deps, { baseDelayMs: 5 }).mint(grant, ctxFor(grant));
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', upstream_code: 'ThrottlingException' });
    expect((await stores()).throttled - before).toBe(3);
  });

  it('a payload whose CRC32C does not match is refused', async () => {
    const grant = grantOf('gcp_secret', {
      secret: 'projects/acme-prod/secrets/db-password/versions/latest',
      workload_identity_provider: fakes.gcp.provider,
      service_account: fakes.gcp.serviceAccount,
      env: 'X',
      secret_manager_url: 'https://bad-crc.secretmanager.fake',
    });
    const result = await createGcpSecretMinter(deps).mint(grant, ctxFor(grant));
    expect(result).toEqual({ ok: false, code: 'ERR_UPSTREAM', detail: 'gcp_secret.crc32c_mismatch', upstream_code: 'DataCorrupted' });
  });
});
