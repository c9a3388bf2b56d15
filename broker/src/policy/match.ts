// The decision: pure, total, and explained. Deny sets are checked first and win; then any allow set whose
// every condition holds allows. A claim the policy names but the token lacks never matches. Deciding and
// explaining are separate passes: the exchange only decides.
import type { CompiledRole, CompiledSet } from './compile.ts';

export type Claims = Readonly<Record<string, unknown>>;

export interface TraceEntry {
  set: string;
  claim: string;
  condition: string;
  /** The claim as the token gave it (JSON, shortened), or null when the token lacks it. */
  actual: string | null;
  result: boolean;
}

/** Tagged, so that a deny's reason is only ever a deny's (the exchange writes it as `policy.<reason>`). */
export type Outcome = { effect: 'allow'; reason: 'allow_matched' } | { effect: 'deny'; reason: 'deny_matched' | 'no_allow_matched' };

export type Verdict = Outcome & {
  /** The set that decided: `allow[1]` or `deny[0]`. */
  matched?: string;
  /** The first failing condition of each set tried, `allow[0].ref` (for the audit record). */
  failing: string[];
};

export type Decision = Outcome & {
  matched?: string;
  trace: TraceEntry[];
};

const MISSING = Symbol('missing');

/** Own properties only: `__proto__`, `constructor` and friends are never read through the prototype. */
function claimValue(claims: Claims, name: string): unknown {
  return Object.hasOwn(claims, name) ? claims[name] : MISSING;
}

function show(value: unknown): string | null {
  if (value === MISSING) return null;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** The decision pass: a set stops at its first failing condition, tried cheapest and most selective first. */
function setHolds(set: CompiledSet, claims: Claims, failing: string[]): boolean {
  for (const cond of set.order) {
    const value = claimValue(claims, cond.claim);
    if (value === MISSING || !cond.test(value)) {
      failing.push(`${set.label}.${cond.claim}`);
      return false;
    }
  }
  return true;
}

/**
 * The verdict alone, as the exchange needs it: deny sets first (one that holds decides), then the first allow
 * set that holds. Every set stops at its first failing condition, exact ids first, so a token from another
 * repository never reaches a pattern; each pattern is linear in a capped claim (pattern.ts).
 */
export function decide(claims: Claims, role: CompiledRole): Verdict {
  const failing: string[] = [];
  for (const set of role.deny) {
    if (setHolds(set, claims, failing)) return { effect: 'deny', reason: 'deny_matched', matched: set.label, failing };
  }
  for (const set of role.allow) {
    if (setHolds(set, claims, failing)) return { effect: 'allow', reason: 'allow_matched', matched: set.label, failing };
  }
  return { effect: 'deny', reason: 'no_allow_matched', failing };
}

/** Entries a trace holds at most; a role larger than that is traced up to here. */
export const TRACE_MAX = 512;

/**
 * The explanation, a separate pass for `policy test`, explain and the admin page: every condition of every
 * set in the policy's order, up to TRACE_MAX entries. Each condition runs once over a capped claim, so the
 * pass is bounded by the role's pattern budget (schema.ts), like the decision.
 */
export function traceDecision(claims: Claims, role: CompiledRole): TraceEntry[] {
  const trace: TraceEntry[] = [];
  for (const set of [...role.deny, ...role.allow]) {
    for (const cond of set.conditions) {
      if (trace.length >= TRACE_MAX) return trace;
      const value = claimValue(claims, cond.claim);
      const result = value !== MISSING && cond.test(value);
      trace.push({ set: set.label, claim: cond.claim, condition: cond.describe, actual: show(value), result });
    }
  }
  return trace;
}

/** The decision with its trace. */
export function match(claims: Claims, role: CompiledRole): Decision {
  const { failing: _, ...verdict } = decide(claims, role);
  return { ...verdict, trace: traceDecision(claims, role) };
}
