// The example workflow users copy: what it must do (and must not: pull_request_target), and the copy in the
// README says the same thing as the file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '../../..');
const FILE = join(ROOT, '.github/workflows/policy-review.yml');

type Workflow = {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<
    string,
    { steps: { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; 'working-directory'?: string }[] }
  >;
};

describe('.github/workflows/policy-review.yml', () => {
  const workflow = parse(readFileSync(FILE, 'utf8')) as Workflow;
  const steps = Object.values(workflow.jobs)[0]!.steps;

  it('runs on pull_request only, with a token that can comment and nothing more', () => {
    expect(Object.keys(workflow.on)).toEqual(['pull_request']);
    expect(workflow.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
  });

  it('checks out the whole history, sets up Node 24, installs, and runs policy review against the base branch', () => {
    expect(steps.find((s) => s.uses?.startsWith('actions/checkout@'))?.with).toMatchObject({ 'fetch-depth': 0 });
    expect(steps.find((s) => s.uses?.startsWith('actions/setup-node@'))?.with).toMatchObject({ 'node-version': 24 });
    expect(steps.some((s) => s.run === 'npm ci')).toBe(true);
    const review = steps.find((s) => s.run?.includes('secret-broker policy review'))!;
    // the tool from the base checkout, the pull request's policies as data (test/unit/security/policy-review-workflow.test.ts)
    expect(review.run).toBe('npx --no-install secret-broker policy review --policies ../pr/policies --base "origin/$BASE_REF" --head HEAD');
    expect(review.env).toEqual({ BASE_REF: '${{ github.base_ref }}', GITHUB_TOKEN: '${{ secrets.GITHUB_TOKEN }}' });
  });

  it('is the workflow the README shows', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .filter((b) => b.includes('secret-broker policy review'));
    expect(blocks).toHaveLength(1);
    expect(parse(blocks[0]!)).toEqual(workflow);
  });
});
