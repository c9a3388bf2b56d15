// The GitLab CI/CD component, run the way a GitLab runner runs a job that extends it: inputs interpolated,
// the job's variables and GitLab's predefined ones in the environment, the ID token in the variable that
// id_tokens names, before_script and script in one bash with `set -eo pipefail`, after_script in another.
// The credentials must be in the job's environment and nowhere in the job log or the project directory.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { signTestToken, type IssuerKey, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';
import { buildPackage, CLIENT_FILE, packageVersion, sha256 } from '../../scripts/build-package.ts';
import { startE2eBroker, type E2eBroker } from '../helpers/e2e-broker.ts';
import { CLI, ROOT, type ServedBroker } from '../helpers/processes.ts';

const TEMPLATE = join(ROOT, 'templates/secret-broker.yml');
const AUD = 'https://broker.gitlab.test';
const CLAIMS = { sub: 'project_path:acme/web:ref_type:branch:ref:main', project_id: '42', namespace_id: '7', ref: 'main' };
const API_KEY = 'glpat-like-secret-value-0001';
const TLS_KEY = '-----BEGIN TEST KEY-----\nMIIgitlabLineOne\nMIIgitlabLineTwo\n-----END TEST KEY-----';
const VALUES = [API_KEY, ...TLS_KEY.split('\n')];

interface Spec {
  spec: { inputs: Record<string, { default?: string; options?: string[]; regex?: string; description?: string }> };
}
interface HiddenJob {
  image?: string;
  id_tokens: Record<string, { aud: string }>;
  variables: Record<string, string>;
  before_script: string[];
  after_script: string[];
}

let fixture: E2eBroker;
let dir: string;
let key: IssuerKey;
let issuer: TestIssuerServer;
let broker: ServedBroker;
let jobs = 0;

beforeAll(async () => {
  const role = (name: string, projectId: string) =>
    `role: ${name}\nissuer: gitlab\nmax_ttl: 5m\nallow:\n  - project_id: "${projectId}"\n    namespace_id: "7"\n    ref: main\ngrants:\n  - type: secret\n    name: API_KEY\n  - type: secret\n    name: TLS_KEY\n`;
  fixture = await startE2eBroker({
    name: 'gitlab',
    issuerName: 'gitlab',
    audience: AUD,
    // dotenv refuses multi-line values (a line of a value must never read as a line of the file): the dotenv
    // job uses a role whose secret is one line.
    roles: {
      deploy: role('deploy', '42'),
      locked: role('locked', '9'),
      oneline: role('oneline', '42').replace(/ {2}- type: secret\n {4}name: TLS_KEY\n$/, ''),
    },
    secrets: { API_KEY, TLS_KEY },
  });
  ({ dir, key, issuer, broker } = fixture);
}, 60_000);

afterAll(async () => {
  await fixture?.close();
});

/** The component as GitLab sees it: the spec header, then the jobs with `$[[ inputs.x ]]` replaced. */
function loadComponent(inputs: Record<string, string>): { spec: Spec['spec']; job: HiddenJob; jobs: Record<string, HiddenJob> } {
  const text = readFileSync(TEMPLATE, 'utf8');
  const [header, body] = text.split(/^---$/m);
  const spec = (parseAllDocuments(`${header}`)[0]!.toJS() as Spec).spec;
  const values: Record<string, string> = {};
  for (const [name, def] of Object.entries(spec.inputs)) {
    const value = inputs[name] ?? def.default;
    if (value === undefined) throw new Error(`input ${name} is required`);
    if (def.options && !def.options.includes(value)) throw new Error(`input ${name}: ${value} is not one of ${def.options.join(', ')}`);
    if (def.regex && !new RegExp(def.regex).test(value)) throw new Error(`input ${name}: ${value} does not match ${def.regex}`);
    values[name] = value;
  }
  const interpolated = body!.replace(/\$\[\[\s*inputs\.([a-z0-9_]+)\s*\]\]/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`unknown input ${name}`);
    return values[name]!;
  });
  const docs = parseAllDocuments(interpolated);
  expect(docs).toHaveLength(1);
  const jobs = docs[0]!.toJS() as Record<string, HiddenJob>;
  return { spec, job: jobs[values.job_name ?? '.secret-broker']!, jobs };
}

