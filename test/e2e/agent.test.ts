// `secret-broker agent` as a pod runs it: a real broker trusting a Kubernetes-shaped issuer by its inline JWKS
// (`kind: kubernetes`, `replay: reuse`), a projected token in a file that the agent presents again and again,
// files in an emptyDir-like directory, renewals under a reader that never stops reading, SIGTERM, and a
// broker that goes away.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicJwks, signTestToken, type IssuerKey } from '../../cli/lib/test-issuer.ts';
import { startE2eBroker, type E2eBroker } from '../helpers/e2e-broker.ts';
import { allTypesResponse, serveFakeBroker } from '../helpers/fake-broker.ts';
import { CLI, ROOT, runCli } from '../helpers/processes.ts';

const AUD = 'https://broker.agent.test';
const CLUSTER = 'https://kubernetes.default.svc.cluster.local';
const UID = '5c3a1f9e-2b7d-4e61-9a0c-7f1e2d3c4b5a';
const API_KEY = 'sk-agent-e2e-value-0001';
const DB_PASSWORD = 'pw-agent-e2e-value-0002';
/** The role's max_ttl: credentials live 4 s, so a renewal at 0.5 comes after about 2 s. */
const TTL_S = 4;

let fixture: E2eBroker;
let key: IssuerKey;
let dir: string;

beforeAll(async () => {
  const role = `role: app
issuer: cluster
max_ttl: ${TTL_S}s
allow:
  - /kubernetes.io/namespace: payments
    /kubernetes.io/serviceaccount/name: api
    /kubernetes.io/serviceaccount/uid: "${UID}"
grants:
  - type: secret
    name: API_KEY
  - type: secret
    name: DB_PASSWORD
`;
  fixture = await startE2eBroker({
    name: 'agent',
    issuerName: 'cluster',
    audience: AUD,
    roles: { app: role },
    secrets: { API_KEY, DB_PASSWORD },
    // A private cluster: no discovery, the API server's keys inline, one projected token reused by design.
    beforeServe: async ({ dir: d, key: k }) => {
      writeFileSync(
        join(d, 'policies/issuers.yaml'),
        `issuers:\n  cluster:\n    url: ${CLUSTER}\n    audience: ${AUD}\n    kind: kubernetes\n    algorithms: [RS256]\n    replay: reuse\n    jwks: ${JSON.stringify(publicJwks(k))}\n`,
      );
    },
  });
  ({ key, dir } = fixture);
}, 60_000);

afterAll(async () => {
  await fixture?.close();
});

let n = 0;
/** A projected service-account token in a file, as the kubelet writes it, and an empty --out directory. */
async function pod(overrides: { ns?: string; k8s?: Record<string, unknown> } = {}) {
  n += 1;
  const ns = overrides.ns ?? 'payments';
  const claims = {
    iss: CLUSTER,
    aud: AUD,
    sub: `system:serviceaccount:${ns}:api`,
    'kubernetes.io': overrides.k8s ?? {
      namespace: ns,
      pod: { name: `app-${n}`, uid: `pod-uid-${n}` },
      serviceaccount: { name: 'api', uid: UID },
    },
  };
  const tokenFile = join(dir, `token-${n}`);
  writeFileSync(tokenFile, await signTestToken(key, claims, { ttl: 3600 }), { mode: 0o600 });
  const out = join(dir, `out-${n}`);
  mkdirSync(out);
  return { tokenFile, out, args: ['agent', '--broker', fixture.broker.url, '--role', 'app', '--token-file', tokenFile, '--out', out] };
}

const noValues = (text: string) => {
  for (const v of [API_KEY, DB_PASSWORD]) expect(text).not.toContain(v);
};

interface Agent {
  child: ChildProcess;
  /** stderr lines with the time each arrived. */
  lines: { at: number; text: string }[];
  exited: Promise<number | null>;
}

