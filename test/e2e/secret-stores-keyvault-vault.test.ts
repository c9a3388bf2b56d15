// Issue 16 end to end for azure_secret and vault_secret: the real Node broker (its own signing key, its JWKS
// over HTTP) with the fake Entra, the fake Key Vault and the fake Vault on loopback, each checking auth as
// the service does. One exchange returns every value; every failure class is a 502 ERR_UPSTREAM with
// nothing returned, the upstream's code in the audit record and no value anywhere in it; a denied caller
// makes no upstream call.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startNodeBroker, type RunningBroker } from '../../broker/entry/node.ts';
import { generateKekBase64 } from '../../broker/src/store/envelope.ts';
import { generateIssuerKey, serveTestIssuer, signTestToken, type IssuerKey, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';
import { startFakeEntra, type ServedFakeEntra } from '../fakes/azure.ts';
import { keyVaultVersion, startFakeKeyVault, type ServedFakeKeyVault } from '../fakes/keyvault.ts';
import { startFakeVault, type ServedFakeVault } from '../fakes/vault.ts';
import { freePort } from '../helpers/ports.ts';

const AUD = 'https://broker.e2e.test';
const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = '66666666-7777-8888-9999-000000000000';
/** Federated with the broker, without a role assignment on the vault. */
const OUTSIDER = '00000000-0000-0000-0000-000000000001';
const VALUES = { kv: 'kv-value-must-not-leak', kvJson: 'kv-json-must-not-leak', vault: 'vault-value-must-not-leak' };

let dir: string;
let ciIssuer: TestIssuerServer;
let ciKey: IssuerKey;
let broker: RunningBroker;
let entra: ServedFakeEntra;
let keyVault: ServedFakeKeyVault;
let vault: ServedFakeVault;

const kvGrant = (name: string, extra = '    env: KV_PASSWORD\n') =>
  `  - type: azure_secret\n    vault_url: ${keyVault.url}\n    name: ${name}\n    tenant_id: ${TENANT}\n    client_id: ${CLIENT}\n    authority_host: ${entra.url}\n${extra}`;
const vaultGrant = (path: string, keys = '{VAULT_PASSWORD: password}') =>
  `  - type: vault_secret\n    address: ${vault.url}\n    auth_role: ci-broker\n    path: ${path}\n    keys: ${keys}\n    audience: https://vault.e2e.test\n`;
/** A role per failure that a policy can cause; the store-side failures (hang, throttle, ...) use fault modes. */
const FAILING: Record<string, () => string> = {
  'kv-missing': () => kvGrant('no-such-secret'),
  'kv-json-key-absent': () => kvGrant('db-json', '    json_keys: {KV_X: no_such_field}\n'),
  'kv-not-json': () => kvGrant('not-json', '    json_keys: {KV_X: password}\n'),
  'kv-denied': () => kvGrant('db-password').replace(CLIENT, OUTSIDER),
  'vault-missing': () => vaultGrant('app/none'),
  'vault-deleted': () => vaultGrant('app/gone'),
  'vault-key-absent': () => vaultGrant('app/prod', '{VAULT_X: no_such_field}'),
  'vault-denied': () => vaultGrant('app/other'),
  'vault-wrong-role': () => vaultGrant('app/prod').replace('ci-broker', 'no-such-role'),
};

const role = (name: string, grants: string, allow = '"42"') =>
  `role: ${name}\nissuer: ci\nmax_ttl: 15m\nallow:\n  - repository_id: ${allow}\ngrants:\n${grants}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-stores-'));
  ciKey = await generateIssuerKey();
  ciIssuer = await serveTestIssuer(ciKey);
  const port = await freePort();
  const brokerUrl = `http://127.0.0.1:${port}`;
  const subjects = ['stores', 'vault-only', ...Object.keys(FAILING)].map((r) => ({ issuer: brokerUrl, subject: `role:${r}` }));
  entra = await startFakeEntra({
    apps: [CLIENT, OUTSIDER].map((client_id) => ({ tenant_id: TENANT, client_id, federated: subjects })),
  });
  keyVault = await startFakeKeyVault({
    entra,
    tenant_id: TENANT,
    readers: [CLIENT],
    secrets: {
      'db-password': [{ version: keyVaultVersion(), value: VALUES.kv }],
      'db-json': [{ version: keyVaultVersion(), value: JSON.stringify({ user: 'app', password: VALUES.kvJson }) }],
      'not-json': [{ version: keyVaultVersion(), value: VALUES.kv }],
    },
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
          readable: ['secret/data/app/prod', 'secret/data/app/gone', 'secret/data/app/none'],
        },
      ],
    },
    kv: {
      secret: {
        'app/prod': [{ data: { password: VALUES.vault, user: 'svc' } }],
        'app/gone': [{ data: { password: VALUES.vault }, deleted: true }],
      },
    },
  });
  const pol = join(dir, 'policies');
  mkdirSync(join(pol, 'roles'), { recursive: true });
  writeFileSync(join(pol, 'issuers.yaml'), `issuers:\n  ci:\n    url: ${ciIssuer.url}\n    audience: ${AUD}\n`);
  writeFileSync(
    join(pol, 'roles/stores.yaml'),
    role(
      'stores',
      kvGrant('db-password') +
        kvGrant('db-json', '    json_keys: {KV_USER: user, KV_JSON_PASSWORD: password}\n') +
        vaultGrant('app/prod', '{VAULT_PASSWORD: password, VAULT_USER: user}'),
    ),
  );
  for (const [name, grants] of Object.entries(FAILING)) writeFileSync(join(pol, `roles/${name}.yaml`), role(name, grants()));
  writeFileSync(join(pol, 'roles/vault-only.yaml'), role('vault-only', vaultGrant('app/prod')));
  writeFileSync(join(pol, 'roles/locked.yaml'), role('locked', kvGrant('db-password') + vaultGrant('app/prod'), '"999"'));
  const env = { BROKER_KEK: generateKekBase64(), BROKER_PUBLIC_URL: brokerUrl, BROKER_UPSTREAM_TIMEOUT_MS: '700' };
  broker = await startNodeBroker({ policiesDir: pol, dataDir: join(dir, 'data'), port, host: '127.0.0.1', env, log: () => {} });
}, 60_000);

