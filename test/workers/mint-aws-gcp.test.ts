// The aws and gcp minters inside workerd, with the runtime's own fetch (redirect: manual, AbortSignal
// deadlines), WebCrypto (RS256 broker tokens, SigV4 HMACs) and the strict XML reader. Their requests to the
// real cloud hosts are answered on the Node side by the same fakes the Node tests use (outboundService, see
// test/fakes/mint-outbound.ts), which verify the broker tokens against the broker JWKS over loopback HTTP.
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { BrokerIssuer } from '../../broker/src/issuer/issuer.ts';
import { createAwsMinter } from '../../broker/src/mint/aws.ts';
import type { CloudMintDeps } from '../../broker/src/mint/broker-token.ts';
import { createGcpMinter } from '../../broker/src/mint/gcp.ts';
import type { MintResult } from '../../broker/src/mint/types.ts';
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
  const secrets = new Map([
    ['aws.111122223333.access_key_id', fakes.aws.accessKeyId],
    ['aws.111122223333.secret_access_key', fakes.aws.secretAccessKey],
  ]);
  deps = {
    fetch: (input, init) => fetch(input, init),
    issuer,
    timeoutMs: 2000,
    secrets: { get: async (name) => (secrets.has(name) ? { name, version: 1, value: secrets.get(name)! } : null) },
  };
});

function now(): number {
  return Math.floor(Date.now() / 1000);
}

async function mintAws(
  fields: Record<string, unknown> = {},
  overrides: Partial<CloudMintDeps> = {},
): Promise<{ result: MintResult; at: number }> {
  const grant = grantOf('aws', { role_arn: fakes.aws.role, region: 'us-east-1', duration: '15m', ...fields });
  const at = now();
  return { result: await createAwsMinter({ ...deps, ...overrides }).mint(grant, mintContext({ grant, now: at, maxTtl: '20m' })), at };
}

async function mintGcp(
  fields: Record<string, unknown> = {},
  overrides: Partial<CloudMintDeps> = {},
): Promise<{ result: MintResult; at: number }> {
  const grant = grantOf('gcp', {
    workload_identity_provider: fakes.gcp.provider,
    service_account: fakes.gcp.serviceAccount,
    lifetime: '10m',
    ...fields,
  });
  const at = now();
  return { result: await createGcpMinter({ ...deps, ...overrides }).mint(grant, mintContext({ grant, now: at, maxTtl: '15m' })), at };
}

async function fakeState(): Promise<{
  aws: { action: string; status: number; sub: string | null; accessKeyId: string | null }[];
  gcp: { endpoint: string; status: number; sub: string | null }[];
  jwksFetched: string[];
}> {
  return (await fetch('https://mint-fakes.test/state')).json();
}

function expiresWithin(result: MintResult, at: number, seconds: number): void {
  expect(result.ok).toBe(true);
  if (!result.ok) return;
  const expires = Date.parse(String(result.credential.expires_at)) / 1000;
  expect(expires).toBeGreaterThan(at);
  expect(expires).toBeLessThanOrEqual(at + seconds);
}

describe('aws inside workerd', () => {
  it('mints with AssumeRoleWithWebIdentity at the default regional endpoint', async () => {
    const { result, at } = await mintAws();
    expiresWithin(result, at, 900);
    expect(result.ok && Object.keys(result.credential).sort()).toEqual([
      'access_key_id',
      'expires_at',
      'region',
      'role_arn',
      'secret_access_key',
      'session_token',
      'type',
    ]);
    expect(result.ok && result.credential.access_key_id).toMatch(/^ASIA[A-Z2-7]{16}$/);
    const state = await fakeState();
    expect(state.aws.at(-1)).toEqual({ action: 'AssumeRoleWithWebIdentity', status: 200, sub: 'role:deploy-web-prod', accessKeyId: null });
    expect(state.jwksFetched).toContain(`${fakes.issuerUrl}/.well-known/jwks.json`);
  });

  it('mints with AssumeRole signed inside workerd', async () => {
    const { result, at } = await mintAws({ mode: 'access_key', session_tags: { Repository: 'repository' } });
    expiresWithin(result, at, 900);
    expect((await fakeState()).aws.at(-1)).toMatchObject({ action: 'AssumeRole', status: 200, accessKeyId: fakes.aws.accessKeyId });
  });

  it.each([
    ['deny', 'aws.http_403:AccessDenied', 'AccessDenied'],
    ['malformed', 'aws.malformed_response:', undefined],
    ['duplicate_element', 'aws.malformed_response:duplicate:AssumeRoleWithWebIdentityResult/Credentials/AccessKeyId', undefined],
  ])('fails with ERR_UPSTREAM when STS answers %s', async (mode, detail, code) => {
    const { result } = await mintAws({ sts_endpoint: `https://${mode}.sts.fake/` });
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM' });
    if (result.ok) return;
    expect(result.detail.startsWith(detail)).toBe(true);
    expect(result.upstream_code).toBe(code);
  });

  it('times out within the deadline when STS hangs', async () => {
    const started = Date.now();
    const { result } = await mintAws({ sts_endpoint: 'https://hang.sts.fake/' }, { timeoutMs: 300 });
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail: 'aws.timeout' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses a max_ttl under 900 s without calling STS', async () => {
    const grant = grantOf('aws', { role_arn: fakes.aws.role, region: 'us-east-1' });
    const result = await createAwsMinter(deps).mint(grant, mintContext({ grant, now: now(), maxTtl: '5m' }));
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail: 'aws.duration_below_minimum:300s<900s' });
  });
});

describe('gcp inside workerd', () => {
  it('exchanges and impersonates at the default Google endpoints', async () => {
    const { result, at } = await mintGcp();
    expiresWithin(result, at, 600);
    expect(result.ok && result.credential).toMatchObject({
      type: 'gcp',
      service_account: fakes.gcp.serviceAccount,
      project_id: 'acme-prod',
    });
    const state = await fakeState();
    expect(state.gcp.slice(-2)).toEqual([
      { endpoint: 'sts', status: 200, sub: 'role:deploy-web-prod' },
      { endpoint: 'iam', status: 200, sub: null },
    ]);
    expect(state.jwksFetched).toContain(`${fakes.issuerUrl}/.well-known/jwks.json`);
  });

  it('downscopes with an access boundary', async () => {
    const { result, at } = await mintGcp({
      access_boundary: [
        {
          available_resource: '//storage.googleapis.com/projects/_/buckets/acme',
          available_permissions: ['inRole:roles/storage.objectViewer'],
        },
      ],
    });
    expiresWithin(result, at, 600);
    expect((await fakeState()).gcp.slice(-3).map((c) => c.endpoint)).toEqual(['sts', 'iam', 'sts']);
  });

  it('fails with ERR_UPSTREAM and PERMISSION_DENIED when impersonation is refused, handing out nothing', async () => {
    const { result } = await mintGcp({ sts_url: 'https://iam-deny.gcp.fake/v1/token', iam_credentials_url: 'https://iam-deny.gcp.fake' });
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', upstream_code: 'PERMISSION_DENIED' });
  });

  it('refuses a malformed STS answer', async () => {
    const { result } = await mintGcp({ sts_url: 'https://sts-malformed.gcp.fake/v1/token' });
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail: 'gcp.sts.malformed_response:json' });
  });

  it('times out within the deadline when STS hangs', async () => {
    const started = Date.now();
    const { result } = await mintGcp({ sts_url: 'https://sts-hang.gcp.fake/v1/token' }, { timeoutMs: 300 });
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail: 'gcp.sts.timeout' });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