interface JobRun {
  code: number | null;
  log: string;
  env: Record<string, string>;
  projectDir: string;
  tmp: string;
  after: { code: number | null; log: string };
}

/** Runs a job `extends: .secret-broker` whose script dumps its environment to a file outside the log. */
async function runJob(
  inputs: Record<string, string>,
  opts: { token?: string; extraScript?: string[]; path?: string } = {},
): Promise<JobRun> {
  const { job } = loadComponent(inputs);
  const id = String(1000 + ++jobs);
  const projectDir = join(dir, `builds/acme/web-${id}`);
  const tmp = join(dir, `tmp-${id}`);
  mkdirSync(projectDir, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  const dump = join(dir, `env-${id}`);
  const tokenVar = Object.keys(job.id_tokens)[0]!;
  const aud = job.id_tokens[tokenVar]!.aud;
  const env: Record<string, string> = {
    PATH: opts.path ?? process.env.PATH ?? '',
    HOME: tmp,
    TMPDIR: tmp,
    CI: 'true',
    GITLAB_CI: 'true',
    CI_JOB_ID: id,
    CI_PIPELINE_ID: '77',
    CI_PROJECT_DIR: projectDir,
    CI_PROJECT_ID: '42',
    CI_PROJECT_PATH: 'acme/web',
    CI_COMMIT_REF_NAME: 'main',
    CI_SERVER_URL: 'https://gitlab.example.com',
    CI_SERVER_FQDN: 'gitlab.example.com',
    CI_JOB_TOKEN: 'job-token-not-for-the-broker',
    ...job.variables,
    [tokenVar]: opts.token ?? (await signTestToken(key, { iss: issuer.url, aud, ...CLAIMS })),
  };
  const userScript = [...(opts.extraScript ?? []), `env -0 > ${JSON.stringify(dump)}`];
  const main = await bash([...job.before_script, ...userScript], env, projectDir);
  const after = await bash(job.after_script, { ...env, [tokenVar]: '' }, projectDir);
  const dumped = existsSync(dump) ? readFileSync(dump, 'utf8') : '';
  const jobEnv = Object.fromEntries(
    dumped
      .split('\0')
      .filter(Boolean)
      .map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
  return { code: main.code, log: main.log, env: jobEnv, projectDir, tmp, after };
}

/** Like the runner's bash shell: `set -eo pipefail`, each command echoed as `$ command` before it runs. */
function bash(commands: string[], env: Record<string, string>, cwd: string): Promise<{ code: number | null; log: string }> {
  const script = ['set -eo pipefail', ...commands.flatMap((c) => [`printf '%s\\n' ${shellQuote(`$ ${c.split('\n')[0]}`)}`, c])].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { env, cwd, stdio: 'pipe' });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, log }));
  });
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const cli = `${process.execPath} ${CLI}`;
const baseInputs = () => ({ broker_url: broker.url, role: 'deploy', audience: AUD, cli });

function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

