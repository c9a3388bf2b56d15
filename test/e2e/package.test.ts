// The package as a user gets it: the release files (the same script the release workflow runs), the tarball
// installed into a temporary prefix outside the repository with nothing fetched, the client commands run by
// the system Node (20 here) and `serve` by Node 24, and the README's two-minute demo pasted as one block.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateIssuerKey, serveTestIssuer, signTestToken, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';
import { CLIENT_FILE, packageVersion, sha256, TEMPLATE } from '../../scripts/build-package.ts';
import { releaseArtifacts } from '../../scripts/release-artifacts.ts';
import { ROOT } from '../helpers/processes.ts';
import { freePort } from '../helpers/ports.ts';
import { type InstalledServer, startInstalled } from '../helpers/installed.ts';

const VERSION = packageVersion();
const NODE24 = process.execPath;

/** The first `node` on PATH that is not npm's (node_modules/.bin, the node@24 devDependency): the system's. */
function systemNode(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.includes('node_modules')) continue;
    try {
      accessSync(join(dir, 'node'), constants.X_OK);
      return join(dir, 'node');
    } catch {}
  }
  throw new Error('no system node on PATH');
}
const NODE_SYSTEM = systemNode();

let dir: string;
let files: Awaited<ReturnType<typeof releaseArtifacts>>;
let prefix: string;
let bin: string;
let work: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Asynchronous, for commands that reach the issuer this test process serves (spawnSync would block it). */
function runAsync(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: work,
      env: { PATH: '/usr/bin:/bin', HOME: work, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function run(node: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}): Run {
  const r = spawnSync(node, [bin, ...args], {
    cwd: work,
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', HOME: work, ...opts.env },
    input: opts.input ?? '',
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-package-'));
  work = join(dir, 'work');
  mkdirSync(work);
  prefix = join(dir, 'prefix');
  files = await releaseArtifacts(join(dir, 'release'), `v${VERSION}`);
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the release files (scripts/release-artifacts.ts, as the release workflow runs it)', () => {
  it('the tarball ships only the built JavaScript, the README and package.json: no sources, no secrets', () => {
    const list = execFileSync('tar', ['tzf', files.tarball], { encoding: 'utf8' }).trim().split('\n').sort();
    for (const f of list) expect(f).toMatch(/^package\/(dist\/.+\.(js|mjs)|dist\/SHA256SUMS|README\.md|LICENSE|package\.json)$/);
    expect(list).toContain('package/dist/cli/bin.js');
    expect(list).toContain(`package/dist/${CLIENT_FILE}`);
    const pkg = JSON.parse(execFileSync('tar', ['xzOf', files.tarball, 'package/package.json'], { encoding: 'utf8' }));
    expect(pkg.private).toBeUndefined();
    expect(pkg.bin).toEqual({ 'secret-broker': 'dist/cli/bin.js' });
    expect(pkg.engines.node).toMatch(/^>=20/);
    // Everything is bundled: installing resolves nothing, so nothing can float between releases.
    expect(pkg.dependencies).toBeUndefined();
  });

  it('SHA256SUMS checks with sha256sum -c and names the client the GitLab component pins', () => {
    const check = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dirname(files.sums), encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const sums = readFileSync(files.sums, 'utf8');
    expect(sums).toContain(`  secret-broker-${VERSION}.tgz\n`);
    const hash = sha256(readFileSync(files.client));
    expect(sums).toContain(`${hash}  ${CLIENT_FILE}\n`);
    const template = readFileSync(TEMPLATE, 'utf8');
    expect(template).toContain(`      default: ${hash}\n`);
    expect(template).toContain(`      default: "${VERSION}"\n`);
  });

  it('the single-file client imports Node built-ins only', () => {
    const text = readFileSync(files.client, 'utf8');
    const specifiers = [...text.matchAll(/(?:^|\n)import\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)].map(
      (m) => m[1] ?? m[2],
    );
    expect(specifiers.length).toBeGreaterThan(0);
    for (const s of specifiers) expect(s).toMatch(/^node:/);
  });

  it('a tag that is not v<package.json version> is refused', async () => {
    await expect(releaseArtifacts(join(dir, 'release-bad'), 'v99.0.0')).rejects.toThrow(/does not match package.json version/);
  });
});

describe('installed from the tarball into a prefix outside the repository', () => {
  let issuer: TestIssuerServer;
  let broker: InstalledServer | undefined;

  beforeAll(() => {
    // --offline: nothing may come from a registry (and the bundled package needs nothing).
    const install = spawnSync(
      'npm',
      ['install', '-g', '--prefix', prefix, files.tarball, '--offline', '--ignore-scripts', '--no-audit', '--no-fund'],
      { cwd: work, encoding: 'utf8' },
    );
    if (install.status !== 0) throw new Error(`npm install failed:\n${install.stderr}`);
    bin = join(prefix, 'bin/secret-broker');
  }, 60_000);

  afterAll(async () => {
    await broker?.stop();
    await issuer?.close();
  });

  it(`the system Node (${process.env.CI ? '' : 'here '}not 24) runs --version, group help and policy check`, () => {
    expect(execFileSync(NODE_SYSTEM, ['--version'], { encoding: 'utf8' })).not.toMatch(/^v24\./);
    const version = run(NODE_SYSTEM, ['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `secret-broker ${VERSION}\n` });
    // The bin's shebang finds whatever node is on PATH: here the system's.
    const viaPath = spawnSync(bin, ['--version'], { cwd: work, encoding: 'utf8', env: { PATH: `${dirname(NODE_SYSTEM)}:/usr/bin:/bin` } });
    expect(viaPath.stdout).toBe(`secret-broker ${VERSION}\n`);
    for (const group of ['policy', 'audit', 'secret', 'keys']) {
      const help = run(NODE_SYSTEM, [group, '--help']);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toContain(`Usage: secret-broker ${group} <command>`);
    }
    cpSync(join(ROOT, 'policies'), join(work, 'policies'), { recursive: true });
    const check = run(NODE_SYSTEM, ['policy', 'check']);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^policy OK: 2 issuer\(s\), 3 role\(s\)/);
    expect(run(NODE_SYSTEM, ['policy', 'test']).stdout).toMatch(/16 passed, 0 failed/);
  });

  it('on the system Node a store command says in one line which Node it needs, and exits 1', () => {
    for (const args of [['serve'], ['secret', 'list'], ['audit', 'list'], ['keys', 'list']]) {
      const r = run(NODE_SYSTEM, args);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `secret-broker ${args.join(' ')}: needs Node 22.13 or later (for node:sqlite); this is Node ${execFileSync(NODE_SYSTEM, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()}\n`,
      );
    }
  });

  it('output piped into a reader that stops does not crash (EPIPE)', () => {
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${NODE_SYSTEM}" "${bin}" --help | true; echo "status=$?" >&2`], {
      cwd: work,
      encoding: 'utf8',
    });
    expect(r.stderr).toMatch(/^status=(0|141)\n$/);
  });

  it('Node 24 runs serve; the system Node exchanges against it and verifies an audit export with --file', async () => {
    const { key } = await loadOrCreateIssuerKey(join(dir, 'issuer-key.json'));
    issuer = await serveTestIssuer(key);
    const policies = join(work, 'exchange-policies');
    mkdirSync(join(policies, 'roles'), { recursive: true });
    writeFileSync(join(policies, 'issuers.yaml'), `issuers:\n  ci:\n    url: ${issuer.url}\n    audience: https://broker.package.test\n`);
    writeFileSync(
      join(policies, 'roles/app.yaml'),
      'role: app\nissuer: ci\nmax_ttl: 5m\nallow:\n  - repository_id: "42"\ngrants:\n  - type: secret\n    name: APP_TOKEN\n',
    );
    const data = join(work, 'data');
    const put = run(NODE24, ['secret', 'put', 'APP_TOKEN', '--policies', policies, '--data', data], { input: 'package-test-value\n' });
    expect(put.code, put.stderr).toBe(0);

    broker = await serve(['--dev', '--policies', policies, '--data', data]);
    const token = await signTestToken(key, {
      iss: issuer.url,
      aud: 'https://broker.package.test',
      sub: 'repo:acme/app',
      repository_id: '42',
    });
    const exchange = await runAsync(NODE_SYSTEM, [bin, 'exchange', '--broker', broker.url, '--role', 'app', '--format', 'dotenv'], {
      SECRET_BROKER_ID_TOKEN: token,
    });
    expect(exchange.code, exchange.stderr + broker.logs()).toBe(0);
    expect(exchange.stdout).toBe("APP_TOKEN='package-test-value'\n");
    expect(exchange.stderr).toMatch(/role "app" granted secret APP_TOKEN/);

    // The single-file client, run by the system Node from anywhere, behaves the same (a fresh token).
    const token2 = await signTestToken(key, {
      iss: issuer.url,
      aud: 'https://broker.package.test',
      sub: 'repo:acme/app',
      repository_id: '42',
    });
    const single = await runAsync(NODE_SYSTEM, [files.client, 'exchange', '--broker', broker.url, '--role', 'app', '--format', 'dotenv'], {
      SECRET_BROKER_ID_TOKEN: token2,
    });
    expect(single.code, single.stderr).toBe(0);
    expect(single.stdout).toBe("APP_TOKEN='package-test-value'\n");

    const exported = join(work, 'audit.jsonl');
    const exp = run(NODE24, ['audit', 'export', '--out', exported, '--policies', policies, '--data', data]);
    expect(exp.code, exp.stderr).toBe(0);
    const verify = run(NODE_SYSTEM, ['audit', 'verify', '--file', exported, '--jwks', `${broker.url}/.well-known/jwks.json`]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^audit chain OK: 2 record\(s\)/);
  });

  it("the README's two-minute demo works pasted as one block, and a busy port is a clear error", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /<!-- demo: [^\n]*-->\n```sh\n([\s\S]*?)\n```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    // Free ports instead of 8787/8788: other tests run in parallel on this machine.
    const [brokerPort, issuerPort] = [await freePort(), await freePort()];
    const script = block!.replaceAll('8787', String(brokerPort)).replaceAll('8788', String(issuerPort));
    const demo = join(dir, 'demo');
    mkdirSync(demo);
    // As a user's shell: the installed bin first on PATH, with a Node that has node:sqlite.
    const env = { PATH: [join(prefix, 'bin'), dirname(NODE24), '/usr/bin', '/bin'].join(':'), HOME: demo };
    const out = await bash(script, demo, env);
    const pids = /stop them with: kill (\d+) (\d+)/.exec(out.stdout);
    try {
      expect(out.code, out.stdout + out.stderr).toBe(0);
      expect(out.stdout, out.stderr).toContain('hello from the broker');
      expect(out.stdout).toMatch(/audit chain OK: 1 record\(s\)/);
      expect(pids).not.toBeNull();
      const busy = spawnSync(bin, ['serve', '--dev', '--port', String(brokerPort), '--policies', 'demo'], {
        cwd: demo,
        encoding: 'utf8',
        env,
      });
      expect(busy.status).toBe(1);
      expect(busy.stderr).toContain(`secret-broker serve: 127.0.0.1:${brokerPort} is already in use`);
    } finally {
      // What the demo says to do.
      if (pids) spawnSync('kill', [pids[1]!, pids[2]!]);
    }
  });
});

function bash(script: string, cwd: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    // An interactive-like shell without job control; the background jobs outlive it until killed.
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    // The background processes keep the pipes open: settle on exit, not close.
    child.on('exit', (code) => setTimeout(() => resolve({ code, stdout, stderr }), 200));
  });
}

function serve(args: string[]): Promise<InstalledServer> {
  return startInstalled(NODE24, [bin, 'serve', '--port', '0', ...args], { cwd: work, env: { PATH: '/usr/bin:/bin', HOME: work } });
}
