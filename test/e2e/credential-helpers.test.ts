// The credential helpers, read back by the SDKs that consume them: `exchange --format aws-credential-process`
// run by @aws-sdk/credential-provider-process from an AWS config file, and the agent's aws-credentials file
// read by the AWS SDK's default chain (the broker is the scripted fake: what is tested is the output format).
// `exchange --format gcp-executable` run by google-auth-library's executable-sourced credentials against the
// real Node broker (a gcp grant with hand_out: subject_token) and the fake Google Cloud, whose STS verifies
// the broker token against the broker's JWKS over HTTP as Google would.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromProcess } from '@aws-sdk/credential-provider-process';
import { ExternalAccountClient } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeBroker, type RunningBroker } from '../../broker/entry/node.ts';
import { generateKekBase64 } from '../../broker/src/store/envelope.ts';
import { generateIssuerKey, serveTestIssuer, signTestToken, type IssuerKey, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';
import { FakeGcp } from '../fakes/gcp.ts';
import { serveFake, type ServedFake } from '../fakes/tls.ts';
import { allTypesResponse, serveFakeBroker, type FakeBroker } from '../helpers/fake-broker.ts';
import { freePort } from '../helpers/ports.ts';
import { CLI, ROOT, runCli } from '../helpers/processes.ts';

let dir: string;
let tokenFile: string;
let broker: FakeBroker;
const full = allTypesResponse();
const aws = full.credentials.find((c) => c.type === 'aws') as { access_key_id: string; secret_access_key: string; session_token: string };
const twoAws = { ...full, credentials: [...full.credentials, { ...full.credentials[0], access_key_id: 'ASIASECONDKEY0000002' }] };
const noAws = { ...full, credentials: full.credentials.filter((c) => c.type === 'secret') };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-helpers-'));
  tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'header.payload.signature\n');
  broker = await serveFakeBroker({ '/v1/exchange': [{ status: 200, body: full }] });
});