describe('the GitLab component', () => {
  it('declares spec inputs broker_url, role, audience, format and a hidden job with id_tokens', () => {
    const { spec, job } = loadComponent({ broker_url: 'https://b', role: 'r', audience: 'https://aud' });
    expect(Object.keys(spec.inputs)).toEqual(expect.arrayContaining(['broker_url', 'role', 'audience', 'format']));
    expect(spec.inputs.format).toMatchObject({ default: 'env', options: ['env', 'dotenv', 'json'] });
    for (const required of ['broker_url', 'role', 'audience']) expect(spec.inputs[required]!.default).toBeUndefined();
    expect(job.id_tokens).toEqual({ SECRET_BROKER_ID_TOKEN: { aud: 'https://aud' } });
    expect(job.variables).toMatchObject({ SECRET_BROKER_URL: 'https://b', SECRET_BROKER_ROLE: 'r', SECRET_BROKER_FORMAT: 'env' });
    // Inputs are only ever interpolated into variables and id_tokens, never into shell code.
    const body = readFileSync(TEMPLATE, 'utf8').split(/^---$/m)[1]!;
    expect(body.slice(body.indexOf('before_script:'))).not.toContain('$[[');
  });

  it('format env: the credentials are in the job environment, not in the log, the project or the temp dir', async () => {
    const job = await runJob(baseInputs());
    expect(job.code, job.log).toBe(0);
    expect(job.env.API_KEY).toBe(API_KEY);
    expect(job.env.TLS_KEY).toBe(TLS_KEY);
    expect(job.env.SECRET_BROKER_ID_TOKEN).toBeUndefined();
    expect(job.log).toMatch(/secret-broker exchange: role "deploy" granted secret API_KEY, secret TLS_KEY \(request id [0-9A-Z]{26}/);
    for (const v of VALUES) expect(job.log).not.toContain(v);
    expect(filesUnder(job.projectDir)).toEqual([]);
    expect(readdirSync(job.tmp)).toEqual([]);
    expect(job.after.code).toBe(0);
  });

  it('format dotenv: a private file outside the project directory, removed by after_script', async () => {
    const file = join(dir, 'seen-file');
    const job = await runJob(
      { ...baseInputs(), role: 'oneline', format: 'dotenv' },
      {
        extraScript: [
          `printf '%s' "$SECRET_BROKER_CREDENTIALS_FILE" > ${JSON.stringify(file)}`,
          'cp "$SECRET_BROKER_CREDENTIALS_FILE" "$SECRET_BROKER_CREDENTIALS_FILE.seen"',
        ],
      },
    );
    expect(job.code, job.log).toBe(0);
    const path = readFileSync(file, 'utf8');
    expect(path.startsWith(job.tmp)).toBe(true);
    expect(path.startsWith(job.projectDir)).toBe(false);
    for (const v of VALUES) expect(job.log).not.toContain(v);
    expect(job.env.API_KEY).toBeUndefined();
    expect(filesUnder(job.projectDir)).toEqual([]);
    // after_script removed the directory, including what the job copied next to the file.
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(job.tmp)).toEqual([]);
  });

  it('the file is private (0600 in a 0700 directory) while the job runs', async () => {
    const modes = join(dir, 'modes');
    const job = await runJob(
      { ...baseInputs(), format: 'json' },
      {
        extraScript: [
          `stat -c '%a %a' "$(dirname "$SECRET_BROKER_CREDENTIALS_FILE")" "$SECRET_BROKER_CREDENTIALS_FILE" > ${JSON.stringify(modes)}`,
          'umask > "$HOME/umask"',
        ],
      },
    );
    expect(job.code, job.log).toBe(0);
    expect(readFileSync(modes, 'utf8').split(/\s+/).filter(Boolean)).toEqual(['700', '700', '600', '600']);
    // The job's own umask is restored after the exchange.
    expect(readFileSync(join(job.tmp, 'umask'), 'utf8').trim()).not.toBe('0077');
    expect(statSync(job.tmp).isDirectory()).toBe(true);
  });

  it('a denied role fails the job with the code and request id, and nothing is sourced', async () => {
    const job = await runJob({ ...baseInputs(), role: 'locked' });
    expect(job.code).toBe(1);
    expect(job.log).toMatch(/ERR_ACCESS_DENIED, HTTP 403, request id [0-9A-Z]{26}/);
    expect(job.env).toEqual({});
    expect(job.after.code).toBe(0);
    expect(readdirSync(job.tmp)).toEqual([]);
  });

  it('a job traced with set -x still does not print a value', async () => {
    const { job } = loadComponent(baseInputs());
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: join(dir, 'tmp-trace'),
      TMPDIR: join(dir, 'tmp-trace'),
      CI_JOB_ID: '9999',
      CI_PROJECT_DIR: join(dir, 'builds/trace'),
      ...job.variables,
      SECRET_BROKER_ID_TOKEN: await signTestToken(key, { iss: issuer.url, aud: AUD, ...CLAIMS }),
    };
    mkdirSync(env.TMPDIR, { recursive: true });
    mkdirSync(env.CI_PROJECT_DIR, { recursive: true });
    // The job's own traced lines expand what they use; the component's lines must not.
    const run = await bash(['set -x', ...job.before_script, 'test -n "${API_KEY:+set}"'], env, env.CI_PROJECT_DIR);
    expect(run.code, run.log).toBe(0);
    for (const v of VALUES) expect(run.log).not.toContain(v);
    expect(run.log).toMatch(/\+ test -n set/);
  });
});