function startAgent(args: string[]): Agent {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Agent['lines'] = [];
  let partial = '';
  child.stderr?.on('data', (d) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) lines.push({ at: Date.now(), text });
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, lines, exited };
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Another process that reads `files` back to back for `ms`, recording every read that was not the full value. */
function pollReader(files: Record<string, string>, ms: number): Promise<{ reads: number; bad: string[]; inodes: number }> {
  const script = `
const fs = require('node:fs');
const files = JSON.parse(process.argv[1]);
const end = Date.now() + Number(process.argv[2]);
let reads = 0; const bad = []; const inodes = new Set();
while (Date.now() < end) {
  for (const [path, want] of Object.entries(files)) {
    reads++;
    try {
      const fd = fs.openSync(path, 'r');
      inodes.add(fs.fstatSync(fd).ino);
      const got = fs.readFileSync(fd, 'utf8');
      fs.closeSync(fd);
      if (got !== want) bad.push(path + ': ' + got.length + ' chars');
    } catch (e) { bad.push(path + ': ' + e.code); }
  }
}
process.stdout.write(JSON.stringify({ reads, bad: bad.slice(0, 20), inodes: inodes.size }));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, JSON.stringify(files), String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', () => {
      try {
        resolve(JSON.parse(out) as { reads: number; bad: string[]; inodes: number });
      } catch (err) {
        reject(err);
      }
    });
  });
}

describe('secret-broker agent with a Kubernetes service-account token', () => {
  it('agent --once writes each value to DIR/<ENV_NAME> with mode 0400, leaves no temporary file, and exits 0', async () => {
    const p = await pod();
    const r = await runCli([...p.args, '--once']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(p.out).sort()).toEqual(['API_KEY', 'DB_PASSWORD']);
    for (const [name, value] of [
      ['API_KEY', API_KEY],
      ['DB_PASSWORD', DB_PASSWORD],
    ] as const) {
      const path = join(p.out, name);
      expect(statSync(path).mode & 0o777).toBe(0o400);
      expect(await import('node:fs/promises').then((fs) => fs.readFile(path, 'utf8'))).toBe(value);
    }
    expect(r.stderr).toMatch(
      /role "app" granted secret API_KEY, secret DB_PASSWORD \(request id [0-9A-Z]{26}, expires .*\); wrote 2 files/,
    );
    noValues(r.stderr + r.stdout);
    // The kubelet's token is presented again (replay: reuse): a second init container run with it works.
    expect((await runCli([...p.args, '--once', '--format', 'dotenv'])).code).toBe(0);
    expect(statSync(join(p.out, 'credentials.env')).mode & 0o777).toBe(0o400);
  });

  it('the role binds namespace, service account and uid: another namespace, a missing nested claim, or a uid mismatch is refused and writes nothing', async () => {
    const cases = [
      { ns: 'billing' },
      { k8s: { namespace: 'payments', serviceaccount: { name: 'api' } } },
      { k8s: { namespace: 'payments', serviceaccount: { name: 'api', uid: 'another-uid' } } },
      // The same names one level up (flattened) are other claims: a pointer reads the nested path only.
      { k8s: { namespace: 'payments', 'serviceaccount/name': 'api', 'serviceaccount/uid': UID } },
    ];
    for (const c of cases) {
      const p = await pod(c);
      const r = await runCli([...p.args, '--once']);
      expect(r.code, JSON.stringify(c)).toBe(1);
      expect(r.stderr).toMatch(/ERR_ACCESS_DENIED, HTTP 403, request id [0-9A-Z]{26}/);
      expect(readdirSync(p.out)).toEqual([]);
    }
  });

  it('the long-running agent renews before expiry, replaces files atomically under a polling reader, and removes them on SIGTERM', async () => {
    const p = await pod();
    const agent = startAgent([...p.args, '--refresh-at', '0.5']);
    const files = { [join(p.out, 'API_KEY')]: API_KEY, [join(p.out, 'DB_PASSWORD')]: DB_PASSWORD };
    await until(() => agent.lines.some((l) => l.text.includes('renewing in')), 15_000, 'the first write');
    // About three renewals of 4-second credentials while another process reads without pause.
    const reader = await pollReader(files, 6_500);
    expect(reader.bad).toEqual([]);
    expect(reader.reads).toBeGreaterThan(1000);
    // Each renewal put a new file (a new inode) in place of the old one.
    expect(reader.inodes).toBeGreaterThanOrEqual(4);

    const grants = agent.lines.filter((l) => l.text.includes('granted'));
    expect(grants.length).toBeGreaterThanOrEqual(3);
    // Every renewal arrived before the credentials it replaced expired.
    for (let i = 1; i < grants.length; i++) {
      const expires = Date.parse(/expires (\S+)\)/.exec(grants[i - 1]!.text)![1]!);
      expect(grants[i]!.at).toBeLessThan(expires);
    }
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(readdirSync(p.out)).toEqual([]);
    const log = agent.lines.map((l) => l.text).join('\n');
    expect(log).toMatch(/stopped; removed the files it wrote/);
    noValues(log);
  }, 30_000);

  it('--keep leaves the files in place on SIGTERM', async () => {
    const p = await pod();
    const agent = startAgent([...p.args, '--keep', '--format', 'json']);
    await until(() => agent.lines.some((l) => l.text.includes('renewing in')), 15_000, 'the first write');
    agent.child.kill('SIGINT');
    expect(await agent.exited).toBe(0);
    expect(readdirSync(p.out)).toEqual(['credentials.json']);
  });

  it('usage errors name the fix and exit 2: a missing token file, a missing --out directory, --refresh-at outside (0, 1), an unknown format', async () => {
    const p = await pod();
    const missingToken = await runCli([...p.args.slice(0, 5), '--token-file', join(dir, 'no-such-token'), '--out', p.out]);
    expect(missingToken.code).toBe(2);
    expect(missingToken.stderr).toMatch(/--token-file .*no-such-token: ENOENT: mount the projected service-account token there/);
    const missingOut = await runCli([...p.args.slice(0, 7), '--out', join(dir, 'no-such-dir')]);
    expect(missingOut.code).toBe(2);
    expect(missingOut.stderr).toMatch(/--out .*no-such-dir does not exist: create it, or mount a volume there/);
    for (const bad of ['0', '1', '1.5', '-0.2', 'abc', '']) {
      const r = await runCli([...p.args, `--refresh-at=${bad}`]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/--refresh-at must be a fraction .* between 0 and 1/);
    }
    expect((await runCli([...p.args, '--format', 'env'])).code).toBe(2);
    expect(readdirSync(p.out)).toEqual([]);
  });

  // Last: it stops the broker.
  it('exits non-zero once the credentials expired without renewal (the broker is gone), logging each failure without a value', async () => {
    const p = await pod();
    const agent = startAgent([...p.args, '--refresh-at', '0.5']);
    await until(() => agent.lines.some((l) => l.text.includes('renewing in')), 15_000, 'the first write');
    expect(existsSync(join(p.out, 'API_KEY'))).toBe(true);
    await fixture.broker.stop();
    const started = Date.now();
    expect(await agent.exited).toBe(3);
    expect(Date.now() - started).toBeLessThan(TTL_S * 1000 + 3_000);
    const log = agent.lines.map((l) => l.text);
    expect(
      log.filter((l) => /could not reach the broker \(ECONNREFUSED\).*; retrying in .* \(the current credentials expire at /.test(l))
        .length,
    ).toBeGreaterThanOrEqual(1);
    expect(log.some((l) => /expired at .* without renewal; removing the files and exiting/.test(l))).toBe(true);
    expect(readdirSync(p.out)).toEqual([]);
    noValues(log.join('\n'));
  }, 30_000);
});

describe('secret-broker agent and revocable credentials', () => {
  it('on SIGTERM the agent revokes the current request when it holds something revocable, with the token file; --keep revokes nothing', async () => {
    const body = allTypesResponse('01JAGENTREVOKE000000000000');
    for (const keep of [false, true]) {
      const fake = await serveFakeBroker({
        '/v1/exchange': [{ status: 200, body }],
        '/v1/revoke': [
          { status: 200, body: { request_id: 'r', revoked_request_id: body.request_id, revoked: [{ type: 'github', ok: true }] } },
        ],
      });
      try {
        const tokenFile = join(dir, `fake-token-${keep}`);
        writeFileSync(tokenFile, 'header.payload.signature\n');
        const out = join(dir, `fake-out-${keep}`);
        mkdirSync(out);
        const agent = startAgent([
          'agent',
          '--broker',
          fake.url,
          '--role',
          'deploy',
          '--token-file',
          tokenFile,
          '--out',
          out,
          ...(keep ? ['--keep'] : []),
        ]);
        await until(() => agent.lines.some((l) => l.text.includes('renewing in')), 15_000, 'the first write');
        expect(readdirSync(out)).toContain('GH_TOKEN');
        agent.child.kill('SIGTERM');
        expect(await agent.exited).toBe(0);
        const revokes = fake.requests.filter((r) => r.path === '/v1/revoke');
        if (keep) {
          expect(revokes).toEqual([]);
          expect(readdirSync(out)).toContain('GH_TOKEN');
        } else {
          expect(revokes.map((r) => r.body)).toEqual([{ token: 'header.payload.signature', request_id: body.request_id }]);
          expect(readdirSync(out)).toEqual([]);
          expect(agent.lines.map((l) => l.text).join('\n')).toMatch(/revoked github of request 01JAGENTREVOKE000000000000/);
        }
        expect(agent.lines.map((l) => l.text).join('\n')).not.toContain('ghs_fakeGitHubInstallationToken0001');
      } finally {
        await fake.close();
      }
    }
  }, 30_000);
});
