// `policy check` as a pure function: load problems (as the `schema` rule) and lint findings in one sorted
// list, with counts. The CLI prints it as text, JSON or SARIF; the pull-request review puts it in a comment.
import { lintFiles, lintPolicy, sortFindings, type LintFinding } from './lint.ts';
import { loadPolicy, type LoadedPolicy, type PolicyFile } from '../load.ts';
import { ruleInfo } from './rules.ts';

export interface CheckReport {
  findings: LintFinding[];
  errors: number;
  warnings: number;
  /** The loaded set, when it loads (lint findings do not stop it loading). */
  policy: LoadedPolicy | undefined;
}

export async function checkPolicy(files: PolicyFile[]): Promise<CheckReport> {
  const loaded = await loadPolicy(files);
  const raw = lintFiles(files);
  const findings: LintFinding[] = [...raw];
  if (loaded.ok) {
    findings.push(...lintPolicy(loaded.policy));
  } else {
    for (const p of loaded.problems) {
      // A raw finding at the same place (a duplicate name, a (?i) that is not even valid) says it better.
      if (raw.some((r) => r.file === p.file && r.line === p.line)) continue;
      findings.push({
        rule: 'schema',
        severity: 'error',
        file: p.file,
        line: p.line,
        column: p.column,
        message: p.message,
        hint: ruleInfo('schema').help,
      });
    }
  }
  const sorted = sortFindings(findings);
  return {
    findings: sorted,
    errors: sorted.filter((f) => f.severity === 'error').length,
    warnings: sorted.filter((f) => f.severity === 'warning').length,
    policy: loaded.ok ? loaded.policy : undefined,
  };
}
