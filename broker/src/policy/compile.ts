// Compiles a loaded policy once: every condition becomes a predicate over one claim value. Matching is then
// a map lookup plus a few predicate calls, however many roles are loaded.
import picomatch from 'picomatch/posix.js';
import { parseDuration } from '../util/duration.ts';
import type { LoadedPolicy, Located } from './load.ts';
import type { Condition, ConditionSet, IssuerConfig, Role } from './schema.ts';

export interface CompiledCondition {
  claim: string;
  /** A readable form of the condition for traces: `"refs/heads/main"`, `glob refs/heads/*`. */
  describe: string;
  test(value: unknown): boolean;
}

export interface CompiledSet {
  label: string;
  conditions: CompiledCondition[];
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

// `*` and `?` never cross `/`; no negation (extglob `!(x)` included), no trailing-slash leniency; matched
// case-sensitively against the raw claim (the regex is used directly, so picomatch never rewrites the input).
const GLOB_OPTIONS = { dot: true, nonegate: true, noextglob: true, strictSlashes: true } as const;

export function compileGlob(glob: string): RegExp {
  // picomatch drops a leading "./" from the pattern (so "./*" would mean "*"); escaping the dot keeps it literal.
  return picomatch.makeRe(glob.startsWith('./') ? `\\${glob}` : glob, GLOB_OPTIONS);
}

/** Policy regexes are always anchored: `v[0-9]+` means the whole claim. */
export function compileRegex(source: string): RegExp {
  return new RegExp(`^(?:${source})$`, 'u');
}

/** YAML numbers and booleans stand for their canonical string. */
function canonical(value: string | number | bigint | boolean): string {
  return typeof value === 'string' ? value : String(value);
}

export function compileCondition(claim: string, condition: Condition): CompiledCondition {
  const parts = (Array.isArray(condition) ? condition : [condition]).map(compileSingle);
  if (parts.length === 1) {
    const [only] = parts as [Single];
    return { claim, describe: only.describe, test: only.test };
  }
  return {
    claim,
    describe: `any of [${parts.map((p) => p.describe).join(', ')}]`,
    test: (value) => parts.some((p) => p.test(value)),
  };
}

type Single = Omit<CompiledCondition, 'claim'>;

function compileSingle(condition: Exclude<Condition, unknown[]>): Single {
  if (typeof condition !== 'object') {
    const expected = canonical(condition);
    // Only a string claim can equal a string condition: no coercion, no trimming, no case folding.
    return { describe: JSON.stringify(expected), test: (v) => typeof v === 'string' && v === expected };
  }
  if ('glob' in condition) {
    const re = compileGlob(condition.glob);
    return { describe: `glob ${condition.glob}`, test: (v) => typeof v === 'string' && re.test(v) };
  }
  if ('regex' in condition) {
    const re = compileRegex(condition.regex);
    return { describe: `regex ${condition.regex}`, test: (v) => typeof v === 'string' && re.test(v) };
  }
  const expected = condition.equals;
  const want = typeof expected === 'bigint' ? Number(expected) : expected;
  return { describe: `equals ${JSON.stringify(typeof expected === 'bigint' ? expected.toString() : expected)}`, test: (v) => v === want };
}

function compileSet(label: string, set: ConditionSet): CompiledSet {
  return { label, conditions: Object.entries(set).map(([claim, cond]) => compileCondition(claim, cond)) };
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
