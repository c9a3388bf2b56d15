// `policy test` as a pure function: every case in policies/tests decided by the same match() the broker uses,
// and per role how many allow and deny cases prove it (a role with only one kind is not really tested).
import type { CompiledPolicy } from '../compile.ts';
import { match, type Decision } from '../match.ts';

export interface CaseResult {
  name: string;
  role: string;
  file: string;
  line: number;
  expect: 'allow' | 'deny';
  /** Undefined when the case names a role the set does not have. */
  decision: Decision | undefined;
  passed: boolean;
}

export interface RoleCoverage {
  role: string;
  file: string;
  allow: number;
  deny: number;
}

export interface TestReport {
  results: CaseResult[];
  passed: number;
  failed: number;
  coverage: RoleCoverage[];
  /** Roles without an allow case or without a deny case. */
  gaps: RoleCoverage[];
}

export function runPolicyTests(policy: CompiledPolicy): TestReport {
  const results: CaseResult[] = policy.source.tests.map(({ value: t, file, line }) => {
    const role = policy.roles.get(t.role);
    const decision = role ? match(t.claims, role) : undefined;
    return { name: t.name, role: t.role, file, line, expect: t.expect, decision, passed: decision?.effect === t.expect };
  });
  const coverage = [...policy.roles.values()]
    .map((r) => ({
      role: r.name,
      file: r.file,
      allow: results.filter((c) => c.role === r.name && c.expect === 'allow').length,
      deny: results.filter((c) => c.role === r.name && c.expect === 'deny').length,
    }))
    .sort((a, b) => (a.role < b.role ? -1 : 1));
  const passed = results.filter((r) => r.passed).length;
  return { results, passed, failed: results.length - passed, coverage, gaps: coverage.filter((c) => c.allow === 0 || c.deny === 0) };
}
