// Builds policy sets from in-memory files, the way the entries do after reading the directory.
import { compilePolicy, type CompiledPolicy, type CompiledRole } from '../../../broker/src/policy/compile.ts';
import { loadPolicy, type PolicyFile, type PolicyProblem } from '../../../broker/src/policy/load.ts';

/** Strips the common indentation and the first newline, so a test's YAML reads with its real line numbers. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = String.raw({ raw: strings }, ...values).replace(/^\n/, '');
  const lines = text.split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0));
  return lines.map((l) => l.slice(indent)).join('\n');
}

export const ISSUERS = yaml`
  issuers:
    github:
      url: https://token.actions.githubusercontent.com
      audience: https://broker.example.com
    gitlab:
      url: https://gitlab.com
      audience: https://broker.example.com
`;

/**
 * A role file whose body (allow/deny) starts at line 4:
 *   1 role, 2 issuer, 3 max_ttl, 4.. body, then grants.
 */
export function roleYaml(body: string, name = 'r'): string {
  return `role: ${name}\nissuer: github\nmax_ttl: 15m\n${body.replace(/\n*$/, '\n')}grants:\n  - type: secret\n    name: S\n`;
}

export function files(...extra: PolicyFile[]): PolicyFile[] {
  return [{ path: 'issuers.yaml', text: ISSUERS }, ...extra];
}

export async function compileFiles(list: PolicyFile[]): Promise<CompiledPolicy> {
  const result = await loadPolicy(list);
  if (!result.ok) throw new Error(`policy did not load: ${JSON.stringify(result.problems, null, 2)}`);
  return compilePolicy(result.policy);
}

/** The one role `r` compiled from an allow/deny body. */
export async function compileRoleBody(body: string): Promise<CompiledRole> {
  const policy = await compileFiles(files({ path: 'roles/r.yaml', text: roleYaml(body) }));
  const role = policy.roles.get('r');
  if (!role) throw new Error('role r missing');
  return role;
}

/** The load problems of a policy set that must not load. */
export async function problemsOf(list: PolicyFile[]): Promise<PolicyProblem[]> {
  const result = await loadPolicy(list);
  if (result.ok) throw new Error('expected the policy set to be refused, but it loaded');
  return result.problems;
}

/** Where the problems point, without the message text. */
export function where(problems: PolicyProblem[]): { file: string; line: number; column: number }[] {
  return problems.map(({ file, line, column }) => ({ file, line, column }));
}
