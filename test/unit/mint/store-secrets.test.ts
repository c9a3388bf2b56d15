// The aws_secret, aws_parameter and gcp_secret minters against the fakes (test/fakes/secret-stores-world.ts):
// one `type: "secret"` credential per exported name with source and version, json_keys, versions and
// stages, impersonation or not, and the audit summary naming source, id and version.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MintResult } from '../../../broker/src/mint/types.ts';
import { crc32c } from '../../../broker/src/util/crc32c.ts';
import { crc32cBitwise } from '../../fakes/gcp-secret-manager.ts';
import {
  DB_SECRET_ARN,
  GCP_SA,
  READER_ROLE,
  mintStoreGrant,
  secretStoresWorld,
  type SecretStoresWorld,
} from '../../fakes/secret-stores-world.ts';

let world: SecretStoresWorld;
beforeAll(async () => {
  world = await secretStoresWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());

const mintStore = (type: Parameters<typeof mintStoreGrant>[1], fields: Record<string, unknown>) => mintStoreGrant(world, type, fields);

function credentialsOf(result: MintResult) {
  expect(result.ok).toBe(true);
  return result.ok ? (result.credentials ?? [result.credential]) : [];
}

describe('crc32c', () => {
  it('is CRC-32C (Castagnoli), not zlib CRC-32: crc32c("123456789") = 0xE3069283', () => {
    const bytes = new TextEncoder().encode('123456789');
    expect(crc32c(bytes)).toBe(0xe3069283);
    expect(crc32cBitwise(bytes)).toBe(0xe3069283);
    expect(crc32c(new Uint8Array())).toBe(0);
    const random = crypto.getRandomValues(new Uint8Array(4096));
    expect(crc32c(random)).toBe(crc32cBitwise(random));
  });
});

describe('aws_secret', () => {
  it('reads SecretString with a web identity session and names source, id and version', async () => {
    const result = await mintStore('aws_secret', { secret_id: 'prod/url', env: 'DATABASE_URL' });
    expect(credentialsOf(result)).toEqual([
      {
        type: 'secret',
        name: 'DATABASE_URL',
        env: 'DATABASE_URL',
        value: 'postgres://app@db/prod',
        version: 'b1b2c3d4-5678-90ab-cdef-EXAMPLE33333',
        source: 'aws_secret:prod/url',
      },
    ]);
    expect(result.ok && result.summary).toEqual({ type: 'aws_secret', target: 'prod/url@b1b2c3d4-5678-90ab-cdef-EXAMPLE33333' });
    expect(world.sts.calls.at(-1)?.claims?.aud).toBe('sts.amazonaws.com');
    expect(world.secretsManager.calls).toMatchObject([{ target: 'secretsmanager.GetSecretValue', status: 200, role: READER_ROLE }]);
  });

  it('picks json_keys fields of a JSON secret, one credential per name, by ARN', async () => {
    const result = await mintStore('aws_secret', {
      secret_id: DB_SECRET_ARN,
      json_keys: { DB_USER: 'username', DB_PASSWORD: 'password', DB_PORT: 'port', DB_NESTED: 'nested' },
    });
    expect(credentialsOf(result).map((c) => [c.name, c.value])).toEqual([
      ['DB_USER', 'app'],
      ['DB_PASSWORD', 'pa55-w0rd-S3CRET'],
      ['DB_PORT', '5432'],
      ['DB_NESTED', '{"a":1}'],
    ]);
  });

  it('reads the version stage or version id asked for', async () => {
    const staged = await mintStore('aws_secret', { secret_id: 'prod/db', version_stage: 'AWSPREVIOUS', env: 'OLD' });
    expect(credentialsOf(staged)[0]).toMatchObject({ value: 'old-url', version: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE22222' });
    expect(world.secretsManager.calls[0]?.body).toEqual({ SecretId: 'prod/db', VersionStage: 'AWSPREVIOUS' });
    const byId = await mintStore('aws_secret', { secret_id: 'prod/db', version_id: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE22222', env: 'OLD' });
    expect(credentialsOf(byId)[0]).toMatchObject({ value: 'old-url' });
  });

  it('exports a SecretBinary that is UTF-8 text', async () => {
    const result = await mintStore('aws_secret', { secret_id: 'prod/bin', env: 'BIN' });
    expect(credentialsOf(result)[0]?.value).toBe('binary-text');
  });
});

describe('aws_parameter', () => {
  it('reads a SecureString decrypted (WithDecryption) with its Version', async () => {
    const result = await mintStore('aws_parameter', { name: '/prod/api/key', env: 'API_KEY' });
    expect(credentialsOf(result)).toEqual([
      { type: 'secret', name: 'API_KEY', env: 'API_KEY', value: 'api-key-S3CRET', version: 7, source: 'aws_parameter:/prod/api/key' },
    ]);
    expect(world.ssm.calls[0]).toMatchObject({ target: 'AmazonSSM.GetParameter', body: { Name: '/prod/api/key', WithDecryption: true } });
    expect(result.ok && result.summary).toEqual({ type: 'aws_parameter', target: '/prod/api/key@7' });
  });
});

describe('gcp_secret', () => {
  it('reads latest through service account impersonation, checks the CRC32C, reports the version number', async () => {
    const result = await mintStore('gcp_secret', {
      secret: 'projects/acme-prod/secrets/db-password/versions/latest',
      service_account: GCP_SA,
      env: 'DB_PASSWORD',
    });
    expect(credentialsOf(result)).toEqual([
      {
        type: 'secret',
        name: 'DB_PASSWORD',
        env: 'DB_PASSWORD',
        value: 'gcp-pa55-S3CRET',
        version: 2,
        source: 'gcp_secret:projects/acme-prod/secrets/db-password/versions/latest',
      },
    ]);
    expect(world.secretManager.calls.at(-1)).toMatchObject({ status: 200, principal: `serviceAccount:${GCP_SA}` });
    expect(world.gcp.calls.map((c) => c.endpoint)).toContain('iam');
  });

  it('reads with the federated token alone (no impersonation) and a numbered version', async () => {
    const result = await mintStore('gcp_secret', { secret: 'projects/123456789012/secrets/db-password/versions/1', env: 'FIRST' });
    expect(credentialsOf(result)[0]).toMatchObject({ value: 'first', version: 1 });
    expect(world.secretManager.calls.at(-1)).toMatchObject({ principal: 'subject:role:deploy-web-prod' });
  });

  it('picks json_keys of a JSON payload', async () => {
    const result = await mintStore('gcp_secret', {
      secret: 'projects/acme-prod/secrets/db-json/versions/latest',
      service_account: GCP_SA,
      json_keys: { PGUSER: 'username', PGPASSWORD: 'password' },
    });
    expect(credentialsOf(result).map((c) => [c.name, c.value])).toEqual([
      ['PGUSER', 'app'],
      ['PGPASSWORD', 'pa55-w0rd-S3CRET'],
    ]);
  });
});
