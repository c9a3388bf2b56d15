// The CLI as a person at a terminal meets it: --version, help for every group, output into `head`, week
// durations, and `audit list --role a,b` meaning either role (never a silently empty list).
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signTestToken } from '../../cli/lib/test-issuer.ts';
import { VERSION } from '../../broker/src/version.ts';
import { startE2eBroker, type E2eBroker } from '../helpers/e2e-broker.ts';
import { CLI, ROOT, runCli } from '../helpers/processes.ts';

const AUD = 'https://broker.cli.test';
let fixture: E2eBroker;

beforeAll(async () => {
  const role = (name: string) =>
    `role: ${name}\nissuer: ci\nmax_ttl: 5m\nallow:\n  - repository_id: "42"\ngrants:\n  - type: secret\n    name: API_KEY\n`;
  fixture = await startE2eBroker({
    name: 'cli',
    issuerName: 'ci',
    audience: AUD,
    roles: { alpha: role('alpha'), beta: role('beta'), gamma: role('gamma') },
    secrets: { API_KEY: 'cli-usability-value' },
  });
  for (const r of ['alpha', 'beta', 'gamma']) {
    const token = await signTestToken(fixture.key, { iss: fixture.issuer.url, aud: AUD, sub: 'repo:acme/app', repository_id: '42' });
    const res = await fetch(`${fixture.broker.url}/v1/exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, role: r }),
    });
    expect(res.status).toBe(200);
  }
}, 60_000);

afterAll(async () => {
  await fixture?.close();
});

const store = () => ['--data', fixture.data, '--policies', fixture.policies];

describe('secret-broker at a terminal', () => {
  it('--version prints the version', async () => {
    expect(await runCli(['--version'])).toMatchObject({ code: 0, stdout: `secret-broker ${VERSION}\n` });
  });

  it('<group> --help lists the group for every group (policy, audit, secret, keys), exit 0; a bare group is a usage error', async () => {
    for (const group of ['policy', 'audit', 'secret', 'keys']) {
      const help = await runCli([group, '--help']);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: secret-broker ${group} <command>`));
      expect(help.stdout).toContain(`  ${group} list`.replace('policy list', 'policy check'));
      expect((await runCli(['help', group])).stdout).toBe(help.stdout);
      const bare = await runCli([group]);
      expect(bare.code).toBe(2);
      expect(bare.stdout).toBe(help.stdout);
    }
  });

  it('output piped into a reader that stops early ends quietly (no EPIPE stack trace)', () => {
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI}" --help | true; echo "status=$?" >&2`], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.stderr).toMatch(/^status=(0|141)\n$/);
  });

  it('audit list --role a,b lists the records of either role', async () => {
    const rolesOf = async (role: string) => {
      const r = await runCli(['audit', 'list', '--role', role, '--json', ...store()]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { record: { role: string } }).record.role);
    };
    expect(await rolesOf('alpha,beta')).toEqual(['alpha', 'beta']);
    expect(await rolesOf('gamma')).toEqual(['gamma']);
    expect(await rolesOf('beta,gamma,alpha')).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('audit list --role refuses a list with an empty or malformed name instead of matching nothing', async () => {
    for (const bad of ['alpha,,beta', 'alpha, beta', 'alpha,', ',', 'Alpha']) {
      const r = await runCli(['audit', 'list', '--role', bad, ...store()]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/--role "[^"]*" /);
    }
  });

  it('audit list --claim KEY=PATTERN filters on one identity key as records store it; a key no identity holds is a usage error', async () => {
    const count = async (claim: string) => {
      const r = await runCli(['audit', 'list', '--claim', claim, '--json', ...store()]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim().split('\n').filter(Boolean).length;
    };
    expect(await count('repository_id=4*')).toBe(3);
    expect(await count('repository_id=43')).toBe(0);
    expect(await count('/kubernetes.io/namespace=*')).toBe(0);
    for (const bad of ['/__proto__=*', '/../record=*', 'repository_id', 'repository_id=']) {
      const r = await runCli(['audit', 'list', '--claim', bad, ...store()]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/--claim must be KEY=PATTERN/);
    }
  });

  it('durations take weeks and days: --since 2w and 14d find the records, 2x is refused', async () => {
    for (const since of ['2w', '14d', '1w2d', '1h']) {
      const r = await runCli(['audit', 'list', '--since', since, '--json', ...store()]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(3);
    }
    const bad = await runCli(['audit', 'list', '--since', '2x', ...store()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/neither a duration like 24h, 7d or 2w nor an ISO time/);
  });
});
