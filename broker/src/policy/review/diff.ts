// What a policy change does to access, role by role: which conditions were loosened, removed or added, which
// deny sets went away, which grants widened or narrowed, which roles and issuers came or went. Every change
// has a direction (widened / narrowed / changed) and a risk (high / medium / low), and a loosened condition
// comes with examples of values it now admits, found by trying the values and pattern samples of both sides
// against both sides (so "exact -> glob" and "glob widened" read the same way: "now also admits x").
// Rendering it as Markdown is diff-markdown.ts.
import { compileCondition } from '../compile.ts';
import type { Located } from '../load.ts';
import { oddness } from './regex-scan.ts';
import { ID_CLAIMS, isExact, NAME_CLAIMS, productionVerdict, PROTECTED_CLAIMS, singlesOf, witnessesOf } from './role-facts.ts';
import type { Condition, ConditionSet, Grant, GrantOf, IssuerConfig, Role } from '../schema.ts';
import { parseDuration } from '../../util/duration.ts';
import { diffStoreSecret, storeSecretLabel } from './diff-store-secret.ts';
import { isStoreSecretGrant, storeSecretId } from '../store-secret-names.ts';

export type Risk = 'high' | 'medium' | 'low';
export type Direction = 'widened' | 'narrowed' | 'changed';

export interface PolicyChange {
  risk: Risk;
  direction: Direction;
  /** A stable name for tools: condition-removed, deny-set-removed, grant-added, ... */
  kind: string;
  /** Where in the role or issuer: allow[0].ref, deny[1], grants[0] (aws), max_ttl. */
  where: string;
  /** One sentence; code spans in backticks. */
  summary: string;
  /** Values the changed condition now admits (or no longer admits, for a narrowing). */
  examples?: string[];
}

export interface RoleDiff {
  role: string;
  /** The file at head (at base for a removed role). */
  file: string;
  status: 'added' | 'removed' | 'changed';
  production: boolean;
  risk: Risk;
  changes: PolicyChange[];
  /** Who can obtain the role at head, one line per allow and deny set (for added or widened roles). */
  whoNow: string[];
}

export interface IssuerDiff {
  issuer: string;
  status: 'added' | 'removed' | 'changed';
  risk: Risk;
  changes: PolicyChange[];
}

export interface PolicyDiff {
  roles: RoleDiff[];
  issuers: IssuerDiff[];
  counts: Record<Risk, number>;
}

/** The part of a loaded policy the diff reads (LoadedPolicy has it). */
export interface PolicySide {
  roles: Map<string, Located<Role>>;
  issuers: Map<string, IssuerConfig>;
}

export const EMPTY_SIDE: PolicySide = { roles: new Map(), issuers: new Map() };

const RISK_ORDER: Record<Risk, number> = { high: 0, medium: 1, low: 2 };

/** Claims whose loosening changes *who* gets in: repository, owner, branch, environment, event, runner. */
const CRITICAL_CLAIMS = new Set<string>([
  ...ID_CLAIMS.github,
  ...ID_CLAIMS.gitlab,
  ...NAME_CLAIMS.github,
  ...NAME_CLAIMS.gitlab,
  ...PROTECTED_CLAIMS,
  'event_name',
  'pipeline_source',
  'runner_environment',
  'job_project_id',
  'job_project_path',
]);

export const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;

function describeCondition(claim: string, condition: Condition): string {
  return compileCondition(claim, condition).describe;
}

const bigSafe = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
const same = (a: unknown, b: unknown) => JSON.stringify(a, bigSafe) === JSON.stringify(b, bigSafe);

/** One line per set: `repository_id "123456", ref glob refs/heads/*`. */
export function describeSet(set: ConditionSet): string {
  return Object.entries(set)
    .map(([claim, cond]) => `${claim} ${describeCondition(claim, cond)}`)
    .join(', ');
}

// ---------------------------------------------------------------------------------------------------------
// Conditions

interface Comparison {
  relation: 'same' | 'equivalent' | 'wider' | 'narrower' | 'different';
  gained: string[];
  lost: string[];
}

/** Probe values: every exact value and pattern sample of both sides, plus typed `equals` values. */
function probes(...conditions: Condition[]): unknown[] {
  const out = new Map<string, unknown>();
  for (const c of conditions) {
    for (const w of witnessesOf(c)) out.set(`s:${w}`, w);
    for (const s of singlesOf(c)) {
      if (typeof s === 'object' && 'equals' in s) {
        const v = typeof s.equals === 'bigint' ? Number(s.equals) : s.equals;
        out.set(`t:${typeof v}:${String(v)}`, v);
      }
    }
  }
  return [...out.values()];
}

/** Examples a reviewer recognises first: no empty path segments, not empty, then shorter. */
function byPlausibility(a: string, b: string): number {
  return oddness(a) - oddness(b) || a.length - b.length || (a < b ? -1 : 1);
}

const showValue = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

