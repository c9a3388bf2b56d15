// `secret-broker exchange` as a pipeline runs it: a real broker and issuer, the token in an environment
// variable or a file, each format read back by its consumer, and every documented exit code.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { valuesToMask } from '../../client/mask.ts';
import { signTestToken, type IssuerKey, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';
import { allTypesResponse, serveFakeBroker } from '../helpers/fake-broker.ts';
import { startE2eBroker, type E2eBroker } from '../helpers/e2e-broker.ts';
import { runCli, type ServedBroker } from '../helpers/processes.ts';

const AUD = 'https://broker.cli.test';
const CLAIMS = { sub: 'project_path:acme/web:ref_type:branch:ref:main', project_id: '42', ref: 'main' };
const API_KEY = "sk-cli-e2e-'quoted'-$HOME-value";
const TLS_KEY = '-----BEGIN TEST KEY-----\nMIIcliLineOne\nMIIcliLineTwo\n-----END TEST KEY-----';
const PLAIN_KEY = 'sk-cli-e2e-$HOME-`id`-"plain"';

let fixture: E2eBroker;
let dir: string;
let key: IssuerKey;
let issuer: TestIssuerServer;
let broker: ServedBroker;

beforeAll(async () => {
  const role = (name: string, projectId: string) =>
    `role: ${name}\nissuer: gitlab\nmax_ttl: 5m\nallow:\n  - project_id: "${projectId}"\n    ref: main\ngrants:\n  - type: secret\n    name: API_KEY\n  - type: secret\n    name: TLS_KEY\n    env: DEPLOY_KEY\n`;
  // Values that every dotenv reader takes literally in single quotes ($ and backquotes included).
  const plain = `role: plain\nissuer: gitlab\nmax_ttl: 5m\nallow:\n  - project_id: "42"\n    ref: main\ngrants:\n  - type: secret\n    name: PLAIN_KEY\n`;
  fixture = await startE2eBroker({
    name: 'cli',
    issuerName: 'gitlab',
    audience: AUD,
    roles: { deploy: role('deploy', '42'), locked: role('locked', '7'), plain },
    secrets: { API_KEY, TLS_KEY, PLAIN_KEY },
  });
  ({ dir, key, issuer, broker } = fixture);
}, 60_000);

afterAll(async () => {
  await fixture?.close();
});

const token = () => signTestToken(key, { iss: issuer.url, aud: AUD, ...CLAIMS });
const exchange = async (args: string[], env: Record<string, string> = {}) =>
  runCli(['exchange', '--broker', broker.url, ...args], { env: { SECRET_BROKER_ID_TOKEN: await token(), ...env } });
const noValues = (text: string) => {
  for (const v of [API_KEY, ...TLS_KEY.split('\n')]) expect(text).not.toContain(v);
};

describe('secret-broker exchange', () => {
  it('--format env (the default) is sourced by a shell; stderr has the request id and no value', async () => {
    const r = await exchange(['--role', 'deploy']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/role "deploy" granted secret API_KEY, secret DEPLOY_KEY \(request id [0-9A-Z]{26}, expires /);
    noValues(r.stderr);
    const sh = spawnSync('bash', ['-c', `${r.stdout}\nprintf '%s\\0' "$API_KEY" "$DEPLOY_KEY"`], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(sh.stdout.split('\0').slice(0, 2)).toEqual([API_KEY, TLS_KEY]);
  });

  it('--format dotenv with --env-prefix, and the token from --token-file', async () => {
    const file = join(dir, 'token.jwt');
    writeFileSync(file, `${await token()}\n`, { mode: 0o600 });
    const r = await runCli([
      'exchange',
      '--broker',
      broker.url,
      '--role',
      'plain',
      '--token-file',
      file,
      '--format',
      'dotenv',
      '--env-prefix',
      'APP_',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`APP_PLAIN_KEY='${PLAIN_KEY}'\n`);
    expect(r.stderr).not.toContain(PLAIN_KEY);
  });

  it('--format dotenv refuses, with exit 4 and nothing on stdout, values a dotenv reader or a shell would not take literally', async () => {
    const r = await exchange(['--role', 'deploy', '--format', 'dotenv']);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /"API_KEY": the value contains a single quote; "DEPLOY_KEY": the value spans lines .*Use --format env or --format json\./,
    );
    noValues(r.stderr);
  });

  it('--format json is the broker response, with a custom --token-env', async () => {
    const r = await runCli(['exchange', '--broker', broker.url, '--role', 'deploy', '--format', 'json', '--token-env', 'MY_TOKEN'], {
      env: { MY_TOKEN: await token() },
    });
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout) as { role: string; credentials: unknown[] };
    expect(body.role).toBe('deploy');
    expect(body.credentials).toEqual([
      { type: 'secret', name: 'API_KEY', env: 'API_KEY', value: API_KEY, version: 1 },
      { type: 'secret', name: 'TLS_KEY', env: 'DEPLOY_KEY', value: TLS_KEY, version: 1 },
    ]);
  });

  it('exit 1: refused (a denied role, a replayed token), with the code and request id, nothing on stdout', async () => {
    const denied = await exchange(['--role', 'locked']);
    expect(denied.code).toBe(1);
    expect(denied.stdout).toBe('');
    expect(denied.stderr).toMatch(/the broker refused \(ERR_ACCESS_DENIED, HTTP 403, request id [0-9A-Z]{26}\)/);

    const once = await token();
    expect((await runCli(['exchange', '--broker', broker.url, '--role', 'deploy'], { env: { SECRET_BROKER_ID_TOKEN: once } })).code).toBe(
      0,
    );
    const replay = await runCli(['exchange', '--broker', broker.url, '--role', 'deploy'], { env: { SECRET_BROKER_ID_TOKEN: once } });
    expect(replay.code).toBe(1);
    expect(replay.stderr).toMatch(/ERR_TOKEN_REPLAYED, HTTP 401/);
    noValues(replay.stderr);
  });

  it('exit 2: usage errors, including a missing token with the GitLab hint', async () => {
    const noToken = await runCli(['exchange', '--broker', broker.url, '--role', 'deploy'], { env: { SECRET_BROKER_ID_TOKEN: '' } });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/no ID token in \$SECRET_BROKER_ID_TOKEN.*id_tokens/);
    expect((await exchange(['--role', 'deploy', '--format', 'yaml'])).code).toBe(2);
    expect((await exchange(['--role', 'Bad!'])).code).toBe(2);
    expect((await runCli(['exchange', '--broker', 'http://broker.example.com', '--role', 'deploy'])).code).toBe(2);
    expect((await exchange(['--role', 'deploy', '--token-env', 'A', '--token-file', 'B'])).code).toBe(2);
  });

  it('exit 3: unreachable, or failing until the retries run out', async () => {
    const fake = await serveFakeBroker({});
    const closedUrl = fake.url;
    await fake.close();
    const down = await runCli(['exchange', '--broker', closedUrl, '--role', 'deploy', '--retries', '1'], {
      env: { SECRET_BROKER_ID_TOKEN: 'a.b.c' },
    });
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/could not reach the broker \(ECONNREFUSED\) after 2 attempts/);

    const failing = await serveFakeBroker({
      '/v1/exchange': [{ status: 503, body: { error: 'ERR_UNAVAILABLE', message: 'BODY-MARKER', request_id: 'r-503' } }],
    });
    try {
      const r = await runCli(['exchange', '--broker', failing.url, '--role', 'deploy', '--retries', '1'], {
        env: { SECRET_BROKER_ID_TOKEN: 'a.b.c' },
      });
      expect(r.code).toBe(3);
      expect(failing.requests).toHaveLength(2);
      expect(r.stderr).toMatch(/the broker failed \(ERR_UNAVAILABLE, HTTP 503, request id r-503\) after 2 attempts/);
      expect(r.stderr).not.toContain('BODY-MARKER');
    } finally {
      await failing.close();
    }
  });

  it('retries 503 then succeeds, with every credential type in the env format', async () => {
    const all = allTypesResponse();
    const fake = await serveFakeBroker({ '/v1/exchange': [{ status: 503 }, { status: 200, body: all }] });
    try {
      const r = await runCli(['exchange', '--broker', fake.url, '--role', 'deploy'], { env: { SECRET_BROKER_ID_TOKEN: 'a.b.c' } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/attempt 1 failed \(HTTP 503\); retrying/);
      const names = [
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        'AWS_SESSION_TOKEN',
        'AWS_REGION',
        'AWS_DEFAULT_REGION',
        'AZURE_ACCESS_TOKEN',
        'GOOGLE_OAUTH_ACCESS_TOKEN',
        'CLOUDSDK_AUTH_ACCESS_TOKEN',
        'GH_TOKEN',
        'DATABASE_URL',
        'TLS_KEY',
        'SA_JSON',
        'EMPTY',
      ];
      const sh = spawnSync('bash', ['-c', `${r.stdout}\nfor n in ${names.join(' ')}; do printf '%s=%s\\0' "$n" "\${!n-unset}"; done`], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '' },
      });
      const [aws, azure, gcp, github, db, tls, sa] = all.credentials as Array<Record<string, string>>;
      expect(sh.stdout.split('\0').slice(0, -1)).toEqual([
        `AWS_ACCESS_KEY_ID=${aws!.access_key_id}`,
        `AWS_SECRET_ACCESS_KEY=${aws!.secret_access_key}`,
        `AWS_SESSION_TOKEN=${aws!.session_token}`,
        'AWS_REGION=eu-west-1',
        'AWS_DEFAULT_REGION=eu-west-1',
        `AZURE_ACCESS_TOKEN=${azure!.access_token}`,
        `GOOGLE_OAUTH_ACCESS_TOKEN=${gcp!.access_token}`,
        `CLOUDSDK_AUTH_ACCESS_TOKEN=${gcp!.access_token}`,
        `GH_TOKEN=${github!.token}`,
        `DATABASE_URL=${db!.value}`,
        `TLS_KEY=${tls!.value}`,
        `SA_JSON=${sa!.value}`,
        'EMPTY=unset',
      ]);
      for (const v of valuesToMask(all)) expect(r.stderr).not.toContain(v);
    } finally {
      await fake.close();
    }
  });

  it('exit 4: an answer that is not a broker response, or credentials that cannot become variables', async () => {
    const fake = await serveFakeBroker({
      '/v1/exchange': [
        { status: 200, body: '<html>captive portal</html>' },
        {
          status: 200,
          body: { ...allTypesResponse(), credentials: [{ type: 'secret', name: 'X', env: 'BAD-NAME', value: 'hidden-value-1' }] },
        },
        {
          status: 200,
          body: { ...allTypesResponse(), credentials: [{ type: 'secret', name: 'X', env: 'BAD-NAME', value: 'hidden-value-1' }] },
        },
      ],
    });
    try {
      const env = { SECRET_BROKER_ID_TOKEN: 'a.b.c' };
      const html = await runCli(['exchange', '--broker', fake.url, '--role', 'deploy'], { env });
      expect(html.code).toBe(4);
      expect(html.stderr).toMatch(/is not a secret-broker response \(the answer is not JSON\)/);
      expect(html.stderr).not.toContain('captive');
      const badName = await runCli(['exchange', '--broker', fake.url, '--role', 'deploy'], { env });
      expect(badName.code).toBe(4);
      expect(badName.stdout).toBe('');
      expect(badName.stderr).toMatch(/"BAD-NAME": the name must match/);
      expect(badName.stderr).not.toContain('hidden-value-1');
      // The same credentials as JSON are fine: no variable names involved.
      const json = await runCli(['exchange', '--broker', fake.url, '--role', 'deploy', '--format', 'json'], { env });
      expect(json.code).toBe(0);
    } finally {
      await fake.close();
    }
  });

  it('--help documents the formats and exit codes', async () => {
    const r = await runCli(['exchange', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/env\|dotenv\|json/);
    expect(r.stdout).toMatch(/Exit 0 ok, 1 refused, 2 usage, 3 broker unavailable, 4 unusable answer/);
  });
});
