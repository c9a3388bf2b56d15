// The oracles: the official clients pointed at the same fakes the minters are tested against. Microsoft's
// @azure/keyvault-secrets (challenge-based auth, over loopback HTTPS; the challenge's resource is
// https://vault.azure.net, so resource verification is off for 127.0.0.1) with @azure/identity's
// ClientAssertionCredential presenting a broker token, and node-vault's jwtLogin + KV v2 read. Both accept
// the fakes' answers and parse their errors, so the fakes speak the services' protocols.
import { ClientAssertionCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AZURE_FEDERATED_AUDIENCE } from '../../../broker/src/mint/azure.ts';
import { signBrokerToken } from '../../../broker/src/mint/broker-token.ts';
import type { MintContext } from '../../../broker/src/mint/types.ts';
import type { CompiledRole } from '../../../broker/src/policy/compile.ts';
import { startFakeEntra, type ServedFakeEntra } from '../../fakes/azure.ts';
import { keyVaultVersion, startFakeKeyVault, type ServedFakeKeyVault } from '../../fakes/keyvault.ts';
import { startFakeVault, type ServedFakeVault } from '../../fakes/vault.ts';
import { serveBrokerIssuer, type ServedIssuer } from '../../helpers/broker-issuer.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const READER = '0c3e2b6a-1f0e-4c4d-9a55-3f5b8d2c7e11';
const OUTSIDER = '5b1c0d9e-0000-4c4d-9a55-3f5b8d2c7e11';
const V1 = keyVaultVersion();

let broker: ServedIssuer;
let entra: ServedFakeEntra;
let keyVault: ServedFakeKeyVault;
let vault: ServedFakeVault;

beforeAll(async () => {
  broker = await serveBrokerIssuer({ now: Date.now() });
  entra = await startFakeEntra({
    tls: true,
    apps: [READER, OUTSIDER].map((client_id) => ({
      tenant_id: TENANT,
      client_id,
      federated: [{ issuer: broker.url, subject: 'role:deploy' }],
    })),
  });
  keyVault = await startFakeKeyVault({
    tls: true,
    entra,
    tenant_id: TENANT,
    readers: [READER],
    secrets: { 'db-password': [{ version: V1, value: 's3cret', contentType: 'text/plain' }] },
  });
  vault = await startFakeVault({
    tls: true,
    auth: {
      mount: 'jwt',
      jwks_url: `${broker.url}/.well-known/jwks.json`,
      bound_issuer: broker.url,
      roles: [
        {
          name: 'ci-broker',
          bound_audiences: ['https://vault.example.com'],
          bound_claims: { role: 'deploy' },
          readable: ['secret/data/app/prod'],
        },
      ],
    },
    kv: {
      secret: {
        'app/prod': [{ data: { password: 'old' } }, { data: { password: 'gone' }, deleted: true }, { data: { password: 'kv-pw' } }],
      },
    },
  });
});
afterAll(async () => {
  await Promise.all([keyVault.close(), vault.close(), entra.close()]);
  await broker.close();
});

function ctx(): MintContext {
  broker.clock.now = Date.now();
  return {
    role: { name: 'deploy', maxTtl: 900 } as CompiledRole,
    claims: { repository: 'acme/web' },
    issuer: 'github',
    requestId: 'r1',
    now: Math.floor(Date.now() / 1000),
    maxTtl: 900,
  };
}

function secretClient(clientId: string): SecretClient {
  const credential = new ClientAssertionCredential(
    TENANT,
    clientId,
    async () => (await signBrokerToken(broker.issuer, ctx(), AZURE_FEDERATED_AUDIENCE)).token,
    { authorityHost: entra.url, disableInstanceDiscovery: true, agent: entra.agent!, retryOptions: { maxRetries: 0 } },
  );
  return new SecretClient(keyVault.url, credential, {
    disableChallengeResourceVerification: true,
    agent: keyVault.agent!,
    retryOptions: { maxRetries: 0 },
  });
}

describe('@azure/keyvault-secrets against the fake Key Vault', () => {
  it('answers the challenge, gets a token for the challenged resource and reads the secret', async () => {
    const secret = await secretClient(READER).getSecret('db-password');
    expect(secret.value).toBe('s3cret');
    expect(secret.properties).toMatchObject({
      name: 'db-password',
      version: V1,
      enabled: true,
      contentType: 'text/plain',
      vaultUrl: keyVault.url,
    });
    expect(keyVault.requests.slice(-2).map((r) => [r.authorized, r.status])).toEqual([
      [false, 401],
      [true, 200],
    ]);
  });

  it('reads a version and parses SecretNotFound and ForbiddenByRbac', async () => {
    expect((await secretClient(READER).getSecret('db-password', { version: V1 })).value).toBe('s3cret');
    await expect(secretClient(READER).getSecret('missing')).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
    await expect(secretClient(OUTSIDER).getSecret('db-password')).rejects.toMatchObject({ statusCode: 403, code: 'Forbidden' });
  });
});

function vaultClient() {
  return nodeVault({ endpoint: vault.url, apiVersion: 'v1', requestOptions: { ca: vault.ca } } as never);
}

describe('node-vault against the fake Vault', () => {
  it('logs in with a broker token (jwtLogin) and reads KV v2 data, latest and pinned', async () => {
    const client = vaultClient();
    const login = await client.jwtLogin({
      role: 'ci-broker',
      jwt: (await signBrokerToken(broker.issuer, ctx(), 'https://vault.example.com')).token,
    });
    expect(login.auth.client_token).toMatch(/^hvs\./);
    expect(client.token).toBe(login.auth.client_token);
    const latest = await client.read('secret/data/app/prod');
    expect(latest.data).toMatchObject({ data: { password: 'kv-pw' }, metadata: { version: 3, destroyed: false, deletion_time: '' } });
    expect((await client.read('secret/data/app/prod?version=1')).data.data).toEqual({ password: 'old' });
  });

  it('parses Vault errors: a deleted version (404 with metadata), a wrong audience, no token', async () => {
    const client = vaultClient();
    await client.jwtLogin({ role: 'ci-broker', jwt: (await signBrokerToken(broker.issuer, ctx(), 'https://vault.example.com')).token });
    await expect(client.read('secret/data/app/prod?version=2')).rejects.toMatchObject({ response: { statusCode: 404 } });
    const wrongAud = (await signBrokerToken(broker.issuer, ctx(), 'https://elsewhere')).token;
    await expect(vaultClient().jwtLogin({ role: 'ci-broker', jwt: wrongAud })).rejects.toThrow(/invalid audience/);
    await expect(vaultClient().read('secret/data/app/prod')).rejects.toThrow(/permission denied/);
  });
});
