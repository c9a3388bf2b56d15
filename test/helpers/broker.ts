// Builds the real app (createApp) over in-memory stores, a fake issuer fetch and a frozen clock.
import { createApp, type AppDeps } from '../../broker/src/app.ts';
import { Auditor } from '../../broker/src/audit/auditor.ts';
import { createSecretMinter } from '../../broker/src/mint/secret.ts';
import type { Minters } from '../../broker/src/mint/types.ts';
import { JwksRegistry, type JwksOptions } from '../../broker/src/oidc/jwks.ts';
import { compilePolicy } from '../../broker/src/policy/compile.ts';
import { loadPolicy, type PolicyFile } from '../../broker/src/policy/load.ts';
import { generateKekBase64, importKek } from '../../broker/src/store/envelope.ts';
import { SecretVault } from '../../broker/src/store/secrets.ts';
import type { ReplayGuard } from '../../broker/src/store/ports.ts';
import { fakeFetch, makeKey, type FakeIssuer, type TestKey } from './issuer.ts';
import { MemoryAuditStore, MemoryReplayGuard, MemorySecretStore } from './memory-stores.ts';

export const ISSUER_URL = 'https://issuer.test';
export const AUDIENCE = 'https://broker.test';
export const T0 = Date.parse('2026-11-28T01:00:00Z');

export const ISSUERS_YAML = `issuers:
  ci:
    url: ${ISSUER_URL}
    audience: ${AUDIENCE}
    max_token_age: 10m
    max_token_lifetime: 1h
  other:
    url: https://other-issuer.test
    audience: ${AUDIENCE}
`;

export const ROLE_APP = `role: app
issuer: ci
max_ttl: 10m
allow:
  - repository_id: "123"
    ref: refs/heads/main
deny:
  - event_name: pull_request_target
grants:
  - type: secret
    name: DB_URL
    env: DATABASE_URL
`;

export const ROLE_LOCKED = `role: locked
issuer: ci
max_ttl: 10m
allow:
  - repository_id: "999"
grants:
  - type: secret
    name: DB_URL
`;

export interface TestBroker {
  app: ReturnType<typeof createApp>;
  deps: AppDeps;
  audit: MemoryAuditStore;
  replay: MemoryReplayGuard;
  vault: SecretVault;
  key: TestKey;
  otherKey: TestKey;
  issuer: FakeIssuer;
  other: FakeIssuer;
  fetchCalls: string[];
  clock: { now: number };
  mintCalls: string[];
  post(body: unknown, headers?: Record<string, string>): Promise<Response>;
}

export async function buildTestBroker(
  opts: { files?: PolicyFile[]; replay?: ReplayGuard; jwks?: Partial<JwksOptions>; extraMinters?: Minters } = {},
): Promise<TestBroker> {
  const files = opts.files ?? [
    { path: 'issuers.yaml', text: ISSUERS_YAML },
    { path: 'roles/app.yaml', text: ROLE_APP },
    { path: 'roles/locked.yaml', text: ROLE_LOCKED },
  ];
  const loaded = await loadPolicy(files);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const policy = compilePolicy(loaded.policy);
  const key = await makeKey('key-1');
  const otherKey = await makeKey('key-1');
  const issuer: FakeIssuer = { url: ISSUER_URL, keys: [key], behaviour: 'ok' };
  const other: FakeIssuer = { url: 'https://other-issuer.test', keys: [otherKey], behaviour: 'ok' };
  const { fetch, calls } = fakeFetch([issuer, other]);
  const clock = { now: T0 };
  const audit = new MemoryAuditStore();
  const replay = new MemoryReplayGuard();
  const vault = new SecretVault(new MemorySecretStore(), { current: await importKek(generateKekBase64()) });
  await vault.put('DB_URL', 'postgres://db.internal/app', T0 / 1000);
  const mintCalls: string[] = [];
  const secretMinter = createSecretMinter(vault);
  const minters: Minters = {
    secret: {
      mint: (grant, ctx) => {
        mintCalls.push(grant.name);
        return secretMinter.mint(grant, ctx);
      },
    },
    ...opts.extraMinters,
  };
  const deps: AppDeps = {
    policy: () => policy,
    jwks: new JwksRegistry({ fetch, now: () => clock.now, timeoutMs: 200, ...opts.jwks }),
    replay: opts.replay ?? replay,
    auditor: new Auditor(audit),
    minters,
    now: () => clock.now,
    version: 'test',
    clientIp: () => '192.0.2.1',
  };
  const app = createApp(deps);
  return {
    app,
    deps,
    audit,
    replay,
    vault,
    key,
    otherKey,
    issuer,
    other,
    fetchCalls: calls,
    clock,
    mintCalls,
    post: (body, headers = {}) =>
      Promise.resolve(
        app.request('/v1/exchange', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'test-agent', ...headers },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        }),
      ),
  };
}