afterAll(async () => {
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

const exchangeArgs = (url: string) => ['exchange', '--broker', url, '--role', 'deploy', '--token-file', tokenFile];

describe('exchange --format aws-credential-process', () => {
  it('is accepted by @aws-sdk/credential-provider-process from an AWS config file, with the expiry for its refresh', async () => {
    const config = join(dir, 'aws-config');
    const command = [process.execPath, CLI, ...exchangeArgs(broker.url), '--format', 'aws-credential-process'].join(' ');
    writeFileSync(config, `[profile ci]\ncredential_process = ${command}\n`);
    const creds = await fromProcess({ profile: 'ci', configFilepath: config, filepath: join(dir, 'no-credentials-file') })();
    expect(creds).toMatchObject({
      accessKeyId: aws.access_key_id,
      secretAccessKey: aws.secret_access_key,
      sessionToken: aws.session_token,
      expiration: new Date(full.expires_at),
    });
  });

  it('refuses with exit 4 and nothing on stdout unless the response holds exactly one aws credential', async () => {
    for (const [body, why] of [
      [noAws, /holds no aws credential \(the role grants secret, secret, secret, secret\)/],
      [twoAws, /holds 2 aws credentials: select one with --grants/],
    ] as const) {
      const fake = await serveFakeBroker({ '/v1/exchange': [{ status: 200, body }] });
      try {
        const r = await runCli([...exchangeArgs(fake.url), '--format', 'aws-credential-process']);
        expect(r.code).toBe(4);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(why);
        expect(r.stderr).not.toContain(aws.secret_access_key);
      } finally {
        await fake.close();
      }
    }
  });
});

describe('agent --format aws-credentials', () => {
  it('writes the shared credentials file (profile default, 0400) that the AWS SDK reads through AWS_SHARED_CREDENTIALS_FILE', async () => {
    const out = mkdtempSync(join(dir, 'out-'));
    const r = await runCli([
      'agent',
      '--broker',
      broker.url,
      '--role',
      'deploy',
      '--token-file',
      tokenFile,
      '--out',
      out,
      '--once',
      '--format',
      'aws-credentials',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const file = join(out, 'credentials');
    expect(statSync(file).mode & 0o777).toBe(0o400);
    expect(readFileSync(file, 'utf8')).toMatch(/^\[default\]\n/);
    // The SDK's own default chain, in a process with no other AWS settings.
    const script = `import('@aws-sdk/client-sts').then(async ({ STSClient }) => {
      const c = await new STSClient({ region: 'us-east-1' }).config.credentials();
      process.stdout.write(JSON.stringify(c));
    })`;
    const got = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: dir, AWS_SHARED_CREDENTIALS_FILE: file, AWS_CONFIG_FILE: join(dir, 'none') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      let err = '';
      child.stdout.on('data', (d) => (text += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(err))));
    });
    expect(JSON.parse(got)).toMatchObject({
      accessKeyId: aws.access_key_id,
      secretAccessKey: aws.secret_access_key,
      sessionToken: aws.session_token,
    });
  });
});

describe('exchange --format gcp-executable', () => {
  const AUD = 'https://broker.e2e.test';
  const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/ci/providers/secret-broker';
  const SA = 'deployer@acme-prod.iam.gserviceaccount.com';
  let ciKey: IssuerKey;
  let ciIssuer: TestIssuerServer;
  let real: RunningBroker;
  let gcp: FakeGcp;
  let gcpServed: ServedFake;
  let gdir: string;
  const allowBefore = process.env.GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES;

  beforeAll(async () => {
    gdir = mkdtempSync(join(tmpdir(), 'sb-gcp-exec-'));
    ciKey = await generateIssuerKey();
    ciIssuer = await serveTestIssuer(ciKey);
    const port = await freePort();
    const brokerUrl = `http://127.0.0.1:${port}`;
    gcp = new FakeGcp({
      providers: { [PROVIDER]: { issuer: brokerUrl, attributeCondition: (c) => c.repository_id === '42' } },
      serviceAccounts: { [SA]: { allowedSubjects: ['role:gcp-subject', 'role:gcp-access'] } },
      // Inside the library's eager-refresh window (5 minutes): its next getAccessToken must run the executable again.
      federatedTokenLifetime: 60,
    });
    gcpServed = await serveFake(gcp.handle);
    const pol = join(gdir, 'policies');
    mkdirSync(join(pol, 'roles'), { recursive: true });
    writeFileSync(join(pol, 'issuers.yaml'), `issuers:\n  ci:\n    url: ${ciIssuer.url}\n    audience: ${AUD}\n`);
    const role = (name: string, extra: string) =>
      `role: ${name}\nissuer: ci\nmax_ttl: 15m\nallow:\n  - repository_id: "42"\ngrants:\n  - type: gcp\n    workload_identity_provider: ${PROVIDER}\n    service_account: ${SA}\n    sts_url: ${gcpServed.url}/v1/token\n    iam_credentials_url: ${gcpServed.url}\n${extra}`;
    writeFileSync(join(pol, 'roles/gcp-subject.yaml'), role('gcp-subject', '    hand_out: subject_token\n'));
    writeFileSync(join(pol, 'roles/gcp-access.yaml'), role('gcp-access', ''));
    const env = { BROKER_KEK: generateKekBase64(), BROKER_PUBLIC_URL: brokerUrl, BROKER_UPSTREAM_TIMEOUT_MS: '1500' };
    real = await startNodeBroker({ policiesDir: pol, dataDir: join(gdir, 'data'), port, host: '127.0.0.1', env, log: () => {} });
    process.env.GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES = '1';
  }, 60_000);

  afterAll(async () => {
    if (allowBefore === undefined) delete process.env.GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES;
    else process.env.GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES = allowBefore;
    await real?.stop();
    await ciIssuer?.close();
    await gcpServed?.close();
    rmSync(gdir, { recursive: true, force: true });
  });

  /** A fresh CI ID token in the file the executable reads (each run is one exchange, single use). */
  async function freshToken(file: string): Promise<void> {
    const token = await signTestToken(ciKey, {
      iss: ciIssuer.url,
      aud: AUD,
      sub: 'repo:acme/web:ref:refs/heads/main',
      repository_id: '42',
    });
    writeFileSync(file, `${token}\n`);
  }

  function externalAccount(role: string, file: string, impersonate: boolean) {
    const command = [
      process.execPath,
      CLI,
      'exchange',
      '--broker',
      real.url,
      '--role',
      role,
      '--token-file',
      file,
      '--format',
      'gcp-executable',
    ].join(' ');
    const client = ExternalAccountClient.fromJSON({
      type: 'external_account',
      audience: `//iam.googleapis.com/${PROVIDER}`,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: `${gcpServed.url}/v1/token`,
      ...(impersonate
        ? {
            service_account_impersonation_url: `${gcpServed.url}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
            service_account_impersonation: { token_lifetime_seconds: 600 },
          }
        : {}),
      credential_source: { executable: { command, timeout_millis: 30_000 } },
    });
    if (!client) throw new Error('no external account client');
    return client;
  }

  it('google-auth-library runs it, exchanges the broker-signed subject token at STS (verified against the broker JWKS) and impersonates the service account', async () => {
    const file = join(gdir, 'token-impersonate');
    await freshToken(file);
    gcp.calls.length = 0;
    const { token } = await externalAccount('gcp-subject', file, true).getAccessToken();
    const [sts, iam] = gcp.calls;
    expect(sts?.status, JSON.stringify(gcp.calls)).toBe(200);
    expect(sts?.fields.subject_token_type).toBe('urn:ietf:params:oauth:token-type:jwt');
    expect(sts?.claims).toMatchObject({
      iss: real.url,
      sub: 'role:gcp-subject',
      aud: `https://iam.googleapis.com/${PROVIDER}`,
      repository_id: '42',
    });
    expect(gcp.verifier.jwksFetched).toContain(`${real.url}/.well-known/jwks.json`);
    expect(iam?.status).toBe(200);
    expect(token).toBe(iam?.issued?.token);
    expect(iam?.issued?.kind).toBe('service_account');
  }, 60_000);

  it('without impersonation the library gets the federated token, and runs the executable again for its next token', async () => {
    const file = join(gdir, 'token-federated');
    const client = externalAccount('gcp-subject', file, false);
    await freshToken(file);
    gcp.calls.length = 0;
    const first = await client.getAccessToken();
    expect(first.token).toBe(gcp.calls[0]?.issued?.token);
    expect(gcp.calls[0]?.issued?.kind).toBe('federated');
    // The federated token is due for refresh: the library runs the executable again (a new exchange, so a new ID token).
    await freshToken(file);
    const second = await client.getAccessToken();
    expect(gcp.calls).toHaveLength(2);
    expect(second.token).toBe(gcp.calls[1]?.issued?.token);
    expect(second.token).not.toBe(first.token);
    expect(gcp.calls[1]?.claims?.jti).not.toBe(gcp.calls[0]?.claims?.jti);
  }, 60_000);

  it('agent --format gcp-executable writes the answer (0400) that the library takes as its unexpired output_file, without running its executable', async () => {
    const file = join(gdir, 'token-agent');
    await freshToken(file);
    const out = mkdtempSync(join(gdir, 'out-'));
    const r = await runCli([
      'agent',
      '--broker',
      real.url,
      '--role',
      'gcp-subject',
      '--token-file',
      file,
      '--out',
      out,
      '--once',
      '--format',
      'gcp-executable',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const answer = join(out, 'gcp-executable.json');
    expect(statSync(answer).mode & 0o777).toBe(0o400);
    gcp.calls.length = 0;
    const client = ExternalAccountClient.fromJSON({
      type: 'external_account',
      audience: `//iam.googleapis.com/${PROVIDER}`,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: `${gcpServed.url}/v1/token`,
      // A command that fails: the token must come from the file.
      credential_source: { executable: { command: `${process.execPath} -e process.exit(9)`, timeout_millis: 5000, output_file: answer } },
    });
    const { token } = await client!.getAccessToken();
    expect(token).toBe(gcp.calls[0]?.issued?.token);
    expect(gcp.calls[0]?.claims?.sub).toBe('role:gcp-subject');
  }, 60_000);

  it('prints nothing on stderr when it succeeds (the library parses stdout and stderr together)', async () => {
    const file = join(gdir, 'token-quiet');
    await freshToken(file);
    const r = await runCli(['exchange', '--broker', real.url, '--role', 'gcp-subject', '--token-file', file, '--format', 'gcp-executable']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ version: 1, success: true, token_type: 'urn:ietf:params:oauth:token-type:jwt' });
  });

  it('refuses with exit 4 and nothing on stdout for an access-token gcp grant, naming hand_out: subject_token', async () => {
    const file = join(gdir, 'token-access');
    await freshToken(file);
    const r = await runCli(['exchange', '--broker', real.url, '--role', 'gcp-access', '--token-file', file, '--format', 'gcp-executable']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/give the role's gcp grant `hand_out: subject_token`/);
    expect(r.stderr).not.toMatch(/ya29|fake-token/);
  });

  it('refuses with exit 4 unless the response holds exactly one gcp credential, and when the configured audience differs', async () => {
    const subject = {
      type: 'gcp',
      subject_token: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJyb2xlOmQifQ.c2ln',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      audience: `//iam.googleapis.com/${PROVIDER}`,
      expires_at: full.expires_at,
    };
    const secrets = full.credentials.filter((c) => c.type === 'secret');
    for (const [credentials, why, env] of [
      [secrets, /holds no gcp credential \(the role grants secret, secret, secret, secret\)/, {}],
      [[subject, subject], /holds 2 gcp credentials: select one with --grants/, {}],
      [
        [subject],
        /GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE/,
        { GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/x/providers/y' },
      ],
    ] as const) {
      const fake = await serveFakeBroker({ '/v1/exchange': [{ status: 200, body: { ...full, credentials } }] });
      try {
        const r = await runCli([...exchangeArgs(fake.url), '--format', 'gcp-executable'], { env });
        expect(r.code).toBe(4);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(why);
        expect(r.stderr).not.toContain(subject.subject_token);
      } finally {
        await fake.close();
      }
    }
    // The matching audience is accepted.
    const fake = await serveFakeBroker({ '/v1/exchange': [{ status: 200, body: { ...full, credentials: [subject] } }] });
    try {
      const r = await runCli([...exchangeArgs(fake.url), '--format', 'gcp-executable'], {
        env: { GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE: subject.audience },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        version: 1,
        success: true,
        token_type: subject.subject_token_type,
        id_token: subject.subject_token,
        expiration_time: Math.floor(Date.parse(full.expires_at) / 1000),
      });
    } finally {
      await fake.close();
    }
  });
});
