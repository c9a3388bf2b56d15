// The fake AWS STS, Google Cloud, Entra with Key Vault, and Vault for the minter tests inside workerd
// (test/workers/mint-aws-gcp.test.ts, mint-secret-stores.test.ts, mint-keyvault-vault.test.ts).
// Runs on the Node side, in the workers vitest config: the minters inside workerd call the real cloud hosts
// with the runtime's own fetch, and miniflare's outboundService hands those requests to `outbound` here,
// which routes them by host to the same fake handlers the Node tests serve over loopback.
//
// The fakes verify broker tokens the way the clouds do, over HTTP: a broker issuer (real BrokerIssuer, keys
// in memory) publishes its discovery document and JWKS on a loopback port here, and its sealed signing key
// rows and KEK go to workerd as the TEST_MINT_FAKES binding, so the BrokerIssuer the tests build inside
// workerd signs with the very key this one publishes.
//
// Hosts: the real default endpoints answer normally; `<mode>.sts.fake` and `<mode>.gcp.fake` answer in a
// misbehaving mode (hang, deny, malformed, duplicate_element; gcp: sts-hang, sts-malformed, iam-deny).
// `https://mint-fakes.test/state` reports what the fakes received.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrokerIssuer } from '../../broker/src/issuer/issuer.ts';
import { generateKekBase64, importKek } from '../../broker/src/store/envelope.ts';
import type { SigningKeyRow } from '../../broker/src/store/ports.ts';
import { MemoryKeyStore } from '../helpers/memory-stores.ts';
import { FakeSecretsManager, FakeSsm } from './aws-secret-stores.ts';
import { FakeAwsSts, type FakeAwsMode } from './aws-sts.ts';
import { createFakeEntra } from './azure.ts';
import { FakeSecretManager } from './gcp-secret-manager.ts';
import { FakeGcp, type FakeGcpMode } from './gcp.ts';
import { createFakeKeyVault } from './keyvault.ts';
import { createFakeVault } from './vault.ts';

export const WORKERS_AWS_ROLE = 'arn:aws:iam::111122223333:role/web-deploy';
export const WORKERS_AWS_KEY = { accessKeyId: 'AKIAWORKERSEXAMPLE01', secretAccessKey: 'workers/Secret+Key/EXAMPLEEXAMPLEEXAMPLE0' };
export const WORKERS_GCP_PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/ci/providers/secret-broker';
export const WORKERS_GCP_SA = 'deployer@acme-prod.iam.gserviceaccount.com';
export const WORKERS_AZURE_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const WORKERS_AZURE_CLIENT = '0c3e2b6a-1f0e-4c4d-9a55-3f5b8d2c7e11';
/** A Key Vault version id: 32 lower-case hex digits. */
export const WORKERS_KEY_VAULT_VERSION = '3f2a9c0e5b7d41e8a6c4b2d0f9e8a7c6';

/** What the tests inside workerd receive (JSON, as the TEST_MINT_FAKES binding). */
export interface MintFakesBinding {
  issuerUrl: string;
  kek: string;
  keyRows: SigningKeyRow[];
  aws: { role: string; accessKeyId: string; secretAccessKey: string };
  gcp: { provider: string; serviceAccount: string };
  azure: { tenantId: string; clientId: string; version: string };
}

export interface MintFakes {
  bindings: { TEST_MINT_FAKES: string };
  /** Answers a request for a fake host, or returns undefined for anything else. */
  outbound(request: Request): Promise<Response> | undefined;
}

