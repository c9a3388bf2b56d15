// The GitHub Action as the runner runs it: action/dist/main.js and post.js as child processes with INPUT_*,
// the file commands and a fake OIDC token service, against a real `secret-broker serve` and against scripted
// brokers for the failure paths (503 then 200, 403, revoke answers).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2eBroker, type E2eBroker } from '../helpers/e2e-broker.ts';
import {
  asMap,
  maskingViolations,
  parseFileCommands,
  runActionStep,
  serveTokenService,
  stepFiles,
  type FakeTokenService,
} from '../helpers/fake-actions-runtime.ts';
import { allTypesResponse, serveFakeBroker } from '../helpers/fake-broker.ts';
import { runCli, type ServedBroker } from '../helpers/processes.ts';

const AUD = 'https://broker.action.test';
const CLAIMS = { sub: 'repo:acme/web:ref:refs/heads/main', repository_id: '42', ref: 'refs/heads/main' };
const API_KEY = 'sk-live-9f8e7d6c5b4a-action-e2e';
const TLS_KEY = '-----BEGIN TEST KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7action-e2e\n-----END TEST KEY-----';
const SA_JSON =
  '{\n  "type": "service_account",\n  "private_key_id": "pkid-action-e2e-0001",\n  "client_secret": "json-inner-secret-e2e"\n}';
const SECRETS = [API_KEY, TLS_KEY, SA_JSON, 'pkid-action-e2e-0001', 'json-inner-secret-e2e'];

let fixture: E2eBroker;
let dir: string;
let broker: ServedBroker;
let tokens: FakeTokenService;
let step = 0;
const files = () => stepFiles(join(dir, `step-${++step}`));

beforeAll(async () => {
  fixture = await startE2eBroker({
    name: 'action',
    issuerName: 'local',
    audience: AUD,
    roles: {
      deploy: [
        'role: deploy',
        'issuer: local',
        'max_ttl: 5m',
        'allow:',
        '  - repository_id: "42"',
        '    ref: refs/heads/main',
        'grants:',
        '  - type: secret',
        '    name: API_KEY',
        '  - type: secret',
        '    name: TLS_KEY',
        '  - type: secret',
        '    name: SA_JSON',
        '    env: GOOGLE_SA_JSON',
        '',
      ].join('\n'),
    },
    secrets: { API_KEY, TLS_KEY, SA_JSON },
    beforeServe: async (ctx) => {
      tokens = await serveTokenService(ctx.key, ctx.issuer.url, CLAIMS);
    },
  });
  ({ dir, broker } = fixture);
}, 60_000);

afterAll(async () => {
  await tokens?.close();
  await fixture?.close();
});

