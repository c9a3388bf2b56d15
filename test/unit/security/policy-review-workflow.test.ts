// The example policy-review workflow runs the review tool from the base branch, with the pull request's
// policies/ as data only, and every action pinned by full commit SHA: a pull request that edits cli/ (or its
// dependencies, or package scripts) cannot turn its own lint errors into "policy OK".
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const FILE = join(import.meta.dirname, '../../../.github/workflows/policy-review.yml');

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  'working-directory'?: string;
}
interface Workflow {
  on: Record<string, unknown>;
  defaults?: { run?: { 'working-directory'?: string } };
  jobs: Record<string, { steps: Step[]; defaults?: { run?: { 'working-directory'?: string } } }>;
}

const BASE_REFS = ['${{ github.event.pull_request.base.sha }}', '${{ github.base_ref }}', '${{ github.event.pull_request.base.ref }}'];
/** Commands that install or run code: from the pull request's checkout they would run its code. */
const RUNS_CODE = /(?:^|[\s;&|(`$])(?:npm|npx|node|yarn|pnpm|bun|deno|tsx|make|sh|bash|python3?|\.\/)(?=[\s;&|)]|$)/m;

const norm = (p: string | undefined) => posix.normalize((p ?? '.').replace(/^\.\/+/, '')).replace(/\/+$/, '') || '.';
const within = (dir: string, root: string) => root === '.' || dir === root || dir.startsWith(`${root}/`);

function analyse(text: string) {
  const workflow = parse(text) as Workflow;
  const jobs = Object.values(workflow.jobs);
  const checkouts = jobs.flatMap((j) => j.steps.filter((s) => s.uses?.startsWith('actions/checkout@')));
  const isBase = (s: Step) => BASE_REFS.includes(String(s.with?.ref ?? ''));
  const toolPaths = checkouts.filter(isBase).map((s) => norm(s.with?.path as string | undefined));
  const prPaths = checkouts.filter((s) => !isBase(s)).map((s) => norm(s.with?.path as string | undefined));
  const runs = jobs.flatMap((j) =>
    j.steps
      .filter((s) => s.run !== undefined)
      .map((s) => ({
        step: s,
        cwd: norm(s['working-directory'] ?? j.defaults?.run?.['working-directory'] ?? workflow.defaults?.run?.['working-directory']),
      })),
  );
  return { workflow, jobs, checkouts, toolPaths, prPaths, runs };
}

/** The rule, as assertions any copy of the workflow must pass. */
function assertSafe(text: string): void {
  const { jobs, toolPaths, prPaths, runs } = analyse(text);
  // every action pinned to a full commit SHA, with the version it stands for in a comment
  for (const line of text.split('\n').filter((l) => /^\s*-?\s*uses:/.test(l))) {
    expect(line).toMatch(/uses:\s*[\w.-]+\/[\w.-]+(?:\/[\w./-]+)?@[0-9a-f]{40}\s+#\s*v\d/);
  }
  for (const step of jobs.flatMap((j) => j.steps)) {
    if (step.uses) expect(step.uses.startsWith('./'), `local action ${step.uses} would run the pull request's code`).toBe(false);
  }
  // the tool's checkout is the base, in a path of its own; the pull request's checkout is elsewhere
  expect(toolPaths.length).toBeGreaterThan(0);
  for (const pr of prPaths)
    for (const tool of toolPaths) expect(within(tool, pr) || within(pr, tool), `${tool} and ${pr} overlap`).toBe(false);
  for (const { step, cwd } of runs) {
    const run = step.run!;
    // nothing installs or runs from the pull request's checkout
    for (const pr of prPaths) {
      if (RUNS_CODE.test(run)) expect(within(cwd, pr), `"${run}" runs in the pull request's checkout (${cwd})`).toBe(false);
      // the pull request's files appear only as the --policies data argument
      const words = run.split(/\s+/);
      words.forEach((w, i) => {
        const path = norm(
          w
            .replace(/^--policies=/, '')
            .replace(/^(?:\.\.\/)+/, '')
            .replace(/^["']|["']$/g, ''),
        );
        if (!within(path, pr) || pr === '.') return;
        expect(
          `${words[i - 1] === '--policies' || w.startsWith('--policies=') ? '--policies ' : ''}${path}`,
          `"${run}" uses the pull request's files other than as --policies data`,
        ).toBe(`--policies ${pr}/policies`);
      });
    }
    if (RUNS_CODE.test(run))
      expect(
        toolPaths.some((t) => within(cwd, t)),
        `"${run}" runs outside the base checkout`,
      ).toBe(true);
  }
}

describe('.github/workflows/policy-review.yml', () => {
  const text = readFileSync(FILE, 'utf8');

  it('the review runs the tool from the base branch, with the pull request only as policies/ data, and every action pinned by SHA', () => {
    assertSafe(text);
    const { runs, prPaths, toolPaths } = analyse(text);
    const review = runs.find((r) => r.step.run?.includes('secret-broker policy review'))!;
    expect(toolPaths).toContain(review.cwd);
    // --head HEAD: the pull request's policies are read through git, where a symlink is an error
    expect(review.step.run).toMatch(new RegExp(`--policies (?:\\.\\./)+${prPaths[0]}/policies\\b`));
    expect(review.step.run).toMatch(/--head HEAD\b/);
    for (const c of analyse(text).checkouts) expect(c.with?.['persist-credentials']).toBe(false);
  });

  // The rule catches the class, not one spelling: each variant below is a way back to running PR code.
  const UNSAFE: [string, (t: string) => string][] = [
    [
      'the original single checkout of the pull request with npm ci at its root',
      () => readFileSync(join(import.meta.dirname, 'fixtures/policy-review-unsafe.yml'), 'utf8'),
    ],
    ['an action by tag', (t) => t.replace(/actions\/setup-node@[0-9a-f]{40}/, 'actions/setup-node@v4')],
    [
      'an action by a short SHA',
      (t) => t.replace(/(actions\/checkout@)([0-9a-f]{40})/, (_m, a: string, sha: string) => `${a}${sha.slice(0, 12)}`),
    ],
    [
      'npm ci in the pull request checkout',
      (t) => t.replace(/- run: npm ci\n {8}working-directory: base/, '- run: npm ci\n        working-directory: pr'),
    ],
    ['the review run from the pull request checkout', (t) => t.replace(/(policy review[^\n]*\n {8}working-directory: )base/, '$1pr')],
    ['the tool checkout without the base ref', (t) => t.replace(/ {10}ref: \$\{\{ github\.event\.pull_request\.base\.sha \}\}\n/, '')],
    [
      'node run on a file of the pull request',
      (t) => t.replace('npx --no-install secret-broker policy review', 'node ../pr/cli/bin.ts policy review'),
    ],
    [
      'a local action from the pull request',
      (t) => t.replace(/- run: npm ci\n/, '- uses: ./pr/.github/actions/setup\n      - run: npm ci\n'),
    ],
    ['the pull request checked out over the tool', (t) => t.replace(/path: pr\n/, 'path: base\n')],
  ];
  it.each(UNSAFE)('refuses a variant: %s', (_name, mutate) => {
    const variant = mutate(text);
    expect(variant).not.toBe(text);
    expect(() => assertSafe(variant)).toThrow();
  });
});
