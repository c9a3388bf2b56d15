// A decision as a person reads it: the verdict, which set decided and why, the claims the token lacks, then
// every condition of every set in aligned columns (claim, the token's value, the condition) with ✓ or ✗.
import type { CompiledRole } from '../compile.ts';
import type { Decision, TraceEntry } from '../match.ts';

export interface ExplainOptions {
  /** "ok"/"FAIL" instead of ✓/✗, for logs that mangle UTF-8. */
  ascii?: boolean;
  /** Widest value column before it is cut with "…". */
  maxValueWidth?: number;
  indent?: string;
}

export function describeReason(decision: Decision): string {
  const allowed = [...new Set(decision.trace.map((t) => t.set))].filter((s) => s.startsWith('allow') && setHolds(decision.trace, s));
  switch (decision.reason) {
    case 'allow_matched':
      return `allowed by ${decision.matched}: every condition in it holds, and no deny set matches`;
    case 'deny_matched':
      return `denied by ${decision.matched}: a matching deny set wins${allowed.length > 0 ? ` (${allowed.join(', ')} alone would have allowed)` : ''}`;
    case 'no_allow_matched':
      return 'denied: no allow set matches (each has at least one failing condition)';
  }
}

function setHolds(trace: TraceEntry[], set: string): boolean {
  return trace.filter((t) => t.set === set).every((t) => t.result);
}

/** Claims that some condition names but the token lacks: the usual reason for a surprise deny. */
export function missingClaims(decision: Decision): string[] {
  return [...new Set(decision.trace.filter((t) => t.actual === null).map((t) => t.claim))];
}

const cut = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text);

export function explainDecision(role: CompiledRole, decision: Decision, options: ExplainOptions = {}): string[] {
  const pass = options.ascii ? 'ok  ' : '✓';
  const fail = options.ascii ? 'FAIL' : '✗';
  const width = options.maxValueWidth ?? 48;
  const indent = options.indent ?? '';
  const lines: string[] = [];
  lines.push(`${indent}${decision.effect.toUpperCase()}  role ${role.name} (${role.file})`);
  lines.push(`${indent}  ${describeReason(decision)}`);
  const missing = missingClaims(decision);
  if (missing.length > 0) lines.push(`${indent}  missing claims (a condition on a missing claim never holds): ${missing.join(', ')}`);
  lines.push('');

  const rows = decision.trace.map((t) => ({ ...t, shown: t.actual === null ? '(missing)' : cut(t.actual, width) }));
  const claimWidth = Math.max(5, ...rows.map((r) => r.claim.length));
  const valueWidth = Math.max(5, ...rows.map((r) => r.shown.length));
  const sets = [...new Set(rows.map((r) => r.set))];
  const setWidth = Math.max(...sets.map((s) => s.length));
  lines.push(
    `${indent}  ${' '.repeat(setWidth + 2)}${''.padEnd(fail.length + 1)}${'claim'.padEnd(claimWidth)}  ${'token'.padEnd(valueWidth)}  condition`,
  );
  for (const set of sets) {
    const entries = rows.filter((r) => r.set === set);
    const failing = entries.filter((r) => !r.result).length;
    const status =
      failing === 0
        ? 'matches'
        : `no match: ${failing} of ${entries.length} condition${entries.length > 1 ? 's' : ''} fail${failing > 1 ? '' : 's'}`;
    lines.push(`${indent}  ${set.padEnd(setWidth)}  ${status}${set === decision.matched ? '  <- decided' : ''}`);
    for (const r of entries) {
      lines.push(
        `${indent}  ${' '.repeat(setWidth + 2)}${(r.result ? pass : fail).padEnd(fail.length)} ${r.claim.padEnd(claimWidth)}  ${r.shown.padEnd(valueWidth)}  ${r.condition}`,
      );
    }
  }
  return lines.map((l) => l.replace(/\s+$/, ''));
}