describe('the action against a real broker', () => {
  it('masks every value first, exports, sets outputs and a summary; post blanks and sends no revoke for nothing revocable', async () => {
    const inputs = { 'broker-url': broker.url, role: 'deploy', audience: AUD, 'env-prefix': 'APP_', 'output-credentials': 'true' };
    const main = await runActionStep('main', { inputs, files: files(), env: tokens.env() });
    expect(main.code, main.stdout + main.stderr).toBe(0);

    expect(maskingViolations(main.stdout, SECRETS)).toEqual([]);
    for (const s of SECRETS) expect(main.stderr).not.toContain(s);

    const env = asMap(parseFileCommands(main.files.read('env')));
    expect(env).toEqual({ APP_API_KEY: API_KEY, APP_TLS_KEY: TLS_KEY, APP_GOOGLE_SA_JSON: SA_JSON });

    const out = asMap(parseFileCommands(main.files.read('output')));
    expect(out['request-id']).toMatch(/^[0-9A-Z]{26}$/);
    expect(out['expires-at']).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(out['secret-API_KEY']).toBe(API_KEY);
    expect(out['secret-TLS_KEY']).toBe(TLS_KEY);
    expect(out['secret-GOOGLE_SA_JSON']).toBe(SA_JSON);
    expect(out['secret-GOOGLE_SA_JSON-name']).toBe('SA_JSON');
    expect(out['secret-API_KEY-version']).toBe('1');

    const summary = main.files.read('summary');
    expect(summary).toContain('`deploy`');
    expect(summary).toContain(out['request-id']);
    expect(summary).toContain('GOOGLE_SA_JSON');
    for (const s of SECRETS) expect(summary).not.toContain(s);

    const state = asMap(parseFileCommands(main.files.read('state')));
    expect(state['request-id']).toBe(out['request-id']);
    expect(JSON.parse(state.exported!)).toEqual(['APP_API_KEY', 'APP_TLS_KEY', 'APP_GOOGLE_SA_JSON']);
    expect(state.revocable).toBe('false');
    for (const s of SECRETS) expect(main.files.read('state')).not.toContain(s);

    // Post runs with the job's exported environment, as the runner gives it.
    const tokensBefore = tokens.audiences.length;
    const post = await runActionStep('post', { inputs, files: files(), env: { ...tokens.env(), ...env }, state });
    expect(post.code, post.stdout + post.stderr).toBe(0);
    expect(asMap(parseFileCommands(post.files.read('env')))).toEqual({ APP_API_KEY: '', APP_TLS_KEY: '', APP_GOOGLE_SA_JSON: '' });
    // Stored secrets cannot be revoked early: post says so and asks for neither an ID token nor a revoke.
    expect(post.stdout).toContain(`secret-broker: request ${out['request-id']} issued nothing revocable, so no revoke is sent`);
    expect(post.stdout).not.toMatch(/::(error|warning)::/);
    expect(tokens.audiences.length).toBe(tokensBefore);
    const audit = await runCli(['audit', 'list', '--json', '--action', 'revoke', '--data', join(dir, 'data')]);
    const records = audit.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { record: Record<string, unknown> }).record);
    expect(records.find((r) => r.target_request_id === out['request-id'])).toBeUndefined();
  });

  it('by default the values reach the environment only; grants narrows what the broker mints', async () => {
    const inputs = { 'broker-url': broker.url, role: 'deploy', audience: AUD, grants: 'API_KEY,\nGOOGLE_SA_JSON' };
    const main = await runActionStep('main', { inputs, files: files(), env: tokens.env() });
    expect(main.code, main.stdout + main.stderr).toBe(0);
    expect(
      maskingViolations(
        main.stdout,
        SECRETS.filter((v) => v !== TLS_KEY),
      ),
    ).toEqual([]);
    // Only the two selected grants were minted: TLS_KEY was never handed out.
    expect(asMap(parseFileCommands(main.files.read('env')))).toEqual({ API_KEY: API_KEY, GOOGLE_SA_JSON: SA_JSON });
    const out = asMap(parseFileCommands(main.files.read('output')));
    expect(out).toEqual({
      'request-id': expect.stringMatching(/^[0-9A-Z]{26}$/),
      'expires-at': expect.stringMatching(/^\d{4}-/),
      'secret-API_KEY-version': '1',
      'secret-API_KEY-name': 'API_KEY',
      'secret-GOOGLE_SA_JSON-version': '1',
      'secret-GOOGLE_SA_JSON-name': 'SA_JSON',
    });
    for (const s of SECRETS) expect(main.files.read('output')).not.toContain(s);
    expect(main.stdout).not.toContain('TLS_KEY');
  });

  it('a grants entry that selects nothing of the role fails the step with ERR_REQUEST_INVALID and a hint; nothing is exported', async () => {
    const main = await runActionStep('main', {
      inputs: { 'broker-url': broker.url, role: 'deploy', audience: AUD, grants: 'API_KEY,api_key' },
      files: files(),
      env: tokens.env(),
    });
    expect(main.code).toBe(1);
    expect(main.stdout).toMatch(/::error::.*ERR_REQUEST_INVALID, HTTP 400, request id [0-9A-Z]{26}\): .*every entry of grants/);
    expect(main.stdout).not.toMatch(/retrying/);
    expect(main.files.read('env') + main.files.read('output')).toBe('');
  });

  it('a role the policy does not grant: not retried, the code, the request id and what to check', async () => {
    const main = await runActionStep('main', {
      inputs: { 'broker-url': broker.url, role: 'nope', audience: AUD },
      files: files(),
      env: tokens.env(),
    });
    expect(main.code).toBe(1);
    expect(main.stdout).toMatch(
      /::error::secret-broker: exchange for role "nope": the broker refused \(ERR_ACCESS_DENIED, HTTP 403, request id [0-9A-Z]{26}\): check that the role exists/,
    );
    expect(main.stdout).not.toMatch(/retrying/);
    expect(main.files.read('env')).toBe('');
  });
});

