// The pull-request review: `policy check`, `policy test` and `policy diff` on the pull request's policies,
// written as one Markdown comment that is created on the first run and updated on every later push (found
// again by a hidden marker), so the security team reads the current state in one place. Fails on lint
// errors and failing tests; risky changes are for the reviewers (CODEOWNERS) to judge, not for CI.
import { readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { readPolicyDir } from '../../broker/entry/node/policy-files.ts';
import { checkPolicy, type CheckReport } from '../../broker/src/policy/review/check.ts';
import { compilePolicy } from '../../broker/src/policy/compile.ts';
import { code, diffPolicies, EMPTY_SIDE, type PolicyDiff, type PolicySide } from '../../broker/src/policy/review/diff.ts';
import { renderDiffMarkdown } from '../../broker/src/policy/review/diff-markdown.ts';
import { explainDecision } from '../../broker/src/policy/review/explain.ts';
import { loadPolicy, type PolicyFile } from '../../broker/src/policy/load.ts';
import { runPolicyTests, type TestReport } from '../../broker/src/policy/review/run-tests.ts';
import { describeRevision, locateInRepo, readPolicyDirAtRevision } from './git.ts';

export const REVIEW_MARKER = '<!-- secret-broker-policy-review -->';
/** GitHub refuses comment bodies over 65536 characters. */
const MAX_BODY = 60_000;

export interface ReviewInputs {
  policiesDir: string;
  /** The revision to compare against, e.g. origin/main. */
  base: string;
  /** A revision; undefined for the working tree (what the workflow checked out). */
  head?: string | undefined;
}

export interface Review {
  ok: boolean;
  body: string;
  check: CheckReport;
  tests: TestReport | undefined;
  diff: PolicyDiff | undefined;
}

/** Policy file paths as the repository names them ("policies/roles/x.yaml"), for links and SARIF. */
export function repoPrefix(policiesDir: string): string {
  const where = locateInRepo(policiesDir);
  if (where) return where.prefix === '' ? '' : `${where.prefix}/`;
  // not in a repository: relative to the current directory when below it
  const rel = relative(process.cwd(), resolve(policiesDir)).split(sep).join('/');
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? '' : `${rel}/`;
}

async function sideOf(files: PolicyFile[]): Promise<{ side: PolicySide } | { problems: number }> {
  if (files.length === 0) return { side: EMPTY_SIDE };
  const loaded = await loadPolicy(files);
  return loaded.ok ? { side: loaded.policy } : { problems: loaded.problems.length };
}

export async function buildReview(inputs: ReviewInputs): Promise<Review> {
  const headFiles =
    inputs.head === undefined ? readPolicyDir(inputs.policiesDir) : readPolicyDirAtRevision(inputs.policiesDir, inputs.head);
  const baseFiles = readPolicyDirAtRevision(inputs.policiesDir, inputs.base);
  const check = await checkPolicy(headFiles);
  const tests = check.policy ? runPolicyTests(compilePolicy(check.policy)) : undefined;
  const base = await sideOf(baseFiles);
  const diff = check.policy && 'side' in base ? diffPolicies(base.side, check.policy) : undefined;
  const ok = check.errors === 0 && check.policy !== undefined && (tests?.failed ?? 0) === 0;
  const body = renderReview({
    ok,
    check,
    tests,
    diff,
    prefix: repoPrefix(inputs.policiesDir),
    base: describeRevision(inputs.policiesDir, inputs.base),
    head: inputs.head === undefined ? 'working tree' : describeRevision(inputs.policiesDir, inputs.head),
    baseProblems: 'problems' in base ? base.problems : 0,
  });
  return { ok, body, check, tests, diff };
}

interface RenderInputs {
  ok: boolean;
  check: CheckReport;
  tests: TestReport | undefined;
  diff: PolicyDiff | undefined;
  prefix: string;
  base: string;
  head: string;
  baseProblems: number;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function renderReview(r: RenderInputs): string {
  const out: string[] = [REVIEW_MARKER];
  const problems: string[] = [];
  if (r.check.errors > 0) problems.push(`${r.check.errors} lint error${r.check.errors === 1 ? '' : 's'}`);
  if (r.tests && r.tests.failed > 0) problems.push(`${r.tests.failed} failing test${r.tests.failed === 1 ? '' : 's'}`);
  if (!r.check.policy && r.check.errors === 0) problems.push('the policy set does not load');
  out.push(r.ok ? '## ✅ Policy review passed' : `## ❌ Policy review failed: ${problems.join(', ')}`, '');

  const lint = `${r.check.errors === 0 ? '✅' : '❌'} ${r.check.errors} error${r.check.errors === 1 ? '' : 's'}, ${r.check.warnings} warning${r.check.warnings === 1 ? '' : 's'}`;
  const tests = r.tests
    ? `${r.tests.failed === 0 ? '✅' : '❌'} ${r.tests.passed} passed, ${r.tests.failed} failed`
    : '➖ not run (the policy set does not load)';
  const diff = r.diff
    ? `🔴 ${r.diff.counts.high} high · 🟠 ${r.diff.counts.medium} medium · 🟢 ${r.diff.counts.low} low`
    : r.baseProblems > 0
      ? `➖ not computed: the base does not load (${r.baseProblems} problem${r.baseProblems === 1 ? '' : 's'})`
      : '➖ not computed (the policy set does not load)';
  out.push(
    '| step | result |',
    '|---|---|',
    `| lint (\`policy check\`) | ${lint} |`,
    `| tests (\`policy test\`) | ${tests} |`,
    `| access diff (\`policy diff\`) | ${diff} |`,
    '',
  );

  if (r.check.findings.length > 0) {
    out.push('### Lint findings', '', '| | where | rule | finding |', '|---|---|---|---|');
    for (const f of r.check.findings) {
      out.push(
        `| ${f.severity === 'error' ? '❌' : '⚠️'} ${f.severity} | ${cell(code(`${r.prefix}${f.file}:${f.line}:${f.column}`))} | ${code(f.rule)} | ${cell(f.message)}<br>**fix:** ${cell(f.hint)} |`,
      );
    }
    out.push('');
  }
  if (r.tests) {
    const failing = r.tests.results.filter((c) => !c.passed);
    if (failing.length > 0) {
      out.push('### Failing tests', '');
      for (const c of failing) {
        out.push(
          `<details><summary><code>${escapeHtml(`${r.prefix}${c.file}:${c.line}`)}</code> ${escapeHtml(c.name)}: expected ${c.expect}, got ${c.decision?.effect ?? 'no such role'}</summary>`,
          '',
        );
        const role = r.check.policy ? compilePolicy(r.check.policy).roles.get(c.role) : undefined;
        if (role && c.decision) {
          const lines = explainDecision(role, c.decision);
          // a fence longer than any run of backticks in the claims, so a value cannot end the block
          const fence = '`'.repeat(Math.max(3, ...lines.map((l) => Math.max(0, ...(l.match(/`+/g) ?? []).map((m) => m.length + 1)))));
          out.push(fence, ...lines, fence);
        }
        out.push('', '</details>', '');
      }
    }
    if (r.tests.gaps.length > 0) {
      out.push('### Roles not proven both ways', '');
      for (const g of r.tests.gaps)
        out.push(
          `- ${code(g.role)}: ${g.allow === 0 ? 'no allow case' : ''}${g.allow === 0 && g.deny === 0 ? ', ' : ''}${g.deny === 0 ? 'no deny case' : ''}`,
        );
      out.push('');
    }
  }
  if (r.diff) out.push(renderDiffMarkdown(r.diff, { base: r.base, head: r.head, level: 3 }));
  out.push(
    `<sub>secret-broker policy review of ${escapeHtml(r.head)} against ${escapeHtml(r.base)}; this comment is updated on every push.</sub>`,
  );
  let body = `${out.join('\n')}\n`;
  if (body.length > MAX_BODY)
    body = `${body.slice(0, MAX_BODY)}\n\n… (cut: run \`secret-broker policy check\` and \`policy diff\` locally for the rest)\n`;
  return body;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

// ---------------------------------------------------------------------------------------------------------
// GitHub

export interface GithubTarget {
  token: string;
  owner: string;
  repo: string;
  pullRequest: number;
  apiUrl: string;
}

/** The pull request from the Actions environment: GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_EVENT_PATH, GITHUB_API_URL. */
export function targetFromEnv(env: NodeJS.ProcessEnv): GithubTarget {
  const token = env.GITHUB_TOKEN;
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions `${{ }}` expression for the workflow file, not a JS placeholder
  if (!token) throw new Error('GITHUB_TOKEN is not set (pass `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` to the step)');
  const [owner, repo, ...rest] = (env.GITHUB_REPOSITORY ?? '').split('/');
  if (!owner || !repo || rest.length > 0) throw new Error('GITHUB_REPOSITORY must be "owner/repo"');
  if (!env.GITHUB_EVENT_PATH) throw new Error('GITHUB_EVENT_PATH is not set: run this in a pull_request workflow (or use --dry-run)');
  const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as { pull_request?: { number?: unknown }; number?: unknown };
  const number = event.pull_request?.number ?? event.number;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number <= 0)
    throw new Error('the event has no pull request number: run this on pull_request events');
  return { token, owner, repo, pullRequest: number, apiUrl: (env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '') };
}

export interface Published {
  action: 'created' | 'updated';
  id: number;
  url: string | undefined;
}

interface IssueComment {
  id: number;
  body?: string | null;
  html_url?: string;
  user?: { type?: string } | null;
}

/** Creates the review comment, or updates the one an earlier run left (found by the marker). */
export async function publishReview(target: GithubTarget, body: string): Promise<Published> {
  // Loaded here, not at the top: only this command talks to GitHub, and the library is large.
  const { getOctokit } = await import('@actions/github');
  const octokit = getOctokit(target.token, { baseUrl: target.apiUrl });
  const where = { owner: target.owner, repo: target.repo };
  const comments = (await octokit.paginate(octokit.rest.issues.listComments, {
    ...where,
    issue_number: target.pullRequest,
    per_page: 100,
  })) as IssueComment[];
  // The first marked comment, a bot's before anyone's (a person could paste the marker into their own).
  const marked = comments.filter((c) => c.body?.includes(REVIEW_MARKER));
  const previous = marked.find((c) => c.user?.type === 'Bot') ?? marked[0];
  if (previous) {
    try {
      const res = await octokit.rest.issues.updateComment({ ...where, comment_id: previous.id, body });
      return { action: 'updated', id: res.data.id, url: res.data.html_url };
    } catch (err) {
      // not ours to edit (another user's comment): leave it and write our own
      if (![403, 404].includes((err as { status?: number }).status ?? 0)) throw err;
    }
  }
  const res = await octokit.rest.issues.createComment({ ...where, issue_number: target.pullRequest, body });
  return { action: 'created', id: res.data.id, url: res.data.html_url };
}
