// Issue 16 rules for reads from existing secret stores (azure_secret, vault_secret): a store cannot steer
// which token the broker fetches or where it goes, values never reach an error or the audit summary, retries
// happen only for throttling and 5xx and never past the grant's deadline, and the policy format refuses
// wildcards, traversal and non-https store addresses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { challengeScope, createAzureSecretMinter } from '../../../broker/src/mint/azure-secret.ts';
import type { CloudMintDeps } from '../../../broker/src/mint/broker-token.ts';
import { fetchRetrying } from '../../../broker/src/mint/store-retry.ts';
import { createVaultSecretMinter } from '../../../broker/src/mint/vault-secret.ts';
import { grantSchema } from '../../../broker/src/policy/schema.ts';
import { startFakeEntra, type ServedFakeEntra } from '../../fakes/azure.ts';
import { keyVaultVersion, startFakeKeyVault, type ServedFakeKeyVault } from '../../fakes/keyvault.ts';
import { grantOf, mintContext } from '../../fakes/mint-context.ts';
import { startFakeVault, type ServedFakeVault } from '../../fakes/vault.ts';
import { serveBrokerIssuer, type ServedIssuer } from '../../helpers/broker-issuer.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0c3e2b6a-1f0e-4c4d-9a55-3f5b8d2c7e11';
const VALUE = 'V4lue-That-Must-Never-Leak';

let broker: ServedIssuer;
let entra: ServedFakeEntra;
let keyVault: ServedFakeKeyVault;
let vault: ServedFakeVault;

beforeAll(async () => {
  broker = await serveBrokerIssuer({ now: Date.now() });
  entra = await startFakeEntra({
    apps: [{ tenant_id: TENANT, client_id: CLIENT, federated: [{ issuer: broker.url, subject: 'role:deploy-web-prod' }] }],
  });
  keyVault = await startFakeKeyVault({
    entra,
    tenant_id: TENANT,
    readers: [CLIENT],
    secrets: {
      s: [{ version: keyVaultVersion(), value: VALUE }],
      j: [{ version: keyVaultVersion(), value: JSON.stringify({ a: { b: VALUE } }) }],
    },
  });
  vault = await startFakeVault({
    auth: {
      mount: 'jwt',
      jwks_url: `${broker.url}/.well-known/jwks.json`,
      roles: [{ name: 'r', bound_audiences: ['aud'], readable: ['secret/data/p'] }],
    },
    kv: { secret: { p: [{ data: { k: { nested: VALUE }, s: VALUE } }] } },
  });
});
afterAll(async () => {
  await Promise.all([keyVault.close(), vault.close(), entra.close()]);
  await broker.close();
});

const deps = (over: Partial<CloudMintDeps> = {}): CloudMintDeps => ({
  fetch: (i, n) => fetch(i, n),
  issuer: broker.issuer,
  timeoutMs: 500,
  secrets: { get: async () => null },
  ...over,
});
const ctxFor = (grant: Parameters<typeof mintContext>[0]['grant']) => {
  broker.clock.now = Date.now();
  return mintContext({ grant, now: Math.floor(Date.now() / 1000) });
};

