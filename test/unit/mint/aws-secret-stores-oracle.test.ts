// The fake Secrets Manager and SSM are only worth what they are faithful: the AWS SDK's own clients
// (@aws-sdk/client-secrets-manager, @aws-sdk/client-ssm), signing with a session the fake STS issued to the
// broker, must read from them and surface their errors as the SDK's typed exceptions; and a signature made
// with the wrong key must be refused.
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assumeForRead, type AwsSession } from '../../../broker/src/mint/aws-json.ts';
import { grantOf, mintContext } from '../../fakes/mint-context.ts';
import { AWS_FAKE_ENDPOINTS, DB_JSON, READER_ROLE, secretStoresWorld, type SecretStoresWorld } from '../../fakes/secret-stores-world.ts';
import { serveFake, type ServedFake } from '../../fakes/tls.ts';

let world: SecretStoresWorld;
let session: AwsSession;
let sm: ServedFake;
let ssm: ServedFake;

beforeAll(async () => {
  world = await secretStoresWorld();
  const grant = grantOf('aws_parameter', {
    name: '/prod/plain',
    region: 'us-east-1',
    role_arn: READER_ROLE,
    env: 'X',
    ...AWS_FAKE_ENDPOINTS,
  });
  const assumed = await assumeForRead(world.deps, grant, mintContext({ grant, now: Math.floor(Date.now() / 1000) }));
  if (!assumed.ok) throw new Error(assumed.detail);
  session = assumed.session;
  sm = await serveFake(world.secretsManager.handle);
  ssm = await serveFake(world.ssm.handle);
});

afterAll(async () => {
  await sm.close();
  await ssm.close();
  await world.close();
});

const credentials = () => ({
  accessKeyId: session.accessKeyId,
  secretAccessKey: session.secretAccessKey,
  sessionToken: session.sessionToken,
});

describe('@aws-sdk/client-secrets-manager against the fake', () => {
  it('reads a secret by name and by ARN with the STS session', async () => {
    const client = new SecretsManagerClient({ region: 'us-east-1', endpoint: sm.url, credentials: credentials(), maxAttempts: 1 });
    const out = await client.send(new GetSecretValueCommand({ SecretId: 'prod/db' }));
    expect(out.SecretString).toBe(DB_JSON);
    expect(out.VersionStages).toEqual(['AWSCURRENT']);
    expect(out.CreatedDate).toBeInstanceOf(Date);
    const bin = await client.send(new GetSecretValueCommand({ SecretId: 'prod/bin' }));
    expect(new TextDecoder().decode(bin.SecretBinary)).toBe('binary-text');
    expect(world.secretsManager.calls.at(-1)).toMatchObject({ status: 200, role: READER_ROLE });
  });

  it('surfaces ResourceNotFoundException as the typed exception', async () => {
    const client = new SecretsManagerClient({ region: 'us-east-1', endpoint: sm.url, credentials: credentials(), maxAttempts: 1 });
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'prod/nope' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses a signature made with another secret key', async () => {
    const client = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: sm.url,
      credentials: { ...credentials(), secretAccessKey: 'wrong/EXAMPLEKEY' },
      maxAttempts: 1,
    });
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'prod/db' }))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
  });
});

describe('@aws-sdk/client-ssm against the fake', () => {
  it('reads a SecureString with WithDecryption', async () => {
    const client = new SSMClient({ region: 'us-east-1', endpoint: ssm.url, credentials: credentials(), maxAttempts: 1 });
    const out = await client.send(new GetParameterCommand({ Name: '/prod/api/key', WithDecryption: true }));
    expect(out.Parameter).toMatchObject({ Name: '/prod/api/key', Type: 'SecureString', Value: 'api-key-S3CRET', Version: 7 });
    expect(out.Parameter?.LastModifiedDate).toBeInstanceOf(Date);
  });

  it('surfaces ParameterNotFound and a throttle as the SDK names them', async () => {
    const client = new SSMClient({ region: 'us-east-1', endpoint: ssm.url, credentials: credentials(), maxAttempts: 1 });
    await expect(client.send(new GetParameterCommand({ Name: '/prod/nope' }))).rejects.toBeInstanceOf(ParameterNotFound);
    world.ssm.mode = 'throttle';
    try {
      await expect(client.send(new GetParameterCommand({ Name: '/prod/plain' }))).rejects.toMatchObject({ name: 'ThrottlingException' });
    } finally {
      world.ssm.mode = 'ok';
    }
  });

  it('refuses a session token that STS did not issue with the key', async () => {
    const client = new SSMClient({
      region: 'us-east-1',
      endpoint: ssm.url,
      credentials: { ...credentials(), sessionToken: 'FwoGZXIvYXdzEforged' },
      maxAttempts: 1,
    });
    await expect(client.send(new GetParameterCommand({ Name: '/prod/plain' }))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
  });
});
