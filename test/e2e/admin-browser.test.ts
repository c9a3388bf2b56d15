// The review page in a real browser: Chromium (the Debian package) driven by playwright-core loads /admin/
// from a running broker with a day of records in it, signs in with the admin token, filters to denials,
// opens one, and saves screenshots (test-results/admin.png: the filtered table; admin-detail.png: a record).
// Outside CI the test is skipped when /usr/bin/chromium is missing; in CI (CI=true) it always runs.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeBroker, type RunningBroker } from '../../broker/entry/node.ts';
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
});
