// The azure_secret minter against a fake Key Vault (challenge, bearer tokens from the fake Entra, RBAC) and
// the fake Entra that verifies the broker's federated assertion over the broker's published JWKS.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAzureSecretMinter } from '../../../broker/src/mint/azure-secret.ts';
import type { CloudMintDeps } from '../../../broker/src/mint/broker-token.ts';
import type { MultiMintResult } from '../../../broker/src/mint/types.ts';
import type { GrantOf } from '../../../broker/src/policy/schema.ts';
import { startFakeEntra, type ServedFakeEntra } from '../../fakes/azure.ts';
import { keyVaultVersion, startFakeKeyVault, type ServedFakeKeyVault } from '../../fakes/keyvault.ts';
import { grantOf, mintContext } from '../../fakes/mint-context.ts';
import { serveBrokerIssuer, type ServedIssuer } from '../../helpers/broker-issuer.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const READER = '0c3e2b6a-1f0e-4c4d-9a55-3f5b8d2c7e11';
const OUTSIDER = '5b1c0d9e-0000-4c4d-9a55-3f5b8d2c7e11';
const V1 = keyVaultVersion();
const V2 = keyVaultVersion();
const VALUE = 'p4ss-w0rd-do-not-log';
const JSON_VALUE = JSON.stringify({ username: 'app', password: 'json-pw-do-not-log', port: 5432, nested: { a: 1 } });

let broker: ServedIssuer;
let entra: ServedFakeEntra;
let vault: ServedFakeKeyVault;
const calls: string[] = [];

beforeAll(async () => {
  broker = await serveBrokerIssuer({ now: Date.now() });
  entra = await startFakeEntra({
    apps: [READER, OUTSIDER].map((client_id) => ({
      tenant_id: TENANT,
      client_id,
      federated: [{ issuer: broker.url, subject: 'role:deploy-web-prod' }],
    })),
  });
  vault = await startFakeKeyVault({
    entra,
    tenant_id: TENANT,
    readers: [READER],
    secrets: {
      'db-password': [
        { version: V1, value: 'old' },
        { version: V2, value: VALUE },
      ],
      'db-json': [{ version: V1, value: JSON_VALUE }],
      disabled: [{ version: V1, value: 'x', enabled: false }],
    },
  });
});
afterAll(async () => {
  await vault.close();
  await entra.close();
  await broker.close();
});
afterEach(() => {
  vault.mode = 'ok';
  vault.resource = 'https://vault.azure.net';
  entra.mode = 'ok';
  calls.length = 0;
});

function deps(timeoutMs = 1_000): CloudMintDeps {
  return {
    fetch: (input, init) => {
      calls.push(String(input));
      return fetch(input, init);
    },
    issuer: broker.issuer,
    timeoutMs,
    secrets: { get: async () => null },
  };
}

function grant(over: Record<string, unknown> = {}): GrantOf<'azure_secret'> {
  return grantOf('azure_secret', {
    vault_url: vault.url,
    name: 'db-password',
    tenant_id: TENANT,
    client_id: READER,
    authority_host: entra.url,
    env: 'DB_PASSWORD',
    ...over,
  });
}

async function mint(g = grant(), timeoutMs?: number): Promise<MultiMintResult> {
  broker.clock.now = Date.now();
  return createAzureSecretMinter(deps(timeoutMs)).mint(g, mintContext({ grant: g, now: Math.floor(Date.now() / 1000) }));
}

describe('azure_secret minter', () => {
  it('answers the challenge, gets a token for the challenged resource and returns the latest version as one secret credential', async () => {
    const result = await mint();
    expect(result).toEqual({
      ok: true,
      credentials: [
        {
          type: 'secret',
          name: 'DB_PASSWORD',
          env: 'DB_PASSWORD',
          value: VALUE,
          version: V2,
          source: `azure_secret:${vault.url}/secrets/db-password`,
        },
      ],
      summary: { type: 'azure_secret', target: `${vault.url}/secrets/db-password@${V2}` },
    });
    // The unauthenticated challenge, then the read with the token.
    expect(vault.requests.slice(-2).map((r) => [r.authorized, r.status])).toEqual([
      [false, 401],
      [true, 200],
    ]);
    expect(entra.assertions.at(-1)?.payload).toMatchObject({
      iss: broker.url,
      sub: 'role:deploy-web-prod',
      aud: 'api://AzureADTokenExchange',
    });
    expect([...entra.issued.values()].at(-1)?.scope).toBe('https://vault.azure.net/.default');
  });

  it('reads a pinned version', async () => {
    const result = await mint(grant({ version: V1 }));
    expect(result.ok && result.credentials[0]).toMatchObject({ value: 'old', version: V1 });
  });

  it('picks json_keys fields; numbers become their JSON text', async () => {
    const result = await mint(
      grant({ name: 'db-json', env: undefined, json_keys: { DB_USER: 'username', DB_PASSWORD: 'password', DB_PORT: 'port' } }),
    );
    expect(result.ok && result.credentials.map((c) => [c.name, c.value])).toEqual([
      ['DB_USER', 'app'],
      ['DB_PASSWORD', 'json-pw-do-not-log'],
      ['DB_PORT', '5432'],
    ]);
  });

  it('retries a throttle (429 with Retry-After) and a 5xx, then succeeds', async () => {
    vault.mode = { status: 429, code: 'Throttled', times: 1, retryAfter: '0' };
    expect((await mint()).ok).toBe(true);
    vault.mode = { status: 503, code: 'ServiceUnavailable', times: 2 };
    expect((await mint()).ok).toBe(true);
  });

  it('does not retry a refusal (403)', async () => {
    const before = vault.requests.length;
    const result = await mint(grant({ client_id: OUTSIDER }));
    expect(result).toMatchObject({
      ok: false,
      code: 'ERR_UPSTREAM',
      detail: 'azure_secret.get.http_403:ForbiddenByRbac',
      upstream_code: 'ForbiddenByRbac',
    });
    expect(vault.requests.length - before).toBe(2);
  });
});
