// The three secret stores and the clouds behind them, wired for minter tests on Node: the fake STS (which
// verifies broker tokens against the broker's JWKS over loopback HTTP), Secrets Manager and SSM (which check
// SigV4 with the sessions that STS issued), the fake Google Cloud and Secret Manager (which checks the
// bearer that Google Cloud issued). The minters reach them through `fetch`, routed by host.
import type { CloudMintDeps } from '../../broker/src/mint/broker-token.ts';
import { createAwsParameterMinter } from '../../broker/src/mint/aws-parameter.ts';
import { createAwsSecretMinter } from '../../broker/src/mint/aws-secret.ts';
import { createGcpSecretMinter } from '../../broker/src/mint/gcp-secret.ts';
import type { RetryOptions } from '../../broker/src/mint/store-retry.ts';
import type { MintResult } from '../../broker/src/mint/types.ts';
import { grantOf, mintContext } from './mint-context.ts';
import { serveBrokerIssuer, type ServedIssuer } from '../helpers/broker-issuer.ts';
import { FakeSecretsManager, FakeSsm } from './aws-secret-stores.ts';
import { FakeAwsSts } from './aws-sts.ts';
import { FakeGcp } from './gcp.ts';
import { FakeSecretManager } from './gcp-secret-manager.ts';
import { serveFake, type ServedFake } from './tls.ts';

export const READER_ROLE = 'arn:aws:iam::111122223333:role/broker-secrets';
export const OTHER_ROLE = 'arn:aws:iam::111122223333:role/other';
export const DB_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf';
export const GCP_PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/ci/providers/secret-broker';
export const GCP_SA = 'reader@acme-prod.iam.gserviceaccount.com';
export const DB_JSON = JSON.stringify({ username: 'app', password: 'pa55-w0rd-S3CRET', port: 5432, nested: { a: 1 } });

export const HOSTS = {
  sts: 'https://sts.fake.test/',
  secretsmanager: 'https://secretsmanager.fake.test/',
  ssm: 'https://ssm.fake.test/',
  gcp: 'https://gcp.fake.test',
  secretManager: 'https://secretmanager.fake.test',
};

export interface SecretStoresWorld {
  issuer: ServedIssuer;
  sts: FakeAwsSts;
  secretsManager: FakeSecretsManager;
  ssm: FakeSsm;
  gcp: FakeGcp;
  secretManager: FakeSecretManager;
  deps: CloudMintDeps;
  /** Every request the minters sent, by URL. */
  sent: string[];
  reset(): void;
  close(): Promise<void>;
}

