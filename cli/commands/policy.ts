import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readPolicyDir } from '../../broker/entry/node/policy-files.ts';
import { checkPolicy } from '../../broker/src/policy/review/check.ts';
import { compilePolicy, type CompiledPolicy } from '../../broker/src/policy/compile.ts';
import { diffPolicies, EMPTY_SIDE, type PolicySide } from '../../broker/src/policy/review/diff.ts';
import { renderDiffMarkdown } from '../../broker/src/policy/review/diff-markdown.ts';
import { describeReason, explainDecision, missingClaims } from '../../broker/src/policy/review/explain.ts';
import { loadPolicy, type PolicyFile } from '../../broker/src/policy/load.ts';
import { match } from '../../broker/src/policy/match.ts';
import { runPolicyTests } from '../../broker/src/policy/review/run-tests.ts';
import { toSarif } from '../../broker/src/policy/review/sarif.ts';
import { VERSION } from '../../broker/src/version.ts';
import { DATABASE_FILE } from '../../broker/entry/node/database-file.ts';
import { overdueSecrets, type OverdueSecret } from '../../broker/src/store/secrets.ts';
import { nodeSqliteAvailable } from '../lib/runtime.ts';
import { str, UsageError, type Command, type CommandContext } from '../context.ts';
import { describeRevision, readPolicyDirAtRevision } from '../lib/git.ts';
import { buildReview, publishReview, repoPrefix, targetFromEnv } from '../lib/review.ts';

/** Loads and compiles, printing file:line:column problems; undefined when the set has errors. */
async function loadOrReport(ctx: CommandContext): Promise<CompiledPolicy | undefined> {
  const loaded = await loadPolicy(readPolicyDir(ctx.policiesDir));
  if (!loaded.ok) {
    for (const p of loaded.problems) ctx.out(`${shown(ctx, p.file)}:${p.line}:${p.column}: error: ${p.message}`);
    ctx.err(`${loaded.problems.length} error(s)`);
    return undefined;
  }
  return compilePolicy(loaded.policy);
}

/** A policy file as the user can open it: relative to the current directory when below it. */
function shown(ctx: CommandContext, file: string): string {
  const full = resolve(ctx.policiesDir, file);
  const rel = relative(process.cwd(), full);
  return rel.startsWith('..') || rel === '' ? full : rel;
}