afterAll(async () => {
  await broker?.stop();
  await ciIssuer?.close();
  await keyVault?.close();
  await vault?.close();
  await entra?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  keyVault.mode = 'ok';
  vault.modes = { login: 'ok', read: 'ok' };
  entra.mode = 'ok';
});

const idToken = (repositoryId = '42') =>
  signTestToken(ciKey, {
    iss: ciIssuer.url,
    aud: AUD,
    sub: 'repo:acme/web:ref:refs/heads/main',
    repository: 'acme/web',
    repository_id: repositoryId,
  });

async function exchange(roleName: string, repositoryId?: string) {
  const res = await fetch(`${broker.url}/v1/exchange`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: await idToken(repositoryId), role: roleName }),
  });
  return { status: res.status, text: await res.text() };
}

const lastAudit = async () => {
  const page = await broker.deps.auditor.store.list({ descending: true, limit: 1 });
  return page[0]!.record;
};

describe('azure_secret and vault_secret end to end', () => {
  it('one exchange returns every value as secret credentials; the audit record names source, id and version only', async () => {
    const { status, text } = await exchange('stores');
    expect(status, text).toBe(200);
    const body = JSON.parse(text) as { credentials: Record<string, unknown>[] };
    expect(body.credentials.map((c) => [c.type, c.name, c.value])).toEqual([
      ['secret', 'KV_PASSWORD', VALUES.kv],
      ['secret', 'KV_USER', 'app'],
      ['secret', 'KV_JSON_PASSWORD', VALUES.kvJson],
      ['secret', 'VAULT_PASSWORD', VALUES.vault],
      ['secret', 'VAULT_USER', 'svc'],
    ]);
    const record = await lastAudit();
    for (const v of Object.values(VALUES)) expect(record).not.toContain(v);
    expect(JSON.parse(record).credentials.map((c: { type: string; target: string }) => c.type)).toEqual([
      'azure_secret',
      'azure_secret',
      'vault_secret',
    ]);
    expect(record).toContain(`${keyVault.url}/secrets/db-password@`);
    expect(record).toContain(`${vault.url}/v1/secret/data/app/prod@1`);
  });

  const expectNothingReturned = async (roleName: string, upstream: RegExp) => {
    const { status, text } = await exchange(roleName);
    expect(status, text).toBe(502);
    expect(JSON.parse(text)).toMatchObject({ error: 'ERR_UPSTREAM' });
    expect(text).not.toMatch(/credentials/);
    for (const v of Object.values(VALUES)) expect(text).not.toContain(v);
    const record = await lastAudit();
    for (const v of Object.values(VALUES)) expect(record).not.toContain(v);
    const parsed = JSON.parse(record);
    expect(parsed.credentials).toEqual([]);
    expect(`${parsed.reason} ${parsed.upstream.code}`).toMatch(upstream);
  };

  it.each([
    ['kv-missing', /azure_secret\.get\.http_404:SecretNotFound SecretNotFound/],
    ['kv-json-key-absent', /azure_secret\.key_missing:no_such_field/],
    ['kv-not-json', /azure_secret\.not_json NotJson/],
    ['kv-denied', /azure_secret\.get\.http_403:ForbiddenByRbac ForbiddenByRbac/],
    ['vault-missing', /vault_secret\.read\.http_404 HTTP_404/],
    ['vault-deleted', /vault_secret\.read\.deleted:1 Deleted/],
    ['vault-key-absent', /vault_secret\.key_missing:no_such_field/],
    ['vault-denied', /vault_secret\.read\.http_403 HTTP_403/],
    ['vault-wrong-role', /vault_secret\.login\.http_400:role "no-such-role" could not be found/],
  ])('%s: 502 ERR_UPSTREAM, nothing returned, the upstream code in the audit record', async (name, upstream) => {
    await expectNothingReturned(name, upstream);
  });

  it.each([
    [
      'Key Vault throttling past the deadline',
      () => (keyVault.mode = { status: 429, code: 'Throttled', retryAfter: '30' }),
      /azure_secret\.get\.http_429:Throttled/,
    ],
    ['Key Vault hanging (timeout)', () => (keyVault.mode = 'hang'), /azure_secret\.get\.timeout Timeout/],
    ['Key Vault malformed', () => (keyVault.mode = 'malformed'), /azure_secret\.malformed_response:value/],
    [
      'Vault 5xx on every retry',
      () => (vault.modes.read = { status: 503, errors: ['Vault is sealed'] }),
      /vault_secret\.read\.http_503 HTTP_503/,
    ],
    ['Vault login hanging (timeout)', () => (vault.modes.login = 'hang'), /vault_secret\.login\.timeout Timeout/],
    ['Vault malformed', () => (vault.modes.read = 'malformed'), /vault_secret\.malformed_response:data/],
  ])('%s: 502 ERR_UPSTREAM, nothing returned', async (name, fault, upstream) => {
    fault();
    await expectNothingReturned(name.startsWith('Key Vault') ? 'stores' : 'vault-only', upstream);
  });

  it('a denied caller makes no upstream call', async () => {
    const before = { kv: keyVault.requests.length, entra: entra.outcomes.length, vault: vault.loginOutcomes.length + vault.reads.length };
    const { status } = await exchange('locked');
    expect(status).toBe(403);
    expect({ kv: keyVault.requests.length, entra: entra.outcomes.length, vault: vault.loginOutcomes.length + vault.reads.length }).toEqual(
      before,
    );
  });
});