describe('the GitLab component without a checkout or npm: the pinned single-file client', () => {
  let client: string;
  let server: Server;
  let base: string;
  let served: Record<string, string>;
  let fetched: string[];

  beforeAll(async () => {
    client = (await buildPackage())[`dist/${CLIENT_FILE}`]!;
    served = { [`/v${packageVersion()}/${CLIENT_FILE}`]: client, '/tampered.mjs': `${client}\n// changed\n` };
    fetched = [];
    // Stands in for the release's download URL (or a mirror): loopback only.
    server = createServer((req, res) => {
      fetched.push(req.url ?? '');
      const body = served[req.url ?? ''];
      res.writeHead(body === undefined ? 404 : 200).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
  });

  // The job's PATH has the system's Node (20 here) and coreutils, nothing from this repository.
  const systemPath = '/usr/bin:/bin';
  const inputs = () => ({ broker_url: broker.url, role: 'deploy', audience: AUD });

  it('pins this version and the SHA-256 of the client this build makes, and defaults to a Node image', () => {
    const { spec, job } = loadComponent(inputs());
    expect(spec.inputs.version!.default).toBe(packageVersion());
    expect(spec.inputs.client_sha256!.default).toBe(sha256(client));
    expect(spec.inputs.cli!.default).toBe('');
    expect(job.image).toMatch(/^node:\d+/);
    // No install step: the job downloads one file and runs it.
    expect(job.before_script.join('\n')).not.toMatch(/npm (ci|install)/);
  });

  it('two includes with different job_name inputs give two jobs that do not override each other', () => {
    const staging = loadComponent({ ...inputs(), job_name: '.secret-broker-staging', role: 'deploy-staging' });
    const prod = loadComponent({ ...inputs(), job_name: '.secret-broker-prod', role: 'deploy-prod' });
    expect(Object.keys(staging.jobs)).toEqual(['.secret-broker-staging']);
    expect(Object.keys(prod.jobs)).toEqual(['.secret-broker-prod']);
    expect(staging.job.variables.SECRET_BROKER_ROLE).toBe('deploy-staging');
    expect(prod.job.variables.SECRET_BROKER_ROLE).toBe('deploy-prod');
    // A job name is a key, never YAML: anything else is refused by the input's regex.
    for (const bad of ['.x: {}\ny', 'a b', '', '.x:', 'a\n  script: [id]'])
      expect(() => loadComponent({ ...inputs(), job_name: bad })).toThrow(/does not match/);
  });

  it('downloads the pinned client, checks its SHA-256 and runs it on the system Node: credentials in the job', async () => {
    fetched.length = 0;
    const url = `${base}/v${packageVersion()}/${CLIENT_FILE}`;
    const job = await runJob({ ...inputs(), client_url: url }, { path: systemPath });
    expect(job.code, job.log).toBe(0);
    expect(fetched).toEqual([`/v${packageVersion()}/${CLIENT_FILE}`]);
    expect(job.env.API_KEY).toBe(API_KEY);
    expect(job.env.TLS_KEY).toBe(TLS_KEY);
    expect(job.log).toMatch(/secret-broker exchange: role "deploy" granted secret API_KEY, secret TLS_KEY/);
    for (const v of VALUES) expect(job.log).not.toContain(v);
    expect(filesUnder(job.projectDir)).toEqual([]);
    expect(readdirSync(job.tmp)).toEqual([]);
  });

  it('a client whose SHA-256 is not the pinned one is never run', async () => {
    const job = await runJob({ ...inputs(), client_url: `${base}/tampered.mjs` }, { path: systemPath });
    expect(job.code).toBe(1);
    expect(job.log).toContain('is not the pinned client (SHA-256 differs from client_sha256); refusing to run it');
    expect(job.log).not.toContain('granted');
    expect(job.env).toEqual({});
    expect(readdirSync(job.tmp)).toEqual([]);
  });

  it('a download that fails stops the job with the URL and the reason', async () => {
    const job = await runJob({ ...inputs(), client_url: `${base}/missing.mjs` }, { path: systemPath });
    expect(job.code).toBe(1);
    expect(job.log).toContain(`secret-broker: cannot download the client from ${base}/missing.mjs: HTTP 404`);
    expect(job.env).toEqual({});
  });
});
