import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { readPolicyDir } from '../../broker/entry/node/policy-files.ts';
import { compilePolicy, type CompiledPolicy } from '../../broker/src/policy/compile.ts';
import { loadPolicy } from '../../broker/src/policy/load.ts';
import { match, type Decision } from '../../broker/src/policy/match.ts';
import { str, UsageError, type Command, type CommandContext } from '../context.ts';

/** Loads and compiles, printing file:line:column problems; undefined when the set has errors. */
async function loadOrReport(ctx: CommandContext): Promise<CompiledPolicy | undefined> {
  const loaded = await loadPolicy(readPolicyDir(ctx.policiesDir));
  if (!loaded.ok) {
    for (const p of loaded.problems) ctx.out(`${ctx.policiesDir}/${p.file}:${p.line}:${p.column}: error: ${p.message}`);
    ctx.err(`${loaded.problems.length} error(s)`);
    return undefined;
  }
  return compilePolicy(loaded.policy);
}

export function formatTrace(decision: Decision): string[] {
  return decision.trace.map(
    (t) => `    ${t.result ? 'ok  ' : 'FAIL'} ${t.set} ${t.claim}: ${t.actual ?? '(missing)'} vs ${t.condition}`,
  );
}

const check: Command = {
  usage: 'policy check',
  summary: 'Validate the policy set (schema, references); exit 1 on errors.',
  options: {},
  async run(ctx) {
    const policy = await loadOrReport(ctx);
    if (!policy) return 1;
    ctx.out(`policy OK: ${policy.issuers.size} issuer(s), ${policy.roles.size} role(s), hash ${policy.hash}`);
    return 0;
  },
};

const test: Command = {
  usage: 'policy test',
  summary: 'Run policies/tests/*.yaml against the roles; prints N passed, N failed.',
  options: {},
  async run(ctx) {
    const policy = await loadOrReport(ctx);
    if (!policy) return 1;
    let passed = 0;
    let failed = 0;
    for (const { value: t, file, line } of policy.source.tests) {
      const role = policy.roles.get(t.role);
      if (!role) continue;
      const decision = match(t.claims, role);
      if (decision.effect === t.expect) {
        passed++;
        continue;
      }
      failed++;
      ctx.out(`FAIL ${file}:${line} ${t.name}: expected ${t.expect}, got ${decision.effect} (${decision.reason})`);
      for (const l of formatTrace(decision)) ctx.out(l);
    }
    ctx.out(`${passed} passed, ${failed} failed`);
    return failed > 0 ? 1 : 0;
  },
};

const explain: Command = {
  usage: 'policy explain --role R --claims FILE',
  summary: 'Show the decision for a set of claims and every condition result.',
  options: { role: { type: 'string' }, claims: { type: 'string' } },
  async run(ctx) {
    const roleName = str(ctx, 'role');
    const claimsFile = str(ctx, 'claims');
    if (!roleName || !claimsFile) throw new UsageError('--role and --claims are required');
    const policy = await loadOrReport(ctx);
    if (!policy) return 1;
    const role = policy.roles.get(roleName);
    if (!role) {
      ctx.out(`deny: there is no role "${roleName}" (callers get the same 403 as for a denied match)`);
      return 1;
    }
    const claims = parseYaml(readFileSync(claimsFile, 'utf8')) as Record<string, unknown>;
    const decision = match(claims, role);
    ctx.out(`${decision.effect}: ${decision.reason}${decision.matched ? ` (${decision.matched})` : ''}`);
    for (const l of formatTrace(decision)) ctx.out(l);
    return decision.effect === 'allow' ? 0 : 1;
  },
};

export const policyCommands: Record<string, Command> = {
  'policy check': check,
  'policy test': test,
  'policy explain': explain,
};
