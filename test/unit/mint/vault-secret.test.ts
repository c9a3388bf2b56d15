// The vault_secret minter against a fake Vault whose JWT auth verifies the broker token against the broker's
// published JWKS and the role's bound audiences and claims, and whose KV v2 engine checks the Vault token.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CloudMintDeps } from '../../../broker/src/mint/broker-token.ts';
import type { MultiMintResult } from '../../../broker/src/mint/types.ts';
import { createVaultSecretMinter } from '../../../broker/src/mint/vault-secret.ts';
import type { GrantOf } from '../../../broker/src/policy/schema.ts';
import { grantOf, mintContext } from '../../fakes/mint-context.ts';
import { startFakeVault, type ServedFakeVault } from '../../fakes/vault.ts';
import { serveBrokerIssuer, type ServedIssuer } from '../../helpers/broker-issuer.ts';

let broker: ServedIssuer;
let vault: ServedFakeVault;
let nsVault: ServedFakeVault;

beforeAll(async () => {
  broker = await serveBrokerIssuer({ now: Date.now() });
  const roles = [
    {
      name: 'ci-broker',
      bound_audiences: ['https://vault.example.com'],
      bound_claims: { role: 'deploy-web-prod', repository_id: '123456' },
      readable: ['secret/data/app/prod'],
    },
    { name: 'other-audience', bound_audiences: ['https://elsewhere'], readable: ['secret/data/app/prod'] },
    {
      name: 'other-role',
      bound_audiences: ['https://vault.example.com'],
      bound_claims: { role: 'someone-else' },
      readable: ['secret/data/app/prod'],
    },
    { name: 'no-policy', bound_audiences: ['https://vault.example.com'], readable: [] },
  ];
  const kv = {
    secret: {
      'app/prod': [
        { data: { username: 'v1-user', password: 'v1-pw' } },
        { data: { username: 'v2-user', password: 'v2-pw' }, deleted: true },
        { data: { username: 'v3-user', password: 'v3-pw' }, destroyed: true },
        { data: { username: 'app', password: 'vault-pw-do-not-log', port: 5432, nested: { a: 1 } } },
      ],
    },
  };
  vault = await startFakeVault({
    auth: { mount: 'jwt', jwks_url: `${broker.url}/.well-known/jwks.json`, bound_issuer: broker.url, roles },
    kv,
  });
  nsVault = await startFakeVault({
    namespace: 'team-a',
    auth: {
      mount: 'ci',
      oidc_discovery_url: broker.url,
      roles: roles.map((r) => ({ ...r, readable: ['kv/data/app/prod'] })),
    },
    kv: { kv: kv.secret as never },
  });
});
afterAll(async () => {
  await vault.close();
  await nsVault.close();
  await broker.close();
});
afterEach(() => {
  vault.modes = { login: 'ok', read: 'ok' };
});

function deps(): CloudMintDeps {
  return { fetch: (i, n) => fetch(i, n), issuer: broker.issuer, timeoutMs: 1_000, secrets: { get: async () => null } };
}

function grant(over: Record<string, unknown> = {}): GrantOf<'vault_secret'> {
  return grantOf('vault_secret', {
    address: vault.url,
    auth_role: 'ci-broker',
    path: 'app/prod',
    keys: { DB_USER: 'username', DB_PASSWORD: 'password' },
    audience: 'https://vault.example.com',
    ...over,
  });
}

async function mint(g = grant()): Promise<MultiMintResult> {
  broker.clock.now = Date.now();
  return createVaultSecretMinter(deps()).mint(g, mintContext({ grant: g, now: Math.floor(Date.now() / 1000) }));
}

describe('vault_secret minter', () => {
  it('logs in with a broker token, reads the latest version, exports each key, and revokes its Vault token', async () => {
    const revokedBefore = vault.revoked.length;
    const result = await mint();
    const source = `vault_secret:${vault.url}/v1/secret/data/app/prod`;
    expect(result).toEqual({
      ok: true,
      credentials: [
        { type: 'secret', name: 'DB_USER', env: 'DB_USER', value: 'app', version: 4, source },
        { type: 'secret', name: 'DB_PASSWORD', env: 'DB_PASSWORD', value: 'vault-pw-do-not-log', version: 4, source },
      ],
      summary: { type: 'vault_secret', target: `${vault.url}/v1/secret/data/app/prod@4` },
    });
    expect(vault.logins.at(-1)).toMatchObject({
      iss: broker.url,
      sub: 'role:deploy-web-prod',
      aud: 'https://vault.example.com',
      role: 'deploy-web-prod',
    });
    const exp = vault.logins.at(-1)!.exp! - vault.logins.at(-1)!.iat!;
    expect(exp).toBeLessThanOrEqual(300);
    expect(vault.revoked.length).toBe(revokedBefore + 1);
    expect(vault.tokens.size).toBe(0);
  });

  it('reads a pinned version', async () => {
    const result = await mint(grant({ version: 1 }));
    expect(result.ok && result.credentials.map((c) => [c.value, c.version])).toEqual([
      ['v1-user', 1],
      ['v1-pw', 1],
    ]);
  });

  it('defaults the audience to the address, and fails when the role is bound to another audience', async () => {
    const result = await mint(grant({ audience: undefined }));
    expect(vault.loginOutcomes.at(-1)).toMatch(/invalid audience/);
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', upstream_code: 'HTTP_400' });
    expect(result.ok || result.detail).toMatch(/^vault_secret\.login\.http_400:error validating token: invalid audience/);
  });

  it('sends X-Vault-Namespace and uses the auth and KV mounts of the grant (oidc_discovery_url)', async () => {
    const result = await mint(grant({ address: nsVault.url, namespace: 'team-a', auth_mount: 'ci', mount: 'kv' }));
    expect(result.ok).toBe(true);
    expect(nsVault.reads.at(-1)).toMatchObject({ path: 'kv/data/app/prod', status: 200 });
  });

  it('retries a throttle and a 5xx on login and read, then succeeds', async () => {
    vault.modes.login = { status: 429, times: 1, retryAfter: '0' };
    vault.modes.read = { status: 503, errors: ['Vault is sealed'], times: 2 };
    expect((await mint()).ok).toBe(true);
  });
});
