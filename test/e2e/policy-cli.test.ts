// The policy commands as real processes: `policy check` in text, JSON and SARIF (parsed and checked against
// what GitHub code scanning needs), `policy test` and `policy explain` output, `policy diff` between two
// commits of a temporary git repository, and `policy review` against a fake GitHub API on loopback.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RULES } from '../../broker/src/policy/review/rules.ts';
import { runCli } from '../helpers/processes.ts';
import { startFakeGithubApi, type FakeGithubApi } from '../unit/review/fake-github-api.ts';
import { baseCommit, createTempRepo, SHIPPED, widenProdNarrowReadonly, type TempRepo } from '../unit/review/temp-repo.ts';

const BAD = 'test/fixtures/lint/bad';

/** The part of SARIF 2.1.0 that GitHub code scanning reads; strict where GitHub is. */
const sarifSchema = z.object({
  $schema: z.string().url(),
  version: z.literal('2.1.0'),
  runs: z
    .array(
      z.object({
        tool: z.object({
          driver: z.object({
            name: z.string().min(1),
            version: z.string().min(1),
            rules: z.array(
              z.object({
                id: z.string().regex(/^[a-z][a-z-]+$/),
                name: z.string().min(1),
                shortDescription: z.object({ text: z.string().min(1) }),
                fullDescription: z.object({ text: z.string().min(1) }),
                help: z.object({ text: z.string().min(1), markdown: z.string().min(1) }),
                defaultConfiguration: z.object({ level: z.enum(['error', 'warning', 'note']) }),
                properties: z.object({ tags: z.array(z.string()), 'security-severity': z.string().regex(/^\d+\.\d$/) }),
              }),
            ),
          }),
        }),
        results: z.array(
          z.object({
            ruleId: z.string(),
            ruleIndex: z.number().int().nonnegative(),
            level: z.enum(['error', 'warning', 'note']),
            message: z.object({ text: z.string().min(1) }),
            locations: z
              .array(
                z.object({
                  physicalLocation: z.object({
                    // relative to the repository root, forward slashes, no scheme: what code scanning maps to files
                    artifactLocation: z.object({ uri: z.string().regex(/^(?![a-z]+:)(?!\/)[^\\]+$/) }),
                    region: z.object({ startLine: z.number().int().positive(), startColumn: z.number().int().positive() }),
                  }),
                }),
              )
              .length(1),
          }),
        ),
      }),
    )
    .length(1),
});

describe('policy check', () => {
  it('the shipped policies are clean (text)', async () => {
    const r = await runCli(['policy', 'check']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^policy OK: 2 issuer\(s\), 3 role\(s\), hash [0-9a-f]{64}\n$/);
  });

  it('the shipped policies are clean (SARIF, parsed)', async () => {
    const r = await runCli(['policy', 'check', '--format', 'sarif']);
    expect(r.code, r.stderr).toBe(0);
    const sarif = sarifSchema.parse(JSON.parse(r.stdout));
    expect(sarif.runs[0]!.results).toEqual([]);
    expect(sarif.runs[0]!.tool.driver.rules.map((rule) => rule.id)).toEqual(RULES.map((rule) => rule.id));
  });

  it('a set with mistakes: exit 1, every finding with rule, level and a repository-relative location (SARIF)', async () => {
    const r = await runCli(['policy', 'check', '--policies', BAD, '--format', 'sarif']);
    expect(r.code).toBe(1);
    const sarif = sarifSchema.parse(JSON.parse(r.stdout));
    const run = sarif.runs[0]!;
    const found = run.results.map((x) => [
      x.ruleId,
      x.level,
      x.locations[0]!.physicalLocation.artifactLocation.uri,
      x.locations[0]!.physicalLocation.region.startLine,
    ]);
    expect(found).toEqual([
      ['unused-issuer', 'warning', `${BAD}/issuers.yaml`, 6],
      ['prod-self-hosted-runner', 'error', `${BAD}/roles/deploy-prod.yaml`, 5],
      ['wildcard-crosses-slash', 'error', `${BAD}/roles/deploy-prod.yaml`, 6],
      ['prod-pull-request-target', 'error', `${BAD}/roles/deploy-prod.yaml`, 7],
      ['role-without-tests', 'warning', `${BAD}/roles/org-wide.yaml`, 1],
      ['repository-binding', 'error', `${BAD}/roles/org-wide.yaml`, 5],
      ['owner-wildcard', 'error', `${BAD}/roles/org-wide.yaml`, 5],
    ]);
    for (const x of run.results) expect(run.tool.driver.rules[x.ruleIndex]!.id).toBe(x.ruleId);
    for (const x of run.results)
      expect(readFileSync(x.locations[0]!.physicalLocation.artifactLocation.uri, 'utf8').length).toBeGreaterThan(0);
  });

  it('text: file:line:column, severity, rule id and the fix; JSON: the same findings', async () => {
    const text = await runCli(['policy', 'check', '--policies', BAD]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`${BAD}/roles/org-wide.yaml:5:24: error [owner-wildcard] `);
    expect(text.stdout).toMatch(/\n {4}fix: Spell the owner literally/);
    expect(text.stderr).toContain('5 error(s), 2 warning(s)');
    const json = await runCli(['policy', 'check', '--policies', BAD, '--format', 'json']);
    const parsed = JSON.parse(json.stdout) as {
      ok: boolean;
      errors: number;
      warnings: number;
      findings: { rule: string; path: string; line: number; column: number; hint: string }[];
    };
    expect([parsed.ok, parsed.errors, parsed.warnings]).toEqual([false, 5, 2]);
    expect(parsed.findings.find((f) => f.rule === 'owner-wildcard')).toMatchObject({
      path: `${BAD}/roles/org-wide.yaml`,
      line: 5,
      column: 24,
    });
  });

  it('an unknown --format is a usage error', async () => {
    const r = await runCli(['policy', 'check', '--format', 'xml']);
    expect(r.code).toBe(2);
  });
});