describe('the action against scripted brokers', () => {
  const all = allTypesResponse();
  const values = all.credentials.flatMap((c) =>
    Object.entries(c)
      .filter(([k]) => ['access_key_id', 'secret_access_key', 'session_token', 'access_token', 'token', 'value'].includes(k))
      .map(([, v]) => v as string),
  );
  const jsonInner = ['fake-json-private-key-0001', 'fake-json-nested-token-0002'];

  it('503 twice, then 200: retried with a fresh token each time; every type exported and masked', async () => {
    const fake = await serveFakeBroker({
      '/v1/exchange': [
        { status: 503, body: { error: 'ERR_UNAVAILABLE', message: 'down', request_id: 'r-503-a' } },
        { status: 503, body: { error: 'ERR_UNAVAILABLE', message: 'down', request_id: 'r-503-b' } },
        { status: 200, body: all },
      ],
      '/v1/revoke': [
        { status: 200, body: { request_id: 'r-revoke', revoked_request_id: all.request_id, revoked: [{ type: 'github', ok: true }] } },
      ],
    });
    try {
      // No audience input: the token is requested for broker-url exactly as written.
      const inputs = { 'broker-url': fake.url, role: 'deploy', 'aws-region': 'us-east-2', 'output-credentials': 'true' };
      const main = await runActionStep('main', { inputs, files: files(), env: tokens.env() });
      expect(main.code, main.stdout + main.stderr).toBe(0);
      expect(fake.requests.map((r) => r.path)).toEqual(['/v1/exchange', '/v1/exchange', '/v1/exchange']);
      const sent = fake.requests.map((r) => r.body.token);
      expect(new Set(sent).size).toBe(3);
      expect(fake.requests.every((r) => r.body.role === 'deploy' && !('grants' in r.body))).toBe(true);
      expect(tokens.audiences.slice(-3)).toEqual([fake.url, fake.url, fake.url]);
      expect(main.stdout.match(/attempt \d failed \(ERR_UNAVAILABLE\); retrying/g)).toHaveLength(2);

      expect(maskingViolations(main.stdout, [...values.filter(Boolean), ...jsonInner])).toEqual([]);
      // The empty secret is neither masked nor exported.
      expect(main.stdout.split('\n')).not.toContain('::add-mask::');

      const env = asMap(parseFileCommands(main.files.read('env')));
      expect(env).toEqual({
        AWS_ACCESS_KEY_ID: 'ASIAFAKEACCESSKEY0001',
        AWS_SECRET_ACCESS_KEY: 'fake/aws+secret/access/key/0000000001',
        AWS_SESSION_TOKEN: 'FwoGZXIvYXdzEFAKESESSIONTOKEN0001==',
        AWS_REGION: 'us-east-2',
        AWS_DEFAULT_REGION: 'us-east-2',
        AZURE_ACCESS_TOKEN: 'eyJ0eXAiOiJKV1Qi.fake-azure-access-token.0001',
        GOOGLE_OAUTH_ACCESS_TOKEN: 'ya29.fake-gcp-access-token-0001',
        CLOUDSDK_AUTH_ACCESS_TOKEN: 'ya29.fake-gcp-access-token-0001',
        GH_TOKEN: 'ghs_fakeGitHubInstallationToken0001',
        DATABASE_URL: all.credentials[4]!.value,
        TLS_KEY: all.credentials[5]!.value,
        SA_JSON: all.credentials[6]!.value,
      });

      const out = asMap(parseFileCommands(main.files.read('output')));
      expect(out).toMatchObject({
        'request-id': all.request_id,
        'aws-access-key-id': 'ASIAFAKEACCESSKEY0001',
        'aws-region': 'eu-west-1',
        'aws-role-arn': 'arn:aws:iam::111122223333:role/web-deploy',
        'azure-access-token': 'eyJ0eXAiOiJKV1Qi.fake-azure-access-token.0001',
        'azure-tenant-id': 'tenant-0001',
        'gcp-project-id': 'proj',
        'github-token': 'ghs_fakeGitHubInstallationToken0001',
        'github-repositories': '["web"]',
        'github-permissions': '{"contents":"read"}',
        'secret-DATABASE_URL': all.credentials[4]!.value,
        'secret-DATABASE_URL-version': '3',
      });
      expect(out).not.toHaveProperty('secret-EMPTY');

      const summary = main.files.read('summary');
      for (const t of ['aws', 'azure', 'gcp', 'github', 'secret']) expect(summary).toContain(`| ${t} |`);
      for (const v of [...values.filter(Boolean), ...jsonInner]) expect(summary).not.toContain(v);

      const state = asMap(parseFileCommands(main.files.read('state')));
      // A GitHub token is revocable, so post revokes.
      expect(state.revocable).toBe('true');
      const post = await runActionStep('post', { inputs, files: files(), env: { ...tokens.env(), ...env }, state });
      expect(post.code, post.stdout + post.stderr).toBe(0);
      expect(post.stdout).toContain(`secret-broker: revoked github of request ${all.request_id}`);
      const revoke = fake.requests.at(-1)!;
      expect(revoke.path).toBe('/v1/revoke');
      expect(revoke.body.request_id).toBe(all.request_id);
      expect(sent).not.toContain(revoke.body.token);
      const blanked = asMap(parseFileCommands(post.files.read('env')));
      expect(Object.keys(blanked).sort()).toEqual(Object.keys(env).sort());
      expect(Object.values(blanked).every((v) => v === '')).toBe(true);
    } finally {
      await fake.close();
    }
  });

  it('grants is sent as a list; aws-account-id is an output; mask-aws-account-id masks it before it is printed', async () => {
    const aws = { ...all, credentials: [all.credentials[0]!, all.credentials[4]!] };
    const fake = await serveFakeBroker({
      '/v1/exchange': [
        { status: 200, body: aws },
        { status: 200, body: aws },
      ],
    });
    try {
      const inputs = { 'broker-url': fake.url, role: 'deploy', grants: 'aws, DATABASE_URL' };
      const plain = await runActionStep('main', { inputs, files: files(), env: tokens.env() });
      expect(plain.code, plain.stdout + plain.stderr).toBe(0);
      expect(fake.requests[0]!.body.grants).toEqual(['aws', 'DATABASE_URL']);
      const out = asMap(parseFileCommands(plain.files.read('output')));
      expect(out['aws-account-id']).toBe('111122223333');
      expect(out['aws-role-arn']).toBe('arn:aws:iam::111122223333:role/web-deploy');
      expect(out).not.toHaveProperty('aws-access-key-id');
      expect(out).not.toHaveProperty('secret-DATABASE_URL');
      expect(plain.stdout).not.toContain('::add-mask::111122223333');
      expect(asMap(parseFileCommands(plain.files.read('state'))).revocable).toBe('false');

      const masked = await runActionStep('main', {
        inputs: { ...inputs, 'mask-aws-account-id': 'true' },
        files: files(),
        env: tokens.env(),
      });
      expect(masked.code, masked.stdout + masked.stderr).toBe(0);
      expect(maskingViolations(masked.stdout, ['111122223333'])).toEqual([]);
      expect(masked.stdout).toContain('::add-mask::111122223333');
      expect(asMap(parseFileCommands(masked.files.read('output')))['aws-account-id']).toBe('111122223333');
      const summary = masked.files.read('summary');
      expect(summary).toContain('arn:aws:iam::***:role/web-deploy');
      expect(summary).not.toContain('111122223333');
    } finally {
      await fake.close();
    }
  });

  it('403: one attempt, the code and request id, never the body', async () => {
    const fake = await serveFakeBroker({
      '/v1/exchange': [
        {
          status: 403,
          body: { error: 'ERR_ACCESS_DENIED', message: 'BODY-MARKER policy detail', request_id: '01JDENIED000000000000000000' },
        },
      ],
    });
    try {
      const main = await runActionStep('main', { inputs: { 'broker-url': fake.url, role: 'deploy' }, files: files(), env: tokens.env() });
      expect(main.code).toBe(1);
      expect(fake.requests).toHaveLength(1);
      expect(main.stdout).toMatch(
        /::error::.*ERR_ACCESS_DENIED, HTTP 403, request id 01JDENIED000000000000000000\): check that the role exists/,
      );
      expect(main.stdout + main.stderr).not.toContain('BODY-MARKER');
      expect(main.files.read('env') + main.files.read('output') + main.files.read('state')).toBe('');
    } finally {
      await fake.close();
    }
  });

  it('no id-token permission: a clear message, no call to the broker', async () => {
    const fake = await serveFakeBroker({});
    try {
      const main = await runActionStep('main', { inputs: { 'broker-url': fake.url, role: 'deploy' }, files: files() });
      expect(main.code).toBe(1);
      expect(main.stdout).toContain('permissions: id-token: write');
      expect(main.stdout).toMatch(/fork/);
      expect(fake.requests).toHaveLength(0);
    } finally {
      await fake.close();
    }
  });

  it('invalid inputs are reported together, by name, before any call', async () => {
    const main = await runActionStep('main', {
      inputs: { 'broker-url': 'http://broker.example.com', role: 'Deploy!', retries: 'many' },
      files: files(),
      env: tokens.env(),
    });
    expect(main.code).toBe(1);
    expect(main.stdout).toMatch(/input broker-url must use https:\/\//);
    expect(main.stdout).toMatch(/input role "Deploy!" is not a role name/);
    expect(main.stdout).toMatch(/input retries must be a whole number/);
  });

  it('post: a failing or missing revoke is a warning with the expiry; cleanup: false does nothing', async () => {
    const fake = await serveFakeBroker({
      '/v1/revoke': [{ status: 500, body: { error: 'ERR_INTERNAL', message: 'BODY-MARKER', request_id: 'r-500' } }],
    });
    try {
      const state = { 'request-id': '01JREVOKE0000000000000000', 'expires-at': '2030-01-01T00:00:00Z', exported: '["API_KEY"]' };
      const inputs = { 'broker-url': fake.url, role: 'deploy', retries: '1' };
      const post = await runActionStep('post', { inputs, files: files(), env: tokens.env(), state });
      expect(post.code).toBe(0);
      expect(fake.requests).toHaveLength(2);
      expect(post.stdout).toMatch(
        /::warning::secret-broker: revoke of request 01JREVOKE0000000000000000: the broker failed \(ERR_INTERNAL, HTTP 500, request id r-500\) after 2 attempts.*until they expire at 2030-01-01T00:00:00Z/,
      );
      expect(post.stdout).not.toContain('BODY-MARKER');
      expect(asMap(parseFileCommands(post.files.read('env')))).toEqual({ API_KEY: '' });

      const off = await runActionStep('post', { inputs: { ...inputs, cleanup: 'false' }, files: files(), env: tokens.env(), state });
      expect(off.code).toBe(0);
      expect(fake.requests).toHaveLength(2);
      expect(off.files.read('env')).toBe('');
      expect(off.stdout).toContain('cleanup: false');

      // A broker without /v1/revoke (older than the client): a warning naming the code, never a failure.
      const old = await serveFakeBroker({});
      try {
        const r = await runActionStep('post', { inputs: { ...inputs, 'broker-url': old.url }, files: files(), env: tokens.env(), state });
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(
          /::warning::secret-broker: revoke of request 01JREVOKE0000000000000000: the broker refused \(ERR_NOT_FOUND, HTTP 404, request id fake-404\)/,
        );
      } finally {
        await old.close();
      }

      // Without an ID token the revoke cannot be proven: still only a warning.
      const noToken = await runActionStep('post', { inputs, files: files(), state });
      expect(noToken.code).toBe(0);
      expect(noToken.stdout).toMatch(/::warning::.*id-token: write/);
    } finally {
      await fake.close();
    }
  });
});
