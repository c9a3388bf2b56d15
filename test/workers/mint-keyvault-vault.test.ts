// The azure_secret and vault_secret minters inside workerd, at the hosts their grants name: the runtime's
// fetch (Key Vault's 401 challenge read through redirect: manual and deadlines), WebCrypto broker tokens.
// The requests are answered on the Node side (test/fakes/mint-outbound.ts) by the fake Entra, which checks
// the federated assertion against the broker JWKS, the fake Key Vault, which checks the Entra token, and the
// fake Vault, whose JWT auth checks the broker token against the same JWKS.
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { BrokerIssuer } from '../../broker/src/issuer/issuer.ts';
import { createAzureSecretMinter } from '../../broker/src/mint/azure-secret.ts';
import type { CloudMintDeps } from '../../broker/src/mint/broker-token.ts';
import { createVaultSecretMinter } from '../../broker/src/mint/vault-secret.ts';
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
  entra: number[];
  keyVault: { path: string; authorized: boolean; status: number }[];
  vault: { logins: string[]; reads: { path: string; status: number; token: boolean }[]; revoked: number; live: number };
}> {
  return ((await (await fetch('https://mint-fakes.test/state')).json()) as { stores: never }).stores;
}

const keyVaultGrant = (name: string) =>
  grantOf('azure_secret', {
    vault_url: 'https://myvault.vault.azure.net',
    name,
    tenant_id: fakes.azure.tenantId,
    client_id: fakes.azure.clientId,
    env: 'DB_PASSWORD',
  });

const vaultGrant = (role: string) =>
  grantOf('vault_secret', {
    address: 'https://vault.example.com',
    auth_role: role,
    path: 'app/prod',
    keys: { DB_USER: 'username', DB_PASSWORD: 'password' },
  });

describe('Key Vault and Vault minters inside workerd', () => {
  it('azure_secret: challenge, Entra token with the federated broker assertion, the latest version', async () => {
    const grant = keyVaultGrant('db-password');
    const result = await createAzureSecretMinter(deps).mint(grant, ctxFor(grant));
    const source = 'azure_secret:https://myvault.vault.azure.net/secrets/db-password';
    expect(result.ok && result.credentials).toEqual([
      { type: 'secret', name: 'DB_PASSWORD', env: 'DB_PASSWORD', value: 'kv-w0rkerd', version: fakes.azure.version, source },
    ]);
    const seen = await stores();
    expect(seen.entra.at(-1)).toBe(0);
    expect(seen.keyVault.slice(-2)).toEqual([
      { path: '/secrets/db-password', authorized: false, status: 401 },
      { path: '/secrets/db-password', authorized: true, status: 200 },
    ]);
  });

  it('azure_secret: a missing secret is ERR_UPSTREAM with Key Vault code, and no value in the detail', async () => {
    const grant = keyVaultGrant('no-such-secret');
    const result = await createAzureSecretMinter(deps).mint(grant, ctxFor(grant));
    expect(result).toEqual({
      ok: false,
      code: 'ERR_UPSTREAM',
      detail: 'azure_secret.get.http_404:SecretNotFound',
      upstream_code: 'SecretNotFound',
    });
    expect(JSON.stringify(result)).not.toContain('kv-w0rkerd');
  });

  it('vault_secret: JWT login verified against the broker JWKS, KV v2 read, the Vault token revoked', async () => {
    const grant = vaultGrant('ci-broker');
    const result = await createVaultSecretMinter(deps).mint(grant, ctxFor(grant));
    const source = 'vault_secret:https://vault.example.com/v1/secret/data/app/prod';
    expect(result.ok && result.credentials).toEqual([
      { type: 'secret', name: 'DB_USER', env: 'DB_USER', value: 'app', version: 2, source },
      { type: 'secret', name: 'DB_PASSWORD', env: 'DB_PASSWORD', value: 'vault-w0rkerd', version: 2, source },
    ]);
    const seen = await stores();
    expect(seen.vault.logins.at(-1)).toBe('ok');
    expect(seen.vault.reads.at(-1)).toEqual({ path: 'secret/data/app/prod', status: 200, token: true });
    expect(seen.vault.live).toBe(0);
  });

  it('vault_secret: a role whose policy does not allow the path is ERR_UPSTREAM, no value, token still revoked', async () => {
    const before = (await stores()).vault.revoked;
    const grant = vaultGrant('no-policy');
    const result = await createVaultSecretMinter(deps).mint(grant, ctxFor(grant));
    expect(result).toEqual({ ok: false, code: 'ERR_UPSTREAM', detail: 'vault_secret.read.http_403', upstream_code: 'HTTP_403' });
    expect(JSON.stringify(result)).not.toContain('vault-w0rkerd');
    const seen = await stores();
    expect(seen.vault.reads.at(-1)).toEqual({ path: 'secret/data/app/prod', status: 403, token: true });
    expect(seen.vault.revoked - before).toBe(1);
    expect(seen.vault.live).toBe(0);
  });
});
