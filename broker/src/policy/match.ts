// The decision: pure, total, and explained. Deny sets are checked first and win; then any allow set whose
// every condition holds allows. A claim the policy names but the token lacks never matches.
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

export interface Decision {
  effect: 'allow' | 'deny';
  reason: 'allow_matched' | 'deny_matched' | 'no_allow_matched';
  /** The set that decided: `allow[1]` or `deny[0]`. */
  matched?: string;
  trace: TraceEntry[];
}

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

function evaluateSet(set: CompiledSet, claims: Claims, trace: TraceEntry[]): boolean {
  let all = true;
  for (const cond of set.conditions) {
    const value = claimValue(claims, cond.claim);
    const result = value !== MISSING && cond.test(value);
    trace.push({ set: set.label, claim: cond.claim, condition: cond.describe, actual: show(value), result });
    all &&= result;
  }
  return all;
}

export function match(claims: Claims, role: CompiledRole): Decision {
  const trace: TraceEntry[] = [];
  let denied: string | undefined;
  for (const set of role.deny) {
    if (evaluateSet(set, claims, trace)) denied ??= set.label;
  }
  // Allow sets are evaluated even after a deny matched, so that the trace shows every condition.
  let allowed: string | undefined;
  for (const set of role.allow) {
    if (evaluateSet(set, claims, trace)) allowed ??= set.label;
  }
  if (denied) return { effect: 'deny', reason: 'deny_matched', matched: denied, trace };
  if (allowed) return { effect: 'allow', reason: 'allow_matched', matched: allowed, trace };
  return { effect: 'deny', reason: 'no_allow_matched', trace };
}