export async function secretStoresWorld(issuerUrl?: string): Promise<SecretStoresWorld> {
  const issuer = await serveBrokerIssuer({ now: Date.now() });
  const brokerIss = issuerUrl ?? issuer.url;
  const sts = new FakeAwsSts({
    oidcProviders: { [brokerIss]: ['sts.amazonaws.com'] },
    roles: { [READER_ROLE]: { sub: 'role:deploy-web-prod' }, [OTHER_ROLE]: { sub: 'role:deploy-web-prod' } },
    hangMs: 5000,
  });
  const secretsManager = new FakeSecretsManager({
    sts,
    region: 'us-east-1',
    hangMs: 5000,
    secrets: [
      {
        arn: DB_SECRET_ARN,
        name: 'prod/db',
        readers: [READER_ROLE],
        versions: [
          { id: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111', stages: ['AWSCURRENT'], string: DB_JSON },
          { id: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE22222', stages: ['AWSPREVIOUS'], string: 'old-url' },
        ],
      },
      {
        arn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/url-QwErTy',
        name: 'prod/url',
        readers: [READER_ROLE],
        versions: [{ id: 'b1b2c3d4-5678-90ab-cdef-EXAMPLE33333', stages: ['AWSCURRENT'], string: 'postgres://app@db/prod' }],
      },
      {
        arn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/bin-ZxCvBn',
        name: 'prod/bin',
        readers: [READER_ROLE],
        versions: [{ id: 'c1b2c3d4-5678-90ab-cdef-EXAMPLE44444', stages: ['AWSCURRENT'], binary: new TextEncoder().encode('binary-text') }],
      },
    ],
  });
  const ssm = new FakeSsm({
    sts,
    region: 'us-east-1',
    hangMs: 5000,
    parameters: [
      { name: '/prod/api/key', type: 'SecureString', value: 'api-key-S3CRET', version: 7, readers: [READER_ROLE] },
      { name: '/prod/plain', type: 'String', value: 'plain-value', version: 1, readers: [READER_ROLE] },
    ],
  });
  const gcp = new FakeGcp({
    providers: { [GCP_PROVIDER]: { issuer: brokerIss } },
    serviceAccounts: { [GCP_SA]: { allowedSubjects: ['role:deploy-web-prod'] } },
    hangMs: 5000,
  });
  const secretManager = new FakeSecretManager({
    gcp,
    projects: { 'acme-prod': '123456789012' },
    secrets: {
      'projects/123456789012/secrets/db-password': {
        accessors: [`serviceAccount:${GCP_SA}`, 'subject:role:deploy-web-prod'],
        versions: [{ data: 'first' }, { data: 'gcp-pa55-S3CRET' }, { data: 'disabled', state: 'DISABLED' }],
      },
      'projects/123456789012/secrets/db-json': { accessors: [`serviceAccount:${GCP_SA}`], versions: [{ data: DB_JSON }] },
      'projects/123456789012/secrets/sa-only': { accessors: [`serviceAccount:${GCP_SA}`], versions: [{ data: 'sa-only-value' }] },
    },
    hangMs: 5000,
  });
  const routes: Record<string, (req: Request) => Promise<Response>> = {
    [new URL(HOSTS.sts).host]: sts.handle,
    [new URL(HOSTS.secretsmanager).host]: secretsManager.handle,
    [new URL(HOSTS.ssm).host]: ssm.handle,
    [new URL(HOSTS.gcp).host]: gcp.handle,
    [new URL(HOSTS.secretManager).host]: secretManager.handle,
  };
  const sent: string[] = [];
  const deps: CloudMintDeps = {
    fetch: async (input, init) => {
      const req = new Request(input, init);
      sent.push(req.url);
      const route = routes[new URL(req.url).host];
      if (!route) throw new TypeError(`no route to ${req.url}`);
      const res = await route(req);
      // As a socket would: a caller that gave up gets its abort, not the fake's late answer.
      if (req.signal.aborted) throw req.signal.reason;
      return res;
    },
    issuer: issuer.issuer,
    timeoutMs: 1500,
    secrets: { get: async () => null },
  };
  return {
    issuer,
    sts,
    secretsManager,
    ssm,
    gcp,
    secretManager,
    deps,
    sent,
    reset() {
      sts.mode = 'ok';
      secretsManager.mode = 'ok';
      ssm.mode = 'ok';
      gcp.stsMode = 'ok';
      gcp.iamMode = 'ok';
      secretManager.mode = 'ok';
      for (const f of [secretsManager, ssm, secretManager]) {
        f.calls.length = 0;
        f.throttled = false;
      }
      sent.length = 0;
    },
    close: () => issuer.close(),
  };
}

/** Grant fields that point a secret-store grant at the world's fakes. */
export const AWS_FAKE_ENDPOINTS = { sts_endpoint: HOSTS.sts };
export const GCP_FAKE_ENDPOINTS = {
  sts_url: `${HOSTS.gcp}/v1/token`,
  iam_credentials_url: HOSTS.gcp,
  secret_manager_url: HOSTS.secretManager,
};

/** Mints one secret-store grant (the world's endpoints unless `fields` says otherwise) for a verified caller. */
export async function mintStoreGrant(
  world: SecretStoresWorld,
  type: 'aws_secret' | 'aws_parameter' | 'gcp_secret',
  fields: Record<string, unknown>,
  retry: RetryOptions = { baseDelayMs: 5 },
): Promise<MintResult> {
  const base =
    type === 'gcp_secret'
      ? { workload_identity_provider: GCP_PROVIDER, ...GCP_FAKE_ENDPOINTS }
      : { region: 'us-east-1', role_arn: READER_ROLE, ...AWS_FAKE_ENDPOINTS };
  const extra =
    type === 'aws_secret' ? { secretsmanager_endpoint: HOSTS.secretsmanager } : type === 'aws_parameter' ? { ssm_endpoint: HOSTS.ssm } : {};
  const grant = grantOf(type, { ...base, ...extra, ...fields });
  const ctx = mintContext({ grant, now: Math.floor(Date.now() / 1000), maxTtl: '10m' });
  const minter =
    type === 'aws_secret'
      ? createAwsSecretMinter(world.deps, retry)
      : type === 'aws_parameter'
        ? createAwsParameterMinter(world.deps, retry)
        : createGcpSecretMinter(world.deps, retry);
  return (minter.mint as (g: typeof grant, c: typeof ctx) => Promise<MintResult>)(grant, ctx);
}

/** The world's five fakes served on loopback (HTTPS, test/fakes/tls.ts), for a broker process to call. */
export interface ServedSecretStores {
  sts: ServedFake;
  secretsManager: ServedFake;
  ssm: ServedFake;
  gcp: ServedFake;
  secretManager: ServedFake;
  close(): Promise<void>;
}

export async function serveSecretStores(world: SecretStoresWorld): Promise<ServedSecretStores> {
  const [sts, secretsManager, ssm, gcp, secretManager] = await Promise.all(
    [world.sts, world.secretsManager, world.ssm, world.gcp, world.secretManager].map((fake) => serveFake(fake.handle)),
  );
  const all = [sts!, secretsManager!, ssm!, gcp!, secretManager!];
  return {
    sts: sts!,
    secretsManager: secretsManager!,
    ssm: ssm!,
    gcp: gcp!,
    secretManager: secretManager!,
    close: async () => {
      for (const s of all) await s.close();
    },
  };
}