export function compareConditions(claim: string, before: Condition, after: Condition): Comparison {
  if (same(before, after)) return { relation: 'same', gained: [], lost: [] };
  const was = compileCondition(claim, before).test;
  const now = compileCondition(claim, after).test;
  const values = probes(before, after);
  const gained = values
    .filter((v) => now(v) && !was(v))
    .map(showValue)
    .sort(byPlausibility);
  const lost = values
    .filter((v) => was(v) && !now(v))
    .map(showValue)
    .sort(byPlausibility);
  const relation =
    gained.length > 0 && lost.length > 0 ? 'different' : gained.length > 0 ? 'wider' : lost.length > 0 ? 'narrower' : 'equivalent';
  return { relation, gained, lost };
}

function shapeOf(condition: Condition): string {
  const kinds = new Set(
    singlesOf(condition).map((s) => (typeof s !== 'object' ? 'exact' : 'glob' in s ? 'glob' : 'regex' in s ? 'regex' : 'equals')),
  );
  const kind = kinds.size === 1 ? [...kinds][0]! : 'mixed';
  return Array.isArray(condition) && condition.length > 1 ? `list (${kind})` : kind;
}

const examples = (list: string[]) => list.slice(0, 3);
const exampleText = (list: string[]) =>
  list
    .slice(0, 3)
    .map((v) => code(v))
    .join(', ');

interface RoleContext {
  production: boolean;
  changes: PolicyChange[];
}

function allowRisk(ctx: RoleContext, claim: string | undefined): Risk {
  if (ctx.production) return 'high';
  return claim === undefined || CRITICAL_CLAIMS.has(claim) ? 'high' : 'medium';
}

function diffAllowSet(ctx: RoleContext, where: string, before: ConditionSet, after: ConditionSet): void {
  for (const claim of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const b = before[claim];
    const a = after[claim];
    const at = `${where}.${claim}`;
    if (b !== undefined && a === undefined) {
      ctx.changes.push({
        risk: allowRisk(ctx, claim),
        direction: 'widened',
        kind: 'condition-removed',
        where: at,
        summary: `condition on ${code(claim)} removed (was ${code(describeCondition(claim, b))}): any ${claim} now matches`,
      });
    } else if (b === undefined && a !== undefined) {
      ctx.changes.push({
        risk: 'low',
        direction: 'narrowed',
        kind: 'condition-added',
        where: at,
        summary: `new condition ${code(`${claim} ${describeCondition(claim, a)}`)}`,
      });
    } else if (b !== undefined && a !== undefined) {
      const cmp = compareConditions(claim, b, a);
      const change = `${code(describeCondition(claim, b))} → ${code(describeCondition(claim, a))}`;
      const shape = shapeOf(b) === shapeOf(a) ? '' : ` (${shapeOf(b)} → ${shapeOf(a)})`;
      if (cmp.relation === 'wider' || cmp.relation === 'different') {
        ctx.changes.push({
          risk: allowRisk(ctx, claim),
          direction: cmp.relation === 'wider' ? 'widened' : 'changed',
          kind: cmp.relation === 'wider' ? 'condition-loosened' : 'condition-changed',
          where: at,
          summary: `${cmp.relation === 'wider' ? 'loosened' : 'changed'}${shape}: ${change}; now also admits ${exampleText(cmp.gained)}${cmp.lost.length > 0 ? `, no longer ${exampleText(cmp.lost)}` : ''}`,
          examples: examples(cmp.gained),
        });
      } else if (cmp.relation === 'narrower') {
        ctx.changes.push({
          risk: 'low',
          direction: 'narrowed',
          kind: 'condition-tightened',
          where: at,
          summary: `tightened${shape}: ${change}; no longer admits ${exampleText(cmp.lost)}`,
          examples: examples(cmp.lost),
        });
      } else if (cmp.relation === 'equivalent') {
        ctx.changes.push({
          risk: 'low',
          direction: 'changed',
          kind: 'condition-rewritten',
          where: at,
          summary: `rewritten${shape}: ${change}; same result on every value tried`,
        });
      }
    }
  }
}

