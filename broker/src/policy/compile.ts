// Compiles a loaded policy once: every condition becomes a predicate over one claim value. Matching is then
// a map lookup plus a few predicate calls, however many roles are loaded.
import { parseDuration } from '../util/duration.ts';
import { compileGlobPattern, compileRegexPattern, type Pattern } from './pattern.ts';
import type { LoadedPolicy, Located } from './load.ts';
import { claimLocation, type Condition, type ConditionSet, type IssuerConfig, type Role } from './schema.ts';

export interface CompiledCondition {
  /** The condition key: a top-level claim name, or a JSON Pointer (`/kubernetes.io/namespace`). */
  claim: string;
  /** A pointer's unescaped reference tokens; absent for a top-level claim. */
  path?: readonly string[];
  /** A readable form of the condition for traces: `"refs/heads/main"`, `glob refs/heads/*`. */
  describe: string;
  test(value: unknown): boolean;
  /** RE2 instructions of its patterns (0 for exact values): matching order and the role's budget. */
  cost: number;
}

export interface CompiledSet {
  label: string;
  /** In the policy's order (for traces). */
  conditions: CompiledCondition[];
  /** The same conditions in the order the decision tries them: exact ids, exact values, then patterns by cost. */
  order: CompiledCondition[];
}

export interface CompiledRole {
  name: string;
  role: Role;
  file: string;
  issuer: string;
  maxTtl: number;
  allow: CompiledSet[];
  deny: CompiledSet[];
}

export interface CompiledIssuer extends IssuerConfig {
  name: string;
  maxTokenAge: number;
  maxTokenLifetime: number;
}

export interface CompiledPolicy {
  hash: string;
  roles: Map<string, CompiledRole>;
  issuers: Map<string, CompiledIssuer>;
  /** Exact issuer URL -> issuer; the only way a token's `iss` selects an issuer. */
  issuersByUrl: Map<string, CompiledIssuer>;
  source: LoadedPolicy;
}

// Both run on re2js (pattern.ts): linear in the claim, claims over PATTERN_CLAIM_MAX never match.
export function compileGlob(glob: string): Pattern {
  return compileGlobPattern(glob);
}

/** Policy regexes are always anchored: `v[0-9]+` means the whole claim. */
export function compileRegex(source: string): Pattern {
  return compileRegexPattern(source);
}

/** YAML numbers and booleans stand for their canonical string. */
function canonical(value: string | number | bigint | boolean): string {
  return typeof value === 'string' ? value : String(value);
}

export function compileCondition(claim: string, condition: Condition): CompiledCondition {
  const parts = (Array.isArray(condition) ? condition : [condition]).map(compileSingle);
  const at = claimLocation(claim);
  if (parts.length === 1) {
    const [only] = parts as [Single];
    return { ...at, describe: only.describe, test: only.test, cost: only.cost };
  }
  // exact values first: a list that names the value never runs its patterns
  const ordered = [...parts].sort((a, b) => a.cost - b.cost);
  return {
    ...at,
    describe: `any of [${parts.map((p) => p.describe).join(', ')}]`,
    test: (value) => ordered.some((p) => p.test(value)),
    cost: parts.reduce((sum, p) => sum + p.cost, 0),
  };
}

type Single = Omit<CompiledCondition, 'claim' | 'path'>;

function compileSingle(condition: Exclude<Condition, unknown[]>): Single {
  if (typeof condition !== 'object') {
    const expected = canonical(condition);
    // Only a string claim can equal a string condition: no coercion, no trimming, no case folding.
    return { describe: JSON.stringify(expected), test: (v) => typeof v === 'string' && v === expected, cost: 0 };
  }
  if ('glob' in condition) {
    const re = compileGlob(condition.glob);
    return { describe: `glob ${condition.glob}`, test: (v) => typeof v === 'string' && re.test(v), cost: re.size };
  }
  if ('regex' in condition) {
    const re = compileRegex(condition.regex);
    return { describe: `regex ${condition.regex}`, test: (v) => typeof v === 'string' && re.test(v), cost: re.size };
  }
  const expected = condition.equals;
  const want = typeof expected === 'bigint' ? Number(expected) : expected;
  return {
    describe: `equals ${JSON.stringify(typeof expected === 'bigint' ? expected.toString() : expected)}`,
    test: (v) => v === want,
    cost: 0,
  };
}

/** Claims that name the repository or its owner by id: the condition most tokens fail first. */
const ID_FIRST = new Set(['repository_id', 'repository_owner_id', 'project_id', 'namespace_id']);

function compileSet(label: string, set: ConditionSet): CompiledSet {
  const conditions = Object.entries(set).map(([claim, cond]) => compileCondition(claim, cond));
  // The decision stops at the first failing condition, so the cheap and selective ones go first: exact ids,
  // then exact values, then patterns by cost. The trace keeps the policy's own order (`evaluationOrder`).
  const rank = (c: CompiledCondition) => (ID_FIRST.has(c.claim) && c.cost === 0 ? -1 : c.cost);
  const order = conditions
    .map((c, i) => ({ c, i }))
    .sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i)
    .map((x) => x.c);
  return { label, conditions, order };
}

export function compileRole(located: Located<Role>): CompiledRole {
  const role = located.value;
  return {
    name: role.role,
    role,
    file: located.file,
    issuer: role.issuer,
    maxTtl: parseDuration(role.max_ttl) ?? 0,
    allow: role.allow.map((set, i) => compileSet(`allow[${i}]`, set)),
    deny: role.deny.map((set, i) => compileSet(`deny[${i}]`, set)),
  };
}

export function compilePolicy(policy: LoadedPolicy): CompiledPolicy {
  const issuers = new Map<string, CompiledIssuer>();
  const issuersByUrl = new Map<string, CompiledIssuer>();
  for (const [name, cfg] of policy.issuers) {
    const issuer: CompiledIssuer = {
      ...cfg,
      name,
      maxTokenAge: parseDuration(cfg.max_token_age) ?? 600,
      maxTokenLifetime: parseDuration(cfg.max_token_lifetime) ?? 7200,
    };
    issuers.set(name, issuer);
    issuersByUrl.set(cfg.url, issuer);
  }
  const roles = new Map<string, CompiledRole>();
  for (const [name, located] of policy.roles) roles.set(name, compileRole(located));
  return { hash: policy.hash, roles, issuers, issuersByUrl, source: policy };
}
