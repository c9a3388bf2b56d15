// `secret-broker audit report` (issue 19) on a seeded data folder: the broker's own stores (sqlite), records
// of the last months appended through its auditor, secrets put and rotated at known times, a signing-key
// rotation, a checkpoint; then the CLI as a process, and every section of its JSON checked against the seed.
// The HTML form is loaded in Chromium, which must fetch nothing but the page (test-results/audit-report.png).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNodeBroker, type NodeBroker } from '../../broker/entry/node.ts';
import type { AuditRecord } from '../../broker/src/audit/record.ts';
import { runCli } from '../helpers/processes.ts';

const DAY = 86_400_000;
const NOW = Date.now();
const OLD_HASH = 'b'.repeat(64);
const CHROMIUM = '/usr/bin/chromium';
const OUT = resolve(import.meta.dirname, '../../test-results');

let dir: string;
let pol: string;
let data: string;
let broker: NodeBroker;
let n = 0;

function record(daysAgo: number, over: Partial<AuditRecord> & { repo?: string; workflow?: string }): AuditRecord {
  const { repo = 'acme/web', workflow = 'acme/ci/.github/workflows/deploy.yml@refs/heads/main', ...rest } = over;
  const ok = (rest.decision ?? 'allow') === 'allow';
  return {
    time: new Date(NOW - daysAgo * DAY).toISOString(),
    request_id: `01REPORT${String(++n).padStart(18, '0')}`,
    action: 'exchange',
    decision: 'allow',
    code: 'OK',
    reason: 'allowed',
    status: 200,
    role: 'deploy-web-prod',
    issuer: 'https://token.actions.githubusercontent.com',
    subject: `repo:${repo}:environment:production`,
    identity: { repository: repo, repository_id: '42', ref: 'refs/heads/main', job_workflow_ref: workflow, actor: 'carol' },
    jti: `jti-${n}`,
    token_sha256: 'a'.repeat(64),
    client_ip: '192.0.2.1',
    user_agent: 'secret-broker-action/1.0',
    credentials: ok ? [{ type: 'aws', target: 'arn:aws:iam::111122223333:role/web-prod' }] : [],
    policy_hash: broker.deps.policy().hash,
    ...rest,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-report-'));
  pol = join(dir, 'policies');
  data = join(dir, 'data');
  mkdirSync(join(pol, 'roles'), { recursive: true });
  writeFileSync(
    join(pol, 'issuers.yaml'),
    'issuers:\n  github:\n    url: https://token.actions.githubusercontent.com\n    audience: https://broker.report.test\n',
  );
  for (const role of ['deploy-web-prod', 'read-config', 'dormant-role'])
    writeFileSync(
      join(pol, `roles/${role}.yaml`),
      `role: ${role}\nissuer: github\nmax_ttl: 10m\nallow:\n  - repository_id: "42"\n    repository_owner_id: "7"\ngrants:\n  - type: secret\n    name: DB_URL\n`,
    );
  broker = await buildNodeBroker({ policiesDir: pol, dataDir: data, env: {}, dev: true, log: () => {} });
  const s = (daysAgo: number) => Math.floor((NOW - daysAgo * DAY) / 1000);
  // Rotation policies: OLD_KEY is past its 90 days; DB_URL's 30 days carry forward to v2 and v3 (5 days old).
  await broker.vault.put('OLD_KEY', 'v', s(200), { maxAge: 90 * 86_400 });
  await broker.vault.put('DB_URL', 'v1', s(120), { maxAge: 30 * 86_400 });
  await broker.vault.put('DB_URL', 'v2', s(30));
  await broker.vault.put('DB_URL', 'v3', s(5));
  await broker.vault.put('NEW_TOKEN', 'v', s(10));
  await broker.issuer.ensureKey();
  await broker.issuer.rotate(3600);

  const seed: AuditRecord[] = [
    // Outside the 90-day window: not in the report.
    record(120, { repo: 'acme/legacy', policy_hash: OLD_HASH }),
    record(100, { role: 'dormant-role', policy_hash: OLD_HASH }),
    // In the window, under an older policy, then the current one.
    record(80, { policy_hash: OLD_HASH }),
    record(60, { workflow: 'acme/ci/.github/workflows/hotfix.yml@refs/heads/main' }),
    record(40, { repo: 'acme/api', workflow: 'acme/api/.github/workflows/release.yml@refs/tags/v2' }),
    record(30, { repo: 'contractor/fork', decision: 'deny', code: 'ERR_ACCESS_DENIED', reason: 'policy.no_allow_matched', status: 403 }),
    record(20, { repo: 'contractor/fork', decision: 'deny', code: 'ERR_ACCESS_DENIED', reason: 'policy.no_allow_matched', status: 403 }),
    record(15, { decision: 'deny', code: 'ERR_UPSTREAM', reason: 'aws.http_403:AccessDenied', status: 502 }),
    record(12, { role: 'read-config', decision: 'deny', code: 'ERR_ACCESS_DENIED', reason: 'policy.deny_matched', status: 403 }),
    record(3, {}),
    record(2, { action: 'admin_query', role: null, credentials: [], reason: 'done' }),
  ];
  for (const r of seed) await broker.deps.auditor.append(r);
  await broker.checkpointer.checkpointNow();
  await broker.deps.auditor.append(record(0.5, {}));
  broker.close();
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const report = (...args: string[]) => runCli(['audit', 'report', '--data', data, '--policies', pol, ...args]);

describe('secret-broker audit report', () => {
  it('--format json carries every section with counts that match the seed', async () => {
    const run = await report('--since', '90d', '--format', 'json');
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    const s = r.sections;
    expect(r.window.records).toBe(10);

    const web = s.access_review.roles.find((x: any) => x.role === 'deploy-web-prod');
    expect(web).toMatchObject({ requests: 8, allowed: 5, denied: 2, errors: 1, in_policy: true });
    expect(web.first_use).toBe(new Date(NOW - 80 * DAY).toISOString());
    expect(web.last_use).toBe(new Date(NOW - 0.5 * DAY).toISOString());
    expect(web.identities.map((i: any) => [i.identity, i.allowed, i.denied, i.errors])).toEqual([
      ['acme/web', 4, 0, 1],
      ['contractor/fork', 0, 2, 0],
      ['acme/api', 1, 0, 0],
    ]);
    expect(web.identities[0].workflows).toEqual([
      'acme/ci/.github/workflows/deploy.yml@refs/heads/main',
      'acme/ci/.github/workflows/hotfix.yml@refs/heads/main',
    ]);
    expect(web.credentials).toEqual([{ type: 'aws', target: 'arn:aws:iam::111122223333:role/web-prod', count: 5 }]);
    expect(web.denials).toEqual([
      { code: 'ERR_ACCESS_DENIED', reason: 'policy.no_allow_matched', count: 2 },
      { code: 'ERR_UPSTREAM', reason: 'aws.http_403:AccessDenied', count: 1 },
    ]);
    const read = s.access_review.roles.find((x: any) => x.role === 'read-config');
    expect(read).toMatchObject({ requests: 1, allowed: 0, denied: 1, first_use: null, last_use: null });
    expect(s.access_review.roles.map((x: any) => x.role)).not.toContain('dormant-role');

    // Only denied, or not seen at all in the window: never used.
    expect(s.unused_roles.roles).toEqual(['dormant-role', 'read-config']);

    expect(s.secrets.secrets).toEqual([
      expect.objectContaining({ name: 'DB_URL', current_version: 3, versions: 3, age_days: 5, rotations_in_window: 2 }),
      expect.objectContaining({ name: 'NEW_TOKEN', current_version: 1, versions: 1, age_days: 10, rotations_in_window: 0 }),
      expect.objectContaining({ name: 'OLD_KEY', current_version: 1, versions: 1, age_days: 200, rotations_in_window: 0 }),
    ]);
    expect(s.secrets.secrets.map((x: any) => [x.name, x.max_age_days, x.past_max_age])).toEqual([
      ['DB_URL', 30, false],
      ['NEW_TOKEN', null, false],
      ['OLD_KEY', 90, true],
    ]);
    expect(s.secrets.past_max_age).toEqual(['OLD_KEY']);

    expect(s.signing_keys.keys).toHaveLength(2);
    expect(s.signing_keys.rotations_in_window).toBe(1);
    expect(s.signing_keys.active).toBe(s.signing_keys.keys[0].kid);
    expect(s.signing_keys.next).toBe(s.signing_keys.keys[1].kid);

    expect(s.kek.rewrap_complete).toBe(true);
    expect(s.kek.by_kek).toEqual([{ kek_id: s.kek.current_kek_id, secret_versions: 5, signing_keys: 2 }]);

    expect(s.audit_integrity).toMatchObject({
      chain_ok: true,
      records: 12,
      checkpoints_verified: 1,
      covered_by_checkpoint: 11,
      uncovered: 1,
    });
    expect(s.audit_integrity.head.seq).toBe(12);

    expect(s.policy.hashes.map((h: any) => [h.hash, h.count])).toEqual([
      [OLD_HASH, 1],
      [s.policy.current, 9],
    ]);

    for (const key of ['access_review', 'unused_roles', 'secrets', 'signing_keys', 'kek', 'audit_integrity', 'policy']) {
      expect(s[key].controls.soc2.length, key).toBeGreaterThan(0);
      expect(s[key].controls.pci_dss.length, key).toBeGreaterThan(0);
      expect(s[key].controls.hipaa.length, key).toBeGreaterThan(0);
    }
    // Evidence never carries a value.
    expect(run.stdout).not.toMatch(/"v[123]"|ciphertext|wrapped_key/);
  });

  it('--format md names the controls of every section; --broker without the admin token and a bad --format are usage errors', async () => {
    const md = await report('--since', '90d');
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout.match(/^## /gm)).toHaveLength(7);
    expect(md.stdout.match(/^Evidence for: SOC 2 CC\d/gm)).toHaveLength(7);
    expect(md.stdout).toContain('| dormant-role |');
    expect((await report('--format', 'pdf')).code).toBe(2);
    const remote = await report('--broker', 'http://127.0.0.1:1');
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(/BROKER_ADMIN_TOKEN/);
  });

  it.skipIf(!existsSync(CHROMIUM) && process.env.CI !== 'true')('--format html renders in Chromium without fetching anything', async () => {
    const file = join(dir, 'report.html');
    const run = await report('--since', '90d', '--format', 'html', '--out', file);
    expect(run.code, run.stderr).toBe(0);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const requests: string[] = [];
      const problems: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
      await page.goto(`file://${file}`);
      expect(await page.locator('section').count()).toBe(7);
      expect(await page.textContent('#unused_roles')).toContain('dormant-role');
      expect(await page.textContent('#secrets')).toContain('OLD_KEY');
      expect(requests).toEqual([`file://${file}`]);
      expect(problems).toEqual([]);
      mkdirSync(OUT, { recursive: true });
      await page.screenshot({ path: join(OUT, 'audit-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
    expect(readFileSync(file, 'utf8')).not.toMatch(/<script|<link|src=|url\(/i);
  });

  it('a secret past its max_age is flagged by policy check; secret put --max-age sets the policy and rotate carries it forward', async () => {
    // The seeded policy has lint errors of its own (a prod role open to pull requests): exit 1 for those.
    const json = await runCli(['policy', 'check', '--data', data, '--policies', pol, '--format', 'json']);
    expect(JSON.parse(json.stdout).secrets_past_max_age).toEqual([
      expect.objectContaining({ name: 'OLD_KEY', version: 1, max_age: 90 * 86_400 }),
    ]);
    const text = await runCli(['policy', 'check', '--data', data, '--policies', pol]);
    expect(text.stdout).toMatch(/secret OLD_KEY: warning \[secret-max-age\] version 1 is 200 days old, past its max age of 90 days/);
    expect(text.stdout).not.toContain('DB_URL');
    // Without a store in sight (a policy repository's CI), nothing about secrets.
    const bare = await runCli(['policy', 'check', '--data', join(dir, 'none'), '--policies', pol, '--format', 'json']);
    expect(JSON.parse(bare.stdout)).not.toHaveProperty('secrets_past_max_age');

    const other = join(dir, 'data-cli');
    const cli = (...args: string[]) => runCli(['secret', ...args, '--data', other], { input: 'value\n' });
    expect((await cli('put', 'ROT', '--max-age', '0d')).code).toBe(2);
    expect((await cli('put', 'ROT', '--max-age', 'soon')).code).toBe(2);
    const put = await cli('put', 'ROT', '--max-age', '30d');
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout).toContain('stored ROT version 1 (max age 30d)');
    expect((await cli('rotate', 'ROT')).stdout).toContain('rotated ROT version 2 (max age 30d)');
    const listed = JSON.parse((await runCli(['secret', 'list', '--json', '--data', other])).stdout);
    expect(listed).toEqual([expect.objectContaining({ name: 'ROT', version: 2, max_age: 30 * 86_400 })]);
    expect((await cli('rotate', 'ROT', '--max-age', 'none')).stdout).toMatch(/^rotated ROT version 3\n$/);
    expect(JSON.parse((await runCli(['secret', 'list', '--json', '--data', other])).stdout)[0]).not.toHaveProperty('max_age');
  });
});