describe('a Key Vault challenge cannot choose another resource', () => {
  it('a Key Vault challenge naming a resource outside the vault host is refused before any token is fetched', async () => {
    const vaultHost = new URL('https://myvault.vault.azure.net');
    for (const resource of [
      'https://management.azure.com',
      'https://graph.microsoft.com',
      'https://vault.azure.net.attacker.example',
      'https://net',
      'https://azure.net',
      'http://vault.azure.net',
      'https://user@vault.azure.net',
      'not a url',
    ]) {
      expect(
        challengeScope(`Bearer authorization="https://login.microsoftonline.com/t", resource="${resource}"`, vaultHost),
        resource,
      ).toMatchObject({
        problem: expect.any(String),
      });
    }
    expect(
      challengeScope('Bearer authorization="https://login.microsoftonline.com/t", resource="https://vault.azure.net"', vaultHost),
    ).toBe('https://vault.azure.net/.default');
    expect(challengeScope('Bearer scope="https://vault.azure.cn/.default"', new URL('https://v.vault.azure.cn'))).toBe(
      'https://vault.azure.cn/.default',
    );
    expect(challengeScope('Basic realm="x"', vaultHost)).toMatchObject({ problem: 'missing' });
  });

  it('a non-loopback vault whose challenge names another resource gets no Entra call', async () => {
    const calls: string[] = [];
    const fakeFetch: CloudMintDeps['fetch'] = async (input) => {
      calls.push(String(input));
      return new Response('{}', {
        status: 401,
        headers: { 'www-authenticate': 'Bearer authorization="x", resource="https://management.azure.com"' },
      });
    };
    const grant = grantOf('azure_secret', {
      vault_url: 'https://myvault.vault.azure.net',
      name: 's',
      tenant_id: TENANT,
      client_id: CLIENT,
      env: 'S',
    });
    const result = await createAzureSecretMinter(deps({ fetch: fakeFetch })).mint(grant, ctxFor(grant));
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail: 'azure_secret.challenge.resource_mismatch' });
    expect(calls).toEqual(['https://myvault.vault.azure.net/secrets/s?api-version=7.5']);
  });
});

describe('values never enter errors or the audit summary', () => {
  it('a stored value never appears in a failure detail or upstream code (non-text fields, absent fields, echoed errors)', async () => {
    const results = [];
    const kv = (over: Record<string, unknown>) =>
      grantOf('azure_secret', { vault_url: keyVault.url, tenant_id: TENANT, client_id: CLIENT, authority_host: entra.url, ...over });
    const vt = (keys: Record<string, string>) =>
      grantOf('vault_secret', { address: vault.url, auth_role: 'r', path: 'p', keys, audience: 'aud' });
    for (const g of [kv({ name: 'j', json_keys: { X: 'a' } }), kv({ name: 's', json_keys: { X: 'a' } })])
      results.push(await createAzureSecretMinter(deps()).mint(g, ctxFor(g)));
    for (const g of [vt({ X: 'k' }), vt({ X: 'missing' })]) results.push(await createVaultSecretMinter(deps()).mint(g, ctxFor(g)));
    // A Vault that echoes the value (or a token) in its error message: the detail keeps neither.
    const echo: CloudMintDeps['fetch'] = async () =>
      Response.json({ errors: [`bad jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln ${VALUE}`] }, { status: 400 });
    const g = vt({ X: 's' });
    const echoed = await createVaultSecretMinter(deps({ fetch: echo })).mint(g, ctxFor(g));
    expect(echoed.ok || echoed.detail).not.toMatch(/eyJhbGciOiJSUzI1NiJ9/);
    for (const r of results) {
      expect(r.ok).toBe(false);
      expect(JSON.stringify(r)).not.toContain(VALUE);
    }
    // Details name the policy's field, not what the store holds.
    expect(results.map((r) => !r.ok && r.detail).slice(0, 2)).toEqual(['azure_secret.key_not_text:a', 'azure_secret.not_json']);
  });

  it('the audit summary of a store read names source, secret id and version, never the value', async () => {
    const g = grantOf('vault_secret', { address: vault.url, auth_role: 'r', path: 'p', keys: { S: 's' }, audience: 'aud' });
    const result = await createVaultSecretMinter(deps()).mint(g, ctxFor(g));
    expect(result.ok && result.summary).toEqual({ type: 'vault_secret', target: `${vault.url}/v1/secret/data/p@1` });
    expect(JSON.stringify(result.ok && result.summary)).not.toContain(VALUE);
  });
});

