// The decision: pure, total, and explained. Deny sets are checked first and win; then any allow set whose
// every condition holds allows. A claim the policy names but the token lacks never matches. Deciding and
// explaining are separate passes: the exchange only decides.
import type { CompiledCondition, CompiledRole, CompiledSet } from './compile.ts';

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

/** What a condition reads when the token lacks the claim: it never matches. */
export const MISSING: unique symbol = Symbol('missing');

/** Own properties only: `__proto__`, `constructor` and friends are never read through the prototype. */
function ownValue(container: unknown, token: string): unknown {
  if (Array.isArray(container)) {
    // An array is entered by a canonical index only (RFC 6901: no leading zeros, no "-"): never `length`.
    if (!/^(?:0|[1-9][0-9]{0,8})$/.test(token)) return MISSING;
    const i = Number(token);
    return i < container.length ? container[i] : MISSING;
  }
  if (typeof container !== 'object' || container === null) return MISSING;
  return Object.hasOwn(container, token) ? (container as Record<string, unknown>)[token] : MISSING;
}

/**
 * The value a condition reads: a top-level claim, or what its JSON Pointer reaches through JSON objects and
 * arrays of the claims. Any missing step is MISSING, and MISSING never matches.
 */
export function claimValue(claims: Claims, cond: Pick<CompiledCondition, 'claim' | 'path'>): unknown {
  if (!cond.path) return ownValue(claims, cond.claim);
  let value: unknown = claims;
  for (const token of cond.path) {
    value = ownValue(value, token);
    if (value === MISSING) return MISSING;
  }
  return value;
}

function show(value: unknown): string | null {
  if (value === MISSING) return null;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** The decision pass: a set stops at its first failing condition, tried cheapest and most selective first. */
function setHolds(set: CompiledSet, claims: Claims, failing: string[]): boolean {
  for (const cond of set.order) {
    const value = claimValue(claims, cond);
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
      const value = claimValue(claims, cond);
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
