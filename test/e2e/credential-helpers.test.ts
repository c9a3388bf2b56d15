// The credential helpers, read back by the SDKs that consume them: `exchange --format aws-credential-process`
// run by @aws-sdk/credential-provider-process from an AWS config file, and the agent's aws-credentials file
// read by the AWS SDK's default chain. The broker is the scripted fake: what is tested is the output format.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromProcess } from '@aws-sdk/credential-provider-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allTypesResponse, serveFakeBroker, type FakeBroker } from '../helpers/fake-broker.ts';
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