function format<T extends string>(ctx: CommandContext, allowed: readonly T[], fallback: T): T {
  const value = str(ctx, 'format') ?? fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--format must be one of ${allowed.join(', ')}`);
  return value as T;
}

/**
 * The stored secrets past their rotation policy (max_age), when this command can see the broker's store (a
 * data folder with a database, or --database); undefined when there is none, as in a policy repository's CI.
 * Names and ages only: no KEK is needed, nothing is opened.
 */
async function rotationOverdue(ctx: CommandContext): Promise<OverdueSecret[] | undefined> {
  if (!ctx.databaseUrl && !(existsSync(join(ctx.dataDir, DATABASE_FILE)) && (await nodeSqliteAvailable()))) return undefined;
  try {
    const stores = await (await import('../lib/stores.ts')).openStores(ctx);
    try {
      return overdueSecrets(await stores.secrets.list(), Math.floor(Date.now() / 1000));
    } finally {
      await stores.close();
    }
  } catch (err) {
    ctx.err(`WARNING: the secret store does not open (${String((err as Error)?.message ?? err)}): rotation policies not checked`);
    return undefined;
  }
}

const days = (s: number) => Math.floor(s / 86_400);

const check: Command = {
  usage: 'policy check [--format text|json|sarif]',
  summary: 'Schema and lint (rule ids, file:line:column, fix hints); exit 1 on errors.',
  options: { format: { type: 'string' } },
  async run(ctx) {
    const fmt = format(ctx, ['text', 'json', 'sarif'] as const, 'text');
    const report = await checkPolicy(readPolicyDir(ctx.policiesDir));
    const code = report.errors > 0 ? 1 : 0;
    // A warning, never an error: an overdue rotation is for the owner to act on, not a broken policy.
    const overdue = fmt === 'sarif' ? undefined : await rotationOverdue(ctx);
    if (fmt === 'sarif') {
      ctx.out(JSON.stringify(toSarif(report.findings, { uriPrefix: repoPrefix(ctx.policiesDir), toolVersion: VERSION }), null, 2));
      return code;
    }
    if (fmt === 'json') {
      const prefix = repoPrefix(ctx.policiesDir);
      ctx.out(
        JSON.stringify(
          {
            ok: code === 0,
            errors: report.errors,
            warnings: report.warnings,
            hash: report.policy?.hash ?? null,
            findings: report.findings.map((f) => ({ ...f, path: `${prefix}${f.file}` })),
            ...(overdue ? { secrets_past_max_age: overdue } : {}),
          },
          null,
          2,
        ),
      );
      return code;
    }
    for (const f of report.findings) {
      ctx.out(`${shown(ctx, f.file)}:${f.line}:${f.column}: ${f.severity} [${f.rule}] ${f.message}`);
      ctx.out(`    fix: ${f.hint}`);
    }
    for (const o of overdue ?? [])
      ctx.out(
        `secret ${o.name}: warning [secret-max-age] version ${o.version} is ${days(o.age)} days old, past its max age of ${days(o.max_age)} days\n    fix: secret-broker secret rotate ${o.name}`,
      );
    if (report.policy && report.errors === 0) {
      const warned = report.warnings > 0 ? ` with ${report.warnings} warning(s)` : '';
      ctx.out(
        `policy OK${warned}: ${report.policy.issuers.size} issuer(s), ${report.policy.roles.size} role(s), hash ${report.policy.hash}`,
      );
    } else {
      ctx.err(`${report.errors} error(s), ${report.warnings} warning(s)`);
    }
    return code;
  },
};

const test: Command = {
  usage: 'policy test [--format text|json]',
  summary: 'Run policies/tests/*.yaml; prints failing cases with their trace and N passed, N failed.',
  options: { format: { type: 'string' } },
  async run(ctx) {
    const fmt = format(ctx, ['text', 'json'] as const, 'text');
    const policy = await loadOrReport(ctx);
    if (!policy) return 1;
    const report = runPolicyTests(policy);
    if (fmt === 'json') {
      ctx.out(
        JSON.stringify(
          {
            passed: report.passed,
            failed: report.failed,
            failures: report.results
              .filter((r) => !r.passed)
              .map((r) => ({
                name: r.name,
                role: r.role,
                file: r.file,
                line: r.line,
                expect: r.expect,
                got: r.decision?.effect ?? null,
                reason: r.decision?.reason ?? 'no_such_role',
                trace: r.decision?.trace ?? [],
              })),
            coverage: report.coverage,
          },
          null,
          2,
        ),
      );
      return report.failed > 0 ? 1 : 0;
    }
    for (const r of report.results) {
      if (r.passed) continue;
      ctx.out(
        `FAIL ${shown(ctx, r.file)}:${r.line} ${r.name}: expected ${r.expect}, got ${r.decision?.effect ?? `deny (no role "${r.role}")`}`,
      );
      const role = policy.roles.get(r.role);
      if (role && r.decision) for (const l of explainDecision(role, r.decision, { indent: '    ' })) ctx.out(l);
      ctx.out('');
    }
    for (const g of report.gaps) {
      const missing = [g.allow === 0 ? 'no allow case' : '', g.deny === 0 ? 'no deny case' : ''].filter(Boolean).join(' and ');
      ctx.out(`untested: role ${g.role} (${shown(ctx, g.file)}) has ${missing}`);
    }
    ctx.out(`${report.passed} passed, ${report.failed} failed`);
    return report.failed > 0 ? 1 : 0;
  },
};

const explain: Command = {
  usage: 'policy explain --role R --claims FILE [--format text|json]',
  summary: 'The decision for a set of claims (JSON or YAML) and every condition result.',
  options: { role: { type: 'string' }, claims: { type: 'string' }, format: { type: 'string' }, ascii: { type: 'boolean' } },
  async run(ctx) {
    const roleName = str(ctx, 'role');
    const claimsFile = str(ctx, 'claims');
    if (!roleName || !claimsFile) throw new UsageError('--role and --claims are required');
    const fmt = format(ctx, ['text', 'json'] as const, 'text');
    const policy = await loadOrReport(ctx);
    if (!policy) return 1;
    const role = policy.roles.get(roleName);
    if (!role) {
      ctx.out(`DENY  there is no role "${roleName}" (callers get the same 403 as for a denied match)`);
      return 1;
    }
    const claims = parseYaml(readFileSync(claimsFile, 'utf8')) as unknown;
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims))
      throw new UsageError(`${claimsFile}: the claims must be a JSON or YAML object`);
    const decision = match(claims as Record<string, unknown>, role);
    if (fmt === 'json') {
      ctx.out(
        JSON.stringify(
          { role: role.name, file: role.file, ...decision, explanation: describeReason(decision), missing_claims: missingClaims(decision) },
          null,
          2,
        ),
      );
    } else {
      for (const l of explainDecision(role, decision, { ascii: ctx.values.ascii === true })) ctx.out(l);
    }
    return decision.effect === 'allow' ? 0 : 1;
  },
};

async function sideOf(files: PolicyFile[], label: string): Promise<PolicySide> {
  if (files.length === 0) return EMPTY_SIDE;
  const loaded = await loadPolicy(files);
  if (!loaded.ok) {
    const first = loaded.problems[0]!;
    throw new Error(
      `the policies at ${label} do not load (${loaded.problems.length} problem(s), first: ${first.file}:${first.line}:${first.column}: ${first.message})`,
    );
  }
  return loaded.policy;
}

const diff: Command = {
  usage: 'policy diff --base REF [--head REF] [--format markdown|json]',
  summary: 'Who gains or loses what between two git revisions (head: the working tree), with a risk per change.',
  options: { base: { type: 'string' }, head: { type: 'string' }, format: { type: 'string' } },
  async run(ctx) {
    const baseRef = str(ctx, 'base');
    const headRef = str(ctx, 'head');
    if (!baseRef) throw new UsageError('--base is required (e.g. --base origin/main)');
    const fmt = format(ctx, ['markdown', 'json'] as const, 'markdown');
    const base = await sideOf(readPolicyDirAtRevision(ctx.policiesDir, baseRef), baseRef);
    const head = await sideOf(
      headRef === undefined ? readPolicyDir(ctx.policiesDir) : readPolicyDirAtRevision(ctx.policiesDir, headRef),
      headRef ?? 'the working tree',
    );
    const result = diffPolicies(base, head);
    const labels = {
      base: describeRevision(ctx.policiesDir, baseRef),
      head: headRef === undefined ? 'working tree' : describeRevision(ctx.policiesDir, headRef),
    };
    if (fmt === 'json') ctx.out(JSON.stringify({ ...labels, ...result }, null, 2));
    else ctx.out(renderDiffMarkdown(result, labels));
    return 0;
  },
};

const review: Command = {
  usage: 'policy review --base REF [--head REF] [--dry-run]',
  summary: 'Check, test and diff, as one pull-request comment (created, then updated); exit 1 on errors.',
  options: { base: { type: 'string' }, head: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  async run(ctx) {
    const base = str(ctx, 'base');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions `${{ }}` expression for the workflow file, not a JS placeholder
    if (!base) throw new UsageError('--base is required (in a workflow: --base origin/${{ github.base_ref }})');
    const result = await buildReview({ policiesDir: ctx.policiesDir, base, head: str(ctx, 'head') });
    if (ctx.env.GITHUB_STEP_SUMMARY) appendFileSync(ctx.env.GITHUB_STEP_SUMMARY, result.body);
    if (ctx.values['dry-run'] === true) {
      ctx.out(result.body);
    } else {
      const target = targetFromEnv(ctx.env);
      try {
        const published = await publishReview(target, result.body);
        ctx.out(
          `review comment ${published.action} on ${target.owner}/${target.repo}#${target.pullRequest}${published.url ? `: ${published.url}` : ''}`,
        );
      } catch (err) {
        const status = (err as { status?: number }).status;
        // A pull request from a fork gets a read-only token: the review still decides, and the job summary has it.
        if (status !== 403) throw err;
        ctx.err(
          `could not comment on the pull request (403: a read-only token, as on pull requests from forks); the review is in the job summary`,
        );
        ctx.out(result.body);
      }
    }
    ctx.out(result.ok ? 'policy review passed' : 'policy review failed');
    return result.ok ? 0 : 1;
  },
};

export const policyCommands: Record<string, Command> = {
  'policy check': check,
  'policy test': test,
  'policy explain': explain,
  'policy diff': diff,
  'policy review': review,
};