/** A deny set that matches more narrows access; one that matches less (or is gone) widens it. */
function diffDenySet(ctx: RoleContext, where: string, before: ConditionSet, after: ConditionSet): void {
  for (const claim of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const b = before[claim];
    const a = after[claim];
    const at = `${where}.${claim}`;
    if (b !== undefined && a === undefined) {
      ctx.changes.push({
        risk: 'low',
        direction: 'narrowed',
        kind: 'deny-condition-removed',
        where: at,
        summary: `deny condition on ${code(claim)} removed: the deny set now matches more runs`,
      });
    } else if (b === undefined && a !== undefined) {
      ctx.changes.push({
        risk: 'high',
        direction: 'widened',
        kind: 'deny-condition-added',
        where: at,
        summary: `deny set now also requires ${code(`${claim} ${describeCondition(claim, a)}`)}: it denies fewer runs`,
      });
    } else if (b !== undefined && a !== undefined) {
      const cmp = compareConditions(claim, b, a);
      const change = `${code(describeCondition(claim, b))} → ${code(describeCondition(claim, a))}`;
      if (cmp.relation === 'narrower' || cmp.relation === 'different') {
        ctx.changes.push({
          risk: 'high',
          direction: cmp.relation === 'narrower' ? 'widened' : 'changed',
          kind: 'deny-condition-narrowed',
          where: at,
          summary: `deny narrowed: ${change}; no longer denies ${exampleText(cmp.lost)}`,
          examples: examples(cmp.lost),
        });
      } else if (cmp.relation === 'wider') {
        ctx.changes.push({
          risk: 'low',
          direction: 'narrowed',
          kind: 'deny-condition-widened',
          where: at,
          summary: `deny widened: ${change}; now also denies ${exampleText(cmp.gained)}`,
          examples: examples(cmp.gained),
        });
      } else if (cmp.relation === 'equivalent') {
        ctx.changes.push({
          risk: 'low',
          direction: 'changed',
          kind: 'deny-condition-rewritten',
          where: at,
          summary: `deny rewritten: ${change}; same result on every value tried`,
        });
      }
    }
  }
}

/**
 * Pairs the sets of two lists so that an inserted set does not read as every later set changing: most
 * similar first (same claims, same conditions), then what is left is added or removed.
 */
export function pairSets(before: ConditionSet[], after: ConditionSet[]): { before?: number; after?: number }[] {
  if (before.length === 1 && after.length === 1) return [{ before: 0, after: 0 }];
  const scores: { b: number; a: number; score: number }[] = [];
  for (const [b, bs] of before.entries()) {
    for (const [a, as] of after.entries()) {
      let score = 0;
      for (const claim of Object.keys(bs)) {
        if (as[claim] === undefined) continue;
        score += same(bs[claim], as[claim]) ? 3 : 1;
      }
      if (score > 0) scores.push({ b, a, score: score - Math.abs(b - a) * 0.01 });
    }
  }
  scores.sort((x, y) => y.score - x.score);
  const usedB = new Set<number>();
  const usedA = new Set<number>();
  const pairs: { before?: number; after?: number }[] = [];
  for (const s of scores) {
    if (usedB.has(s.b) || usedA.has(s.a)) continue;
    usedB.add(s.b);
    usedA.add(s.a);
    pairs.push({ before: s.b, after: s.a });
  }
  for (const b of before.keys()) if (!usedB.has(b)) pairs.push({ before: b });
  for (const a of after.keys()) if (!usedA.has(a)) pairs.push({ after: a });
  return pairs.sort((x, y) => (x.after ?? x.before ?? 0) - (y.after ?? y.before ?? 0));
}

function hasIdBinding(set: ConditionSet): boolean {
  return [...ID_CLAIMS.github, ...ID_CLAIMS.gitlab].some((c) => set[c] !== undefined && isExact(set[c]!));
}