describe('retries only for throttling and 5xx, within the deadline', () => {
  const counting = (statuses: number[], headers: Record<string, string> = {}) => {
    const seen: number[] = [];
    const f: CloudMintDeps['fetch'] = async () => {
      const status = statuses[Math.min(seen.length, statuses.length - 1)]!;
      seen.push(status);
      return new Response('{}', { status, headers });
    };
    return { f, seen };
  };
  const budget = (ms: number) => ({ deadlineAt: Date.now() + ms, attemptMs: ms, maxBytes: 1024 });

  it('store calls are retried only for 429 and 5xx, never for a refusal', async () => {
    for (const status of [400, 401, 403, 404, 409]) {
      const { f, seen } = counting([status, 200]);
      await fetchRetrying(f, 'https://x', {}, budget(2_000));
      expect(seen, String(status)).toEqual([status]);
    }
    for (const status of [429, 500, 502, 503, 504]) {
      const { f, seen } = counting([status, 200]);
      const res = await fetchRetrying(f, 'https://x', {}, budget(2_000));
      expect(res.ok && res.status, String(status)).toBe(200);
      expect(seen).toEqual([status, 200]);
    }
  });

  it('store retries never run past the grant deadline (a long Retry-After is not waited for)', async () => {
    const { f, seen } = counting([429], { 'retry-after': '3600' });
    const started = Date.now();
    const res = await fetchRetrying(f, 'https://x', {}, budget(300));
    expect(Date.now() - started).toBeLessThan(250);
    expect(res.ok && res.status).toBe(429);
    expect(seen).toEqual([429]);
    const always = counting([503]);
    const t = Date.now();
    await fetchRetrying(always.f, 'https://x', {}, { ...budget(150), attempts: 50 });
    expect(Date.now() - t).toBeLessThan(400);
  });
});

describe('the policy format for store reads', () => {
  const base = { tenant_id: TENANT, client_id: CLIENT, env: 'S' };
  it('store read ids refuse wildcards, traversal and URL tricks', () => {
    for (const name of ['*', 'db-*', 'a/b', '../x', 'a?b', 'a%2F', '']) {
      expect(grantSchema.safeParse({ type: 'azure_secret', vault_url: 'https://v.vault.azure.net', name, ...base }).success, name).toBe(
        false,
      );
    }
    for (const path of ['*', 'app/*', 'app/+', '../secret', 'app/../x', 'app/./x', 'app//x', '/app', 'app/', 'a?version=1', 'a#b', 'a b']) {
      expect(
        grantSchema.safeParse({ type: 'vault_secret', address: 'https://v.example', auth_role: 'r', path, keys: { S: 's' } }).success,
        path,
      ).toBe(false);
    }
    for (const mount of ['*', '../sys', 'sys/../x']) {
      expect(
        grantSchema.safeParse({ type: 'vault_secret', address: 'https://v.example', auth_role: 'r', mount, path: 'p', keys: { S: 's' } })
          .success,
        mount,
      ).toBe(false);
    }
  });

  it('store addresses must be https (http only for loopback) and the root URL only', () => {
    for (const url of [
      'http://vault.example.com',
      'https://v.vault.azure.net/secrets',
      'https://v.example?x=1',
      'https://u:p@v.example',
      'ftp://v.example',
    ]) {
      expect(grantSchema.safeParse({ type: 'azure_secret', vault_url: url, name: 's', ...base }).success, url).toBe(false);
      expect(grantSchema.safeParse({ type: 'vault_secret', address: url, auth_role: 'r', path: 'p', keys: { S: 's' } }).success, url).toBe(
        false,
      );
    }
  });

  it('store read exported names are environment variable names, exactly one of env and json_keys, and never __proto__', () => {
    const ok = { type: 'azure_secret', vault_url: 'https://v.vault.azure.net', name: 's', tenant_id: TENANT, client_id: CLIENT };
    expect(grantSchema.safeParse({ ...ok }).success).toBe(false);
    expect(grantSchema.safeParse({ ...ok, env: 'A', json_keys: { B: 'b' } }).success).toBe(false);
    expect(grantSchema.safeParse({ ...ok, env: 'A-B' }).success).toBe(false);
    expect(grantSchema.safeParse({ ...ok, json_keys: JSON.parse('{"__proto__": "x"}') }).success).toBe(false);
    expect(grantSchema.safeParse({ ...ok, json_keys: { '1A': 'x' } }).success).toBe(false);
    expect(grantSchema.safeParse({ type: 'vault_secret', address: 'https://v', auth_role: 'r', path: 'p', keys: {} }).success).toBe(false);
    expect(
      grantSchema.safeParse({
        type: 'vault_secret',
        address: 'https://v',
        auth_role: 'r',
        path: 'p',
        keys: JSON.parse('{"__proto__": "x"}'),
      }).success,
    ).toBe(false);
  });
});