/** Serves a handler on an ephemeral loopback port; the server never keeps the process alive. */
async function listen(handler: (req: Request) => Promise<Response>): Promise<{ url: string; server: Server }> {
  const server = createServer((incoming, outgoing) => {
    const url = `http://${incoming.headers.host ?? '127.0.0.1'}${incoming.url ?? '/'}`;
    handler(new Request(url, { method: incoming.method ?? 'GET' }))
      .then(async (res) => {
        outgoing.writeHead(res.status, Object.fromEntries(res.headers));
        outgoing.end(Buffer.from(await res.arrayBuffer()));
      })
      .catch(() => {
        outgoing.writeHead(500);
        outgoing.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export async function startMintFakes(): Promise<MintFakes> {
  const kek = generateKekBase64();
  const store = new MemoryKeyStore();
  let issuer: BrokerIssuer | undefined;
  const served = await listen(async (req) => {
    const path = new URL(req.url).pathname;
    if (path === '/.well-known/openid-configuration') return Response.json(issuer!.discovery());
    if (path === '/.well-known/jwks.json') return Response.json(await issuer!.jwks());
    return new Response('not found', { status: 404 });
  });
  issuer = new BrokerIssuer({ store, keks: { current: await importKek(kek) }, publicUrl: served.url, now: () => Date.now(), cacheMs: 0 });
  await issuer.ensureKey();

  const awsFake = (mode: FakeAwsMode) => {
    const fake = new FakeAwsSts({
      oidcProviders: { [served.url]: ['sts.amazonaws.com'] },
      roles: { [WORKERS_AWS_ROLE]: { sub: 'role:deploy-web-prod', maxSessionDuration: 3600 } },
      accessKeys: { [WORKERS_AWS_KEY.accessKeyId]: WORKERS_AWS_KEY.secretAccessKey },
      region: 'us-east-1',
      hangMs: 3000,
    });
    fake.mode = mode;
    return fake;
  };
  const gcpFake = (stsMode: FakeGcpMode, iamMode: FakeGcpMode) => {
    const fake = new FakeGcp({
      providers: { [WORKERS_GCP_PROVIDER]: { issuer: served.url } },
      serviceAccounts: { [WORKERS_GCP_SA]: { allowedSubjects: ['role:deploy-web-prod'] } },
      hangMs: 3000,
    });
    fake.stsMode = stsMode;
    fake.iamMode = iamMode;
    return fake;
  };

  const aws = awsFake('ok');
  const gcp = gcpFake('ok', 'ok');
  const fakes: Record<string, { handle(req: Request): Promise<Response> }> = {
    'sts.us-east-1.amazonaws.com': aws,
    'sts.googleapis.com': gcp,
    'iamcredentials.googleapis.com': gcp,
  };
  // The secret stores (test/workers/mint-secret-stores.test.ts), checking the sessions and tokens of `aws` and `gcp`.
  const storeSecrets = {
    secretsManager: new FakeSecretsManager({
      sts: aws,
      region: 'us-east-1',
      secrets: [
        {
          arn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf',
          name: 'prod/db',
          readers: [WORKERS_AWS_ROLE],
          versions: [
            { id: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111', stages: ['AWSCURRENT'], string: '{"username":"app","password":"w0rkerd"}' },
          ],
        },
      ],
    }),
    ssm: new FakeSsm({
      sts: aws,
      region: 'us-east-1',
      parameters: [{ name: '/prod/api/key', type: 'SecureString', value: 'workers-api-key', version: 3, readers: [WORKERS_AWS_ROLE] }],
    }),
    secretManager: new FakeSecretManager({
      gcp,
      projects: { 'acme-prod': '123456789012' },
      secrets: {
        'projects/123456789012/secrets/db-password': {
          accessors: [`serviceAccount:${WORKERS_GCP_SA}`],
          versions: [{ data: 'gcp-w0rkerd' }],
        },
      },
    }),
  };
  fakes['secretsmanager.us-east-1.amazonaws.com'] = storeSecrets.secretsManager;
  fakes['ssm.us-east-1.amazonaws.com'] = storeSecrets.ssm;
  fakes['secretmanager.googleapis.com'] = storeSecrets.secretManager;
  const throttled = new FakeSecretsManager({ sts: aws, region: 'us-east-1', secrets: storeSecrets.secretsManager.secrets });
  throttled.mode = 'throttle';
  fakes['throttle.secretsmanager.fake'] = throttled;
  fakes['bad-crc.secretmanager.fake'] = badCrcSecretManager(gcp);

  for (const mode of ['hang', 'deny', 'malformed', 'duplicate_element'] as const) fakes[`${mode}.sts.fake`] = awsFake(mode);
  fakes['sts-hang.gcp.fake'] = gcpFake('hang', 'ok');
  fakes['sts-malformed.gcp.fake'] = gcpFake('malformed', 'ok');
  fakes['iam-deny.gcp.fake'] = gcpFake('ok', 'deny');

  // azure_secret and vault_secret at the hosts their grants name (mint-keyvault-vault.test.ts). Entra and
  // Vault fetch the broker issuer's discovery and JWKS from the loopback server above with Node's fetch.
  const entra = createFakeEntra({
    apps: [
      {
        tenant_id: WORKERS_AZURE_TENANT,
        client_id: WORKERS_AZURE_CLIENT,
        federated: [{ issuer: served.url, subject: 'role:deploy-web-prod' }],
      },
    ],
  });
  const keyVault = createFakeKeyVault({
    entra,
    tenant_id: WORKERS_AZURE_TENANT,
    readers: [WORKERS_AZURE_CLIENT],
    secrets: { 'db-password': [{ version: WORKERS_KEY_VAULT_VERSION, value: 'kv-w0rkerd' }] },
  });
  const vault = createFakeVault({
    auth: {
      mount: 'jwt',
      jwks_url: `${served.url}/.well-known/jwks.json`,
      bound_issuer: served.url,
      roles: [
        {
          name: 'ci-broker',
          bound_audiences: ['https://vault.example.com'],
          bound_claims: { role: 'deploy-web-prod' },
          readable: ['secret/data/app/prod'],
        },
        { name: 'no-policy', bound_audiences: ['https://vault.example.com'], readable: [] },
      ],
    },
    kv: { secret: { 'app/prod': [{ data: { password: 'old' } }, { data: { username: 'app', password: 'vault-w0rkerd' } }] } },
  });
  fakes['login.microsoftonline.com'] = { handle: (req) => entra.handler(req) };
  fakes['myvault.vault.azure.net'] = { handle: (req) => keyVault.handler(req) };
  fakes['vault.example.com'] = { handle: (req) => vault.handler(req) };

  const state = () => ({
    aws: aws.calls.map((c) => ({ action: c.action, status: c.status, sub: c.claims?.sub ?? null, accessKeyId: c.accessKeyId ?? null })),
    gcp: gcp.calls.map((c) => ({ endpoint: c.endpoint, status: c.status, sub: c.claims?.sub ?? null })),
    jwksFetched: [...aws.verifier.jwksFetched, ...gcp.verifier.jwksFetched],
    stores: {
      secretsManager: storeSecrets.secretsManager.calls.map((c) => ({ status: c.status, role: c.role ?? null })),
      ssm: storeSecrets.ssm.calls.map((c) => ({ status: c.status, role: c.role ?? null })),
      secretManager: storeSecrets.secretManager.calls.map((c) => ({ status: c.status, principal: c.principal ?? null })),
      throttled: throttled.calls.length,
      entra: entra.outcomes,
      keyVault: keyVault.requests,
      vault: { logins: vault.loginOutcomes, reads: vault.reads, revoked: vault.revoked.length, live: vault.tokens.size },
    },
  });

  const binding: MintFakesBinding = {
    issuerUrl: served.url,
    kek,
    keyRows: store.rows,
    aws: { role: WORKERS_AWS_ROLE, ...WORKERS_AWS_KEY },
    gcp: { provider: WORKERS_GCP_PROVIDER, serviceAccount: WORKERS_GCP_SA },
    azure: { tenantId: WORKERS_AZURE_TENANT, clientId: WORKERS_AZURE_CLIENT, version: WORKERS_KEY_VAULT_VERSION },
  };
  return {
    bindings: { TEST_MINT_FAKES: JSON.stringify(binding) },
    outbound(request) {
      const host = new URL(request.url).host;
      if (host === 'mint-fakes.test') return Promise.resolve(Response.json(state()));
      const fake = Object.hasOwn(fakes, host) ? fakes[host] : undefined;
      return fake ? fake.handle(request) : undefined;
    },
  };
}

/** A Secret Manager whose CRC32C is off by one bit, for the secret the workerd tests read. */
function badCrcSecretManager(gcp: FakeGcp): FakeSecretManager {
  const fake = new FakeSecretManager({
    gcp,
    projects: { 'acme-prod': '123456789012' },
    secrets: {
      'projects/123456789012/secrets/db-password': { accessors: [`serviceAccount:${WORKERS_GCP_SA}`], versions: [{ data: 'gcp-w0rkerd' }] },
    },
  });
  fake.mode = 'bad_crc';
  return fake;
}