function diffSets(ctx: RoleContext, before: Role, after: Role): void {
  for (const pair of pairSets(before.allow, after.allow)) {
    if (pair.before !== undefined && pair.after !== undefined) {
      const label = pair.before === pair.after ? `allow[${pair.after}]` : `allow[${pair.after}] (was allow[${pair.before}])`;
      diffAllowSet(ctx, label, before.allow[pair.before]!, after.allow[pair.after]!);
    } else if (pair.after !== undefined) {
      const set = after.allow[pair.after]!;
      ctx.changes.push({
        risk: ctx.production || !hasIdBinding(set) ? 'high' : 'medium',
        direction: 'widened',
        kind: 'allow-set-added',
        where: `allow[${pair.after}]`,
        summary: `new allow set: ${code(describeSet(set))}`,
      });
    } else if (pair.before !== undefined) {
      ctx.changes.push({
        risk: 'low',
        direction: 'narrowed',
        kind: 'allow-set-removed',
        where: `allow[${pair.before}] (base)`,
        summary: `allow set removed: ${code(describeSet(before.allow[pair.before]!))}`,
      });
    }
  }
  for (const pair of pairSets(before.deny, after.deny)) {
    if (pair.before !== undefined && pair.after !== undefined) {
      const label = pair.before === pair.after ? `deny[${pair.after}]` : `deny[${pair.after}] (was deny[${pair.before}])`;
      diffDenySet(ctx, label, before.deny[pair.before]!, after.deny[pair.after]!);
    } else if (pair.after !== undefined) {
      ctx.changes.push({
        risk: 'low',
        direction: 'narrowed',
        kind: 'deny-set-added',
        where: `deny[${pair.after}]`,
        summary: `new deny set: ${code(describeSet(after.deny[pair.after]!))}`,
      });
    } else if (pair.before !== undefined) {
      ctx.changes.push({
        risk: 'high',
        direction: 'widened',
        kind: 'deny-set-removed',
        where: `deny[${pair.before}] (base)`,
        summary: `deny set removed: ${code(describeSet(before.deny[pair.before]!))} no longer stops anyone`,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Grants

function grantIdentity(g: Grant): string {
  switch (g.type) {
    case 'aws_secret':
    case 'aws_parameter':
    case 'gcp_secret':
      return storeSecretId(g);
    case 'aws':
      return g.role_arn;
    case 'azure':
      return `${g.tenant_id}/${g.client_id}`;
    case 'gcp':
      return `${g.workload_identity_provider}/${g.service_account ?? ''}`;
    case 'github':
      return `${g.app_id}/${g.installation_id}`;
    case 'secret':
      return g.name;
    case 'azure_secret':
      return azureSecretId(g);
    case 'vault_secret':
      return vaultSecretId(g);
    case 'postgres':
      return `${g.connection_secret}/${g.database}`;
  }
}

function grantLabel(g: Grant): string {
  switch (g.type) {
    case 'aws_secret':
    case 'aws_parameter':
    case 'gcp_secret':
      return storeSecretLabel(g);
    case 'aws':
      return `aws ${g.role_arn}`;
    case 'azure':
      return `azure ${g.client_id} (tenant ${g.tenant_id})`;
    case 'gcp':
      return `gcp ${g.service_account ?? g.workload_identity_provider}`;
    case 'github':
      return `github app ${g.app_id} installation ${g.installation_id}`;
    case 'secret':
      return `secret ${g.name}`;
    case 'azure_secret':
      return `azure_secret ${azureSecretId(g)} as ${exportedNames(g).join(', ')}`;
    case 'vault_secret':
      return `vault_secret ${vaultSecretId(g)} as ${exportedNames(g).join(', ')}`;
    case 'postgres':
      return `postgres login in ${g.database} (member of ${g.member_of.join(', ')}) via ${g.connection_secret}`;
  }
}

// Secrets read from existing stores: the identity is the secret itself (store, name or path), so another
// secret under the same grant type is a grant removed and one added, which says who loses and gains what.
function azureSecretId(g: GrantOf<'azure_secret'>): string {
  return `${g.vault_url.replace(/\/+$/, '')}/secrets/${g.name}`;
}

function vaultSecretId(g: GrantOf<'vault_secret'>): string {
  const ns = g.namespace ? `${g.namespace.replace(/\/+$/, '')}/` : '';
  return `${g.address.replace(/\/+$/, '')}/v1/${ns}${g.mount}/data/${g.path}`;
}

function exportedNames(g: GrantOf<'azure_secret'> | GrantOf<'vault_secret'>): string[] {
  if (g.type === 'vault_secret') return Object.keys(g.keys);
  return g.json_keys ? Object.keys(g.json_keys) : [g.env ?? ''];
}

/** Store-read grants are paired by the secret they read only (see azureSecretId). */
const PAIRED_BY_IDENTITY_ONLY: ReadonlySet<string> = new Set(['secret', 'azure_secret', 'vault_secret']);

const IDENTITY_FIELDS: Record<Grant['type'], string> = {
  aws_secret: 'secret_id',
  aws_parameter: 'name',
  gcp_secret: 'secret',
  aws: 'role_arn',
  azure: 'tenant_id/client_id',
  gcp: 'workload_identity_provider/service_account',
  github: 'app_id/installation_id',
  secret: 'name',
  azure_secret: 'vault_url/name',
  vault_secret: 'address/namespace/mount/path',
  postgres: 'connection_secret/database',
};

const ENDPOINT_FIELDS = [
  'sts_endpoint',
  'authority_host',
  'sts_url',
  'iam_credentials_url',
  'api_url',
  'secretsmanager_endpoint',
  'ssm_endpoint',
  'secret_manager_url',
];

function pairGrants(before: Grant[], after: Grant[]): { before?: number; after?: number }[] {
  const pairs: { before?: number; after?: number }[] = [];
  const usedB = new Set<number>();
  const usedA = new Set<number>();
  after.forEach((g, a) => {
    const b = before.findIndex((x, i) => !usedB.has(i) && x.type === g.type && grantIdentity(x) === grantIdentity(g));
    if (b >= 0) {
      usedB.add(b);
      usedA.add(a);
      pairs.push({ before: b, after: a });
    }
  });
  // Same type, another identity: a role_arn (or app, or provider) that changed, in the order they appear.
  after.forEach((g, a) => {
    if (usedA.has(a)) return;
    const b = before.findIndex(
      (x, i) => !usedB.has(i) && x.type === g.type && !PAIRED_BY_IDENTITY_ONLY.has(g.type) && g.type !== 'secret' && !isStoreSecretGrant(g),
    );
    if (b >= 0) {
      usedB.add(b);
      usedA.add(a);
      pairs.push({ before: b, after: a });
    }
  });
  for (const b of before.keys()) if (!usedB.has(b)) pairs.push({ before: b });
  for (const a of after.keys()) if (!usedA.has(a)) pairs.push({ after: a });
  return pairs;
}

function longer(before: string | undefined, after: string | undefined, fallback: number): number {
  const b = before === undefined ? fallback : (parseDuration(before) ?? fallback);
  const a = after === undefined ? fallback : (parseDuration(after) ?? fallback);
  return Math.sign(a - b);
}

const LEVELS: Record<string, number> = { read: 1, write: 2, admin: 3 };

function diffGrant(ctx: RoleContext, where: string, b: Grant, a: Grant, maxTtl: [number, number]): void {
  const widen = ctx.production ? 'high' : 'medium';
  const push = (risk: Risk, direction: Direction, kind: string, summary: string) =>
    ctx.changes.push({ risk, direction, kind, where, summary });
  if (grantIdentity(b) !== grantIdentity(a)) {
    push(
      'high',
      'changed',
      'grant-target-changed',
      `${IDENTITY_FIELDS[a.type]} changed: ${code(grantIdentity(b))} → ${code(grantIdentity(a))}`,
    );
  }
  const br = b as Record<string, unknown>;
  const ar = a as Record<string, unknown>;
  for (const field of ENDPOINT_FIELDS) {
    if (field in br || field in ar) {
      if (!same(br[field], ar[field]))
        push(
          'high',
          'changed',
          'endpoint-changed',
          `${field} changed: ${code(String(br[field] ?? 'default'))} → ${code(String(ar[field] ?? 'default'))}`,
        );
    }
  }
  const ttl = (field: 'duration' | 'lifetime', before?: string, after?: string) => {
    const sign = longer(before, after, maxTtl[1]);
    if (before === after || sign === 0) return;
    const text = `${field} ${code(before ?? 'max_ttl')} → ${code(after ?? 'max_ttl')}`;
    if (sign > 0) push(widen, 'widened', 'grant-longer', `longer ${text}`);
    else push('low', 'narrowed', 'grant-shorter', `shorter ${text}`);
  };
  if (a.type === 'aws' && b.type === 'aws') {
    ttl('duration', b.duration, a.duration);
    if (b.mode !== a.mode) push(widen, 'changed', 'grant-mode-changed', `mode ${code(b.mode)} → ${code(a.mode)}`);
    if (b.session_policy !== a.session_policy) {
      if (a.session_policy === undefined)
        push('high', 'widened', 'session-policy-removed', 'session_policy removed: the session gets everything the IAM role allows');
      else if (b.session_policy === undefined)
        push('low', 'narrowed', 'session-policy-added', 'session_policy added: the session is limited to it');
      else push(widen, 'changed', 'session-policy-changed', 'session_policy changed');
    }
    const bp = new Set(b.policy_arns ?? []);
    const ap = new Set(a.policy_arns ?? []);
    const added = [...ap].filter((x) => !bp.has(x));
    const removed = [...bp].filter((x) => !ap.has(x));
    if (ap.size === 0 && bp.size > 0 && a.session_policy === undefined) {
      push('high', 'widened', 'policy-arns-removed', 'policy_arns removed: no session policy limits the IAM role any more');
    } else {
      if (added.length > 0) push(widen, 'widened', 'policy-arns-added', `session policy ARNs added: ${added.map(code).join(', ')}`);
      if (removed.length > 0)
        push('low', 'narrowed', 'policy-arns-removed', `session policy ARNs removed: ${removed.map(code).join(', ')}`);
    }
    if (!same(b.session_tags, a.session_tags))
      push('medium', 'changed', 'session-tags-changed', 'session_tags changed (what IAM conditions on tags see)');
  }
  if (a.type === 'azure' && b.type === 'azure' && b.scope !== a.scope)
    push(widen, 'changed', 'scope-changed', `scope ${code(b.scope)} → ${code(a.scope)}`);
  if (a.type === 'gcp' && b.type === 'gcp') {
    ttl('lifetime', b.lifetime, a.lifetime);
    const added = a.scopes.filter((s) => !b.scopes.includes(s));
    const removed = b.scopes.filter((s) => !a.scopes.includes(s));
    if (added.length > 0) push(widen, 'widened', 'scopes-added', `scopes added: ${added.map(code).join(', ')}`);
    if (removed.length > 0) push('low', 'narrowed', 'scopes-removed', `scopes removed: ${removed.map(code).join(', ')}`);
    if (!same(b.access_boundary, a.access_boundary)) {
      if (a.access_boundary === undefined)
        push('high', 'widened', 'access-boundary-removed', 'access_boundary removed: the token gets everything the service account can do');
      else if (b.access_boundary === undefined) push('low', 'narrowed', 'access-boundary-added', 'access_boundary added');
      else push(widen, 'changed', 'access-boundary-changed', 'access_boundary changed');
    }
    if ((b.hand_out ?? 'access_token') !== (a.hand_out ?? 'access_token')) {
      if (a.hand_out === 'subject_token')
        push(
          'high',
          'widened',
          'subject-token-handed-out',
          'hand_out: subject_token: the caller exchanges the broker token itself, choosing scopes, lifetime and service account',
        );
      else push('low', 'narrowed', 'access-token-handed-out', 'hand_out: access_token: the broker does the exchange again');
    }
    if (b.project_id !== a.project_id)
      push('medium', 'changed', 'project-changed', `project_id ${code(b.project_id ?? '-')} → ${code(a.project_id ?? '-')}`);
  }
  if (a.type === 'github' && b.type === 'github') {
    const added = a.repositories.filter((r) => !b.repositories.includes(r));
    const removed = b.repositories.filter((r) => !a.repositories.includes(r));
    if (added.length > 0) push(widen, 'widened', 'repositories-added', `repositories added: ${added.map(code).join(', ')}`);
    if (removed.length > 0) push('low', 'narrowed', 'repositories-removed', `repositories removed: ${removed.map(code).join(', ')}`);
    for (const perm of new Set([...Object.keys(b.permissions), ...Object.keys(a.permissions)])) {
      const was = LEVELS[b.permissions[perm] ?? ''] ?? 0;
      const now = LEVELS[a.permissions[perm] ?? ''] ?? 0;
      const text = `permission ${code(perm)}: ${code(b.permissions[perm] ?? 'none')} → ${code(a.permissions[perm] ?? 'none')}`;
      if (now > was) push(widen, 'widened', 'permission-widened', text);
      else if (now < was) push('low', 'narrowed', 'permission-narrowed', text);
    }
    if (b.private_key_secret !== a.private_key_secret)
      push(
        'medium',
        'changed',
        'app-key-changed',
        `private_key_secret ${code(b.private_key_secret ?? 'default')} → ${code(a.private_key_secret ?? 'default')}`,
      );
  }
  if (isStoreSecretGrant(a) && isStoreSecretGrant(b)) {
    for (const c of diffStoreSecret(b, a)) push(c.widened ? widen : 'low', c.widened ? 'widened' : 'narrowed', c.kind, c.summary);
  }
  if (a.type === 'secret' && b.type === 'secret' && b.env !== a.env)
    push('low', 'changed', 'secret-env-changed', `env ${code(b.env ?? b.name)} → ${code(a.env ?? a.name)}`);
  if ((a.type === 'azure_secret' && b.type === 'azure_secret') || (a.type === 'vault_secret' && b.type === 'vault_secret'))
    diffKeyVaultOrVault(push, widen, b, a);
}

/** azure_secret / vault_secret: which fields of the secret are handed out, which version, through whom. */
function diffKeyVaultOrVault(
  push: (risk: Risk, direction: Direction, kind: string, summary: string) => void,
  widen: Risk,
  b: GrantOf<'azure_secret'> | GrantOf<'vault_secret'>,
  a: GrantOf<'azure_secret'> | GrantOf<'vault_secret'>,
): void {
  const picks = (g: typeof a): Record<string, string> =>
    g.type === 'vault_secret' ? g.keys : (g.json_keys ?? { [g.env ?? '']: '(whole value)' });
  const bp = picks(b);
  const ap = picks(a);
  const added = Object.keys(ap).filter((k) => !(k in bp) || bp[k] !== ap[k]);
  const removed = Object.keys(bp).filter((k) => !(k in ap) || bp[k] !== ap[k]);
  const field = a.type === 'vault_secret' ? 'keys' : 'json_keys';
  if (added.length > 0)
    push(widen, 'widened', 'secret-fields-added', `${field} added: ${added.map((k) => `${code(k)} ← ${code(ap[k] ?? '')}`).join(', ')}`);
  if (removed.length > 0)
    push(
      'low',
      'narrowed',
      'secret-fields-removed',
      `${field} removed: ${removed.map((k) => `${code(k)} ← ${code(bp[k] ?? '')}`).join(', ')}`,
    );
  if (String(b.version) !== String(a.version))
    push(
      'medium',
      'changed',
      'secret-version-changed',
      `version ${code(String(b.version || 'latest'))} → ${code(String(a.version || 'latest'))}`,
    );
  if (a.type === 'azure_secret' && b.type === 'azure_secret' && (a.tenant_id !== b.tenant_id || a.client_id !== b.client_id))
    push(
      'high',
      'changed',
      'reader-identity-changed',
      `reads as ${code(`${b.tenant_id}/${b.client_id}`)} → ${code(`${a.tenant_id}/${a.client_id}`)}`,
    );
  if (a.type === 'vault_secret' && b.type === 'vault_secret') {
    if (a.auth_mount !== b.auth_mount || a.auth_role !== b.auth_role)
      push(
        'high',
        'changed',
        'reader-identity-changed',
        `logs in as ${code(`${b.auth_mount}/${b.auth_role}`)} → ${code(`${a.auth_mount}/${a.auth_role}`)}`,
      );
    if (a.audience !== b.audience)
      push('high', 'changed', 'audience-changed', `audience ${code(b.audience ?? 'address')} → ${code(a.audience ?? 'address')}`);
  }
}

function diffGrants(ctx: RoleContext, before: Role, after: Role): void {
  const maxTtl: [number, number] = [parseDuration(before.max_ttl) ?? 0, parseDuration(after.max_ttl) ?? 0];
  for (const pair of pairGrants(before.grants, after.grants)) {
    if (pair.before !== undefined && pair.after !== undefined) {
      const g = after.grants[pair.after]!;
      diffGrant(ctx, `grants[${pair.after}] (${g.type})`, before.grants[pair.before]!, g, maxTtl);
    } else if (pair.after !== undefined) {
      const g = after.grants[pair.after]!;
      ctx.changes.push({
        risk: ctx.production ? 'high' : 'medium',
        direction: 'widened',
        kind: 'grant-added',
        where: `grants[${pair.after}] (${g.type})`,
        summary: `new grant: ${code(grantLabel(g))}`,
      });
    } else if (pair.before !== undefined) {
      const g = before.grants[pair.before]!;
      ctx.changes.push({
        risk: 'low',
        direction: 'narrowed',
        kind: 'grant-removed',
        where: `grants[${pair.before}] (${g.type}, base)`,
        summary: `grant removed: ${code(grantLabel(g))}`,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Roles and issuers

function whoCan(role: Role): string[] {
  return [
    ...role.allow.map((s, i) => `allow[${i}]: ${describeSet(s)}`),
    ...role.deny.map((s, i) => `deny[${i}]: ${describeSet(s)}`),
    `grants: ${role.grants.map(grantLabel).join('; ')} for at most ${role.max_ttl}`,
  ];
}

function maxRisk(changes: PolicyChange[]): Risk {
  return changes.reduce<Risk>((r, c) => (RISK_ORDER[c.risk] < RISK_ORDER[r] ? c.risk : r), 'low');
}

function diffRole(before: Role, after: Role, production: boolean): PolicyChange[] {
  const ctx: RoleContext = { production, changes: [] };
  if (before.issuer !== after.issuer) {
    ctx.changes.push({
      risk: 'high',
      direction: 'changed',
      kind: 'issuer-changed',
      where: 'issuer',
      summary: `tokens now come from issuer ${code(after.issuer)} (was ${code(before.issuer)})`,
    });
  }
  const ttl = longer(before.max_ttl, after.max_ttl, 0);
  if (ttl !== 0) {
    ctx.changes.push({
      risk: ttl > 0 ? 'medium' : 'low',
      direction: ttl > 0 ? 'widened' : 'narrowed',
      kind: ttl > 0 ? 'max-ttl-longer' : 'max-ttl-shorter',
      where: 'max_ttl',
      summary: `max_ttl ${code(before.max_ttl)} → ${code(after.max_ttl)}`,
    });
  }
  diffSets(ctx, before, after);
  diffGrants(ctx, before, after);

  const wasProd = productionVerdict(before);
  const isProd = productionVerdict(after);
  if (wasProd.production && !isProd.production) {
    ctx.changes.push({
      risk: 'high',
      direction: 'widened',
      kind: 'production-off',
      where: 'lint',
      summary: `no longer a production role (was: ${wasProd.because}); the production lint rules stop applying`,
    });
  } else if (!wasProd.production && isProd.production) {
    ctx.changes.push({
      risk: 'low',
      direction: 'narrowed',
      kind: 'production-on',
      where: 'lint',
      summary: `now a production role (${isProd.because}); the production lint rules apply`,
    });
  }
  const bx = before.lint?.exceptions ?? [];
  const ax = after.lint?.exceptions ?? [];
  for (const e of ax) {
    const old = bx.find((x) => x.rule === e.rule);
    if (!old)
      ctx.changes.push({
        risk: 'high',
        direction: 'widened',
        kind: 'lint-exception-added',
        where: 'lint.exceptions',
        summary: `lint exception for ${code(e.rule)} added: "${e.reason}"`,
      });
    else if (old.reason !== e.reason)
      ctx.changes.push({
        risk: 'low',
        direction: 'changed',
        kind: 'lint-exception-reason',
        where: 'lint.exceptions',
        summary: `reason for the ${code(e.rule)} exception changed: "${e.reason}"`,
      });
  }
  for (const e of bx) {
    if (!ax.some((x) => x.rule === e.rule))
      ctx.changes.push({
        risk: 'low',
        direction: 'narrowed',
        kind: 'lint-exception-removed',
        where: 'lint.exceptions',
        summary: `lint exception for ${code(e.rule)} removed`,
      });
  }
  return ctx.changes;
}

function diffIssuer(name: string, b: IssuerConfig, a: IssuerConfig): PolicyChange[] {
  const out: PolicyChange[] = [];
  const where = `issuers.${name}`;
  if (b.url !== a.url)
    out.push({
      risk: 'high',
      direction: 'changed',
      kind: 'issuer-url-changed',
      where,
      summary: `url ${code(b.url)} → ${code(a.url)}: tokens from another issuer are trusted`,
    });
  if (b.audience !== a.audience)
    out.push({
      risk: 'high',
      direction: 'changed',
      kind: 'audience-changed',
      where,
      summary: `audience ${code(b.audience)} → ${code(a.audience)}`,
    });
  const added = a.algorithms.filter((x) => !b.algorithms.includes(x));
  const removed = b.algorithms.filter((x) => !a.algorithms.includes(x));
  if (added.length > 0)
    out.push({
      risk: 'medium',
      direction: 'widened',
      kind: 'algorithms-added',
      where,
      summary: `algorithms added: ${added.map(code).join(', ')}`,
    });
  if (removed.length > 0)
    out.push({
      risk: 'low',
      direction: 'narrowed',
      kind: 'algorithms-removed',
      where,
      summary: `algorithms removed: ${removed.map(code).join(', ')}`,
    });
  if (b.replay !== a.replay)
    out.push({
      risk: a.replay === 'reuse' ? 'medium' : 'low',
      direction: a.replay === 'reuse' ? 'widened' : 'narrowed',
      kind: a.replay === 'reuse' ? 'replay-reuse-allowed' : 'replay-single-use',
      where,
      summary: `replay ${code(b.replay)} → ${code(a.replay)}`,
    });
  for (const field of ['max_token_age', 'max_token_lifetime'] as const) {
    const sign = longer(b[field], a[field], 0);
    if (sign !== 0) {
      out.push({
        risk: sign > 0 ? 'medium' : 'low',
        direction: sign > 0 ? 'widened' : 'narrowed',
        kind: `${field.replace(/_/g, '-')}-${sign > 0 ? 'longer' : 'shorter'}`,
        where,
        summary: `${field} ${code(b[field])} → ${code(a[field])}`,
      });
    }
  }
  return out;
}

const sortChanges = (list: PolicyChange[]) => [...list].sort((x, y) => RISK_ORDER[x.risk] - RISK_ORDER[y.risk]);

export function diffPolicies(base: PolicySide, head: PolicySide): PolicyDiff {
  const roles: RoleDiff[] = [];
  for (const name of [...new Set([...base.roles.keys(), ...head.roles.keys()])].sort()) {
    const b = base.roles.get(name);
    const a = head.roles.get(name);
    if (a && !b) {
      const production = productionVerdict(a.value).production;
      const changes: PolicyChange[] = [
        {
          risk: production || !a.value.allow.every(hasIdBinding) ? 'high' : 'medium',
          direction: 'widened',
          kind: 'role-added',
          where: 'role',
          summary: `new ${production ? 'production ' : ''}role, issuer ${code(a.value.issuer)}: ${a.value.grants.map((g) => code(grantLabel(g))).join(', ')}`,
        },
      ];
      roles.push({ role: name, file: a.file, status: 'added', production, risk: maxRisk(changes), changes, whoNow: whoCan(a.value) });
    } else if (b && !a) {
      const changes: PolicyChange[] = [
        { risk: 'low', direction: 'narrowed', kind: 'role-removed', where: 'role', summary: 'role removed: nobody can obtain it' },
      ];
      roles.push({
        role: name,
        file: b.file,
        status: 'removed',
        production: productionVerdict(b.value).production,
        risk: 'low',
        changes,
        whoNow: [],
      });
    } else if (a && b) {
      const production = productionVerdict(a.value).production || productionVerdict(b.value).production;
      const changes = sortChanges(diffRole(b.value, a.value, production));
      if (changes.length === 0) continue;
      const widened = changes.some((c) => c.direction !== 'narrowed');
      roles.push({
        role: name,
        file: a.file,
        status: 'changed',
        production,
        risk: maxRisk(changes),
        changes,
        whoNow: widened ? whoCan(a.value) : [],
      });
    }
  }

  const issuers: IssuerDiff[] = [];
  for (const name of [...new Set([...base.issuers.keys(), ...head.issuers.keys()])].sort()) {
    const b = base.issuers.get(name);
    const a = head.issuers.get(name);
    if (a && !b) {
      issuers.push({
        issuer: name,
        status: 'added',
        risk: 'medium',
        changes: [
          {
            risk: 'medium',
            direction: 'widened',
            kind: 'issuer-added',
            where: `issuers.${name}`,
            summary: `new trusted issuer ${code(a.url)} (audience ${code(a.audience)})`,
          },
        ],
      });
    } else if (b && !a) {
      issuers.push({
        issuer: name,
        status: 'removed',
        risk: 'low',
        changes: [
          {
            risk: 'low',
            direction: 'narrowed',
            kind: 'issuer-removed',
            where: `issuers.${name}`,
            summary: `issuer ${code(b.url)} no longer trusted`,
          },
        ],
      });
    } else if (a && b) {
      const changes = sortChanges(diffIssuer(name, b, a));
      if (changes.length > 0) issuers.push({ issuer: name, status: 'changed', risk: maxRisk(changes), changes });
    }
  }

  roles.sort((x, y) => RISK_ORDER[x.risk] - RISK_ORDER[y.risk] || (x.role < y.role ? -1 : 1));
  const counts: Record<Risk, number> = { high: 0, medium: 0, low: 0 };
  for (const c of [...roles.flatMap((r) => r.changes), ...issuers.flatMap((i) => i.changes)]) counts[c.risk]++;
  return { roles, issuers, counts };
}