describe('policy test and policy explain', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-policy-test-'));
    cpSync(SHIPPED, dir, { recursive: true });
    // a case that fails, and a role with no deny case
    const tests = readFileSync(join(dir, 'tests/deploy-web-prod.yaml'), 'utf8');
    writeFileSync(
      join(dir, 'tests/deploy-web-prod.yaml'),
      `${tests}  - name: wrongly expected\n    role: deploy-web-prod\n    expect: allow\n    claims: {<<: *main_push, environment: staging}\n`,
    );
    writeFileSync(
      join(dir, 'tests/gitlab-release.yaml'),
      'tests:\n  - name: a push to a protected branch\n    role: gitlab-release\n    expect: allow\n    claims: {project_id: "4242", namespace_id: "77", project_path: acme/tools, ref_protected: "true", ref_type: branch, pipeline_source: push}\n',
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints each failing case with its trace, the roles not tested both ways, and N passed, N failed', async () => {
    const r = await runCli(['policy', 'test', '--policies', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL \S*tests\/deploy-web-prod\.yaml:\d+ wrongly expected: expected allow, got deny/);
    expect(r.stdout).toMatch(/✗ environment +"staging" +"production"/);
    expect(r.stdout).toMatch(/untested: role gitlab-release \(\S+\) has no deny case/);
    expect(r.stdout).toMatch(/\n\d+ passed, 1 failed\n$/);
  });

  it('explain: the verdict, what decided, missing claims, and every condition in aligned columns', async () => {
    const claims = join(dir, 'claims.json');
    writeFileSync(
      claims,
      JSON.stringify({
        repository_id: '123456',
        repository_owner_id: '7890',
        repository: 'acme/web',
        ref: 'refs/heads/main',
        event_name: 'pull_request_target',
      }),
    );
    const r = await runCli(['policy', 'explain', '--policies', dir, '--role', 'deploy-web-prod', '--claims', claims]);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('DENY  role deploy-web-prod (roles/deploy-web-prod.yaml)');
    expect(lines[1]).toContain('denied by deny[0]');
    expect(lines[2]).toContain('missing claims');
    expect(lines[2]).toContain('environment, runner_environment');
    expect(r.stdout).toContain('<- decided');
    const rows = lines.filter((l) => /^\s+[✓✗] /.test(l));
    expect(rows).toHaveLength(8);
    // aligned: the token column starts at the same offset in every row
    const starts = new Set(rows.map((l) => l.search(/ ("|\(missing\))/)));
    expect(starts.size).toBe(1);

    const json = await runCli([
      'policy',
      'explain',
      '--policies',
      dir,
      '--role',
      'deploy-web-prod',
      '--claims',
      claims,
      '--format',
      'json',
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      effect: 'deny',
      reason: 'deny_matched',
      matched: 'deny[0]',
      missing_claims: ['environment', 'runner_environment'],
    });
  });
});

describe('policy diff and policy review on a git repository', () => {
  let repo: TempRepo;
  let base: string;
  let api: FakeGithubApi;
  const TOKEN = 'ghs_e2e_token';

  beforeAll(async () => {
    repo = createTempRepo();
    base = baseCommit(repo);
    widenProdNarrowReadonly(repo);
    repo.commit('deploy from any branch; read-only role for pull_request only');
    api = await startFakeGithubApi(TOKEN);
  });
  afterAll(async () => {
    repo?.remove();
    await api?.close();
  });

  it('names the role whose ref condition was removed as a high-risk widening, and the narrowing of another as low', async () => {
    const r = await runCli(['policy', 'diff', '--policies', repo.policies, '--base', 'HEAD~1', '--head', 'HEAD', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const diff = JSON.parse(r.stdout) as {
      roles: { role: string; status: string; risk: string; changes: { kind: string; direction: string; risk: string; where: string }[] }[];
    };
    expect(
      diff.roles.map((x) => ({
        role: x.role,
        status: x.status,
        risk: x.risk,
        changes: x.changes.map((c) => [c.kind, c.direction, c.risk, c.where]),
      })),
    ).toEqual([
      { role: 'deploy-web-prod', status: 'changed', risk: 'high', changes: [['condition-removed', 'widened', 'high', 'allow[0].ref']] },
      {
        role: 'web-pr-readonly',
        status: 'changed',
        risk: 'low',
        changes: [['condition-tightened', 'narrowed', 'low', 'allow[0].event_name']],
      },
    ]);

    const md = await runCli(['policy', 'diff', '--policies', repo.policies, '--base', base]);
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toContain('→ `working tree`');
    expect(md.stdout).toMatch(/### 🔴 `deploy-web-prod` · changed · production/);
    expect(md.stdout).toMatch(/\| 🔴 high \| widened \| `allow\[0\]\.ref` \| condition on `ref` removed/);
    expect(md.stdout).toMatch(/### 🟢 `web-pr-readonly` · changed/);
    expect(md.stdout).toMatch(/\| 🟢 low \| narrowed \| `allow\[0\]\.event_name` \|/);
  });

  it('an unknown revision is an error that names it', async () => {
    const r = await runCli(['policy', 'diff', '--policies', repo.policies, '--base', 'no-such-branch']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no-such-branch');
  });

  it('policy review: creates the comment, then updates it; exit 1 while tests fail, and the job summary gets the body', async () => {
    const event = join(repo.dir, '..', `event-${Date.now()}.json`);
    writeFileSync(event, JSON.stringify({ action: 'synchronize', number: 5, pull_request: { number: 5 } }));
    const summary = join(repo.dir, '..', `summary-${Date.now()}.md`);
    const env = {
      GITHUB_TOKEN: TOKEN,
      GITHUB_REPOSITORY: 'acme/web',
      GITHUB_EVENT_PATH: event,
      GITHUB_API_URL: api.url,
      GITHUB_STEP_SUMMARY: summary,
    };
    try {
      const first = await runCli(['policy', 'review', '--policies', repo.policies, '--base', base], { env });
      expect(first.code, first.stderr).toBe(1);
      expect(first.stdout).toMatch(/review comment created on acme\/web#5/);
      const [comment] = api.comments.get('acme/web#5')!;
      expect(comment!.body).toContain('❌ Policy review failed');

      const again = await runCli(['policy', 'review', '--policies', repo.policies, '--base', base], { env });
      expect(again.stdout).toMatch(/review comment updated on acme\/web#5/);
      expect(api.comments.get('acme/web#5')!.map((c) => c.id)).toEqual([comment!.id]);
      expect(readFileSync(summary, 'utf8')).toContain('<!-- secret-broker-policy-review -->');
    } finally {
      rmSync(event, { force: true });
      rmSync(summary, { force: true });
    }
  });

  it('policy review with a read-only token (a fork pull request): no comment, the review still decides', async () => {
    const event = join(repo.dir, '..', `event-ro-${Date.now()}.json`);
    writeFileSync(event, JSON.stringify({ number: 6, pull_request: { number: 6 } }));
    api.readOnly = true;
    try {
      const r = await runCli(['policy', 'review', '--policies', repo.policies, '--base', base], {
        env: {
          GITHUB_TOKEN: TOKEN,
          GITHUB_REPOSITORY: 'acme/web',
          GITHUB_EVENT_PATH: event,
          GITHUB_API_URL: api.url,
          GITHUB_STEP_SUMMARY: '',
        },
      });
      expect(r.code).toBe(1); // the failing tests, not the missing comment
      expect(r.stderr).toContain('could not comment');
      expect(r.stdout).toContain('<!-- secret-broker-policy-review -->');
      expect(api.comments.get('acme/web#6')).toBeUndefined();
    } finally {
      api.readOnly = false;
      rmSync(event, { force: true });
    }
  });

  it('policy review --dry-run prints the comment and talks to nobody', async () => {
    const requests = api.requests.length;
    const r = await runCli(['policy', 'review', '--policies', repo.policies, '--base', base, '--dry-run'], {
      env: { GITHUB_TOKEN: '', GITHUB_STEP_SUMMARY: '' },
    });
    expect(r.stdout.startsWith('<!-- secret-broker-policy-review -->')).toBe(true);
    expect(api.requests.length).toBe(requests);
  });
});
