// What the lint and the diff need to know about a role beyond its conditions: which CI platform its tokens
// come from, which claims are ids, names, paths or editable, and whether it is a production role.
import { compileCondition, compileGlob } from '../compile.ts';
import { parseRegex, sampleStrings } from './regex-scan.ts';
import type { Condition, Role } from '../schema.ts';

export type Platform = 'github' | 'gitlab';

/** Immutable ids: a deleted and re-created repository or group gets a new one. */
export const ID_CLAIMS: Record<Platform, readonly string[]> = {
  github: ['repository_id', 'repository_owner_id'],
  gitlab: ['project_id', 'namespace_id'],
};

/** Names that a rename or a re-registration can hand to someone else. */
export const NAME_CLAIMS: Record<Platform, readonly string[]> = {
  github: ['repository', 'repository_owner'],
  gitlab: ['project_path', 'namespace_path'],
};

/** Claims only GitLab sends: a role that uses them is a GitLab role whatever its issuer is called. */
const GITLAB_ONLY = new Set([
  'project_id',
  'project_path',
  'namespace_id',
  'namespace_path',
  'pipeline_source',
  'pipeline_id',
  'ref_protected',
  'job_project_id',
  'job_project_path',
  'job_namespace_id',
  'job_namespace_path',
  'ci_config_ref_uri',
  'ci_config_sha',
  'deployment_tier',
  'environment_protected',
  'user_login',
  'user_email',
  'user_id',
]);

/**
 * Claims whose values read as a path: "/" separates segments, so a wildcard that matches "/" spans more
 * than one segment (refs/heads/.* admits refs/heads/x/y; acme/** admits every repository path).
 */
export const PATH_CLAIMS = new Set([
  'ref',
  'base_ref',
  'head_ref',
  'repository',
  'job_workflow_ref',
  'workflow_ref',
  'project_path',
  'namespace_path',
  'job_project_path',
  'job_namespace_path',
  'ci_config_ref_uri',
  'environment',
  'sub',
]);

/**
 * Claims that begin with (or are) an owner: an account, organisation or group. The number is how many "/"
 * segments come before the owner (ci_config_ref_uri starts with the GitLab host). Ids are owners whole.
 */
export const OWNER_CLAIMS = new Map<string, number>([
  ['repository', 0],
  ['repository_owner', 0],
  ['job_workflow_ref', 0],
  ['workflow_ref', 0],
  ['project_path', 0],
  ['namespace_path', 0],
  ['job_project_path', 0],
  ['job_namespace_path', 0],
  ['ci_config_ref_uri', 1],
  // the subject names the owner after its prefix: repo:OWNER/REPO:... (GitHub), project_path:GROUP/...:... (GitLab)
  ['sub', 0],
  ['repository_id', 0],
  ['repository_owner_id', 0],
  ['project_id', 0],
  ['namespace_id', 0],
]);

/**
 * Claims the person who pushes a branch, opens a pull request or starts a run chooses: the workflow's name
 * and file (workflow_ref names the caller, so it counts only when job_workflow_ref is not bound too), who
 * triggered it, the pull request's source branch.
 */
export const EDITABLE_CLAIMS = new Set([
  'workflow',
  'workflow_ref',
  'actor',
  'actor_id',
  'triggering_actor',
  'head_ref',
  'user_login',
  'user_email',
  'user_id',
]);

/** Claims that say which protected code runs: a protected ref, a protected environment, a pinned workflow. */
export const PROTECTED_CLAIMS = new Set([
  'ref',
  'ref_protected',
  'environment',
  'environment_protected',
  'deployment_tier',
  'job_workflow_ref',
  'job_workflow_sha',
  'sha',
  'workflow_sha',
  'ci_config_ref_uri',
  'ci_config_sha',
]);

/**
 * The issuer's declared kind when it is a platform; else GitHub's OIDC issuer (github.com), or a GitHub
 * Enterprise Server's (https://HOST/_services/token).
 */
export function platformOf(issuerUrl: string | undefined, role: Role, kind?: string): Platform {
  if (kind === 'github' || kind === 'gitlab') return kind;
  if (issuerUrl) {
    try {
      const url = new URL(issuerUrl);
      if (url.hostname === 'token.actions.githubusercontent.com' || url.pathname.startsWith('/_services/token')) return 'github';
      if (url.hostname === 'gitlab.com' || url.hostname.startsWith('gitlab.')) return 'gitlab';
    } catch {
      // fall through to the claims
    }
  }
  const claims = new Set([...role.allow, ...role.deny].flatMap((set) => Object.keys(set)));
  for (const c of claims) if (GITLAB_ONLY.has(c)) return 'gitlab';
  return 'github';
}

export type Single = Exclude<Condition, unknown[]>;

export function singlesOf(condition: Condition): Single[] {
  return Array.isArray(condition) ? condition : [condition];
}

/** A plain value (or a list of them): what an id binding must be. */
export function isExact(condition: Condition): boolean {
  return singlesOf(condition).every((s) => typeof s !== 'object');
}

/** A condition as a predicate over one claim value. */
export function conditionTest(claim: string, condition: Condition): (value: unknown) => boolean {
  return compileCondition(claim, condition).test;
}

/** Strings a condition admits, for witnesses: its exact values and samples of its patterns. */
export function witnessesOf(condition: Condition): string[] {
  const out: string[] = [];
  for (const s of singlesOf(condition)) {
    if (typeof s !== 'object') out.push(String(s));
    else if ('glob' in s) out.push(...sampleGlob(s.glob));
    else if ('regex' in s) out.push(...sampleStrings(parseRegex(s.regex)));
    else out.push(String(s.equals));
  }
  return out;
}

function sampleGlob(glob: string): string[] {
  // the regex the glob compiles to is what matching uses, so its samples are what the glob really admits
  return sampleStrings(parseRegex(globSource(glob)));
}

export function globSource(glob: string): string {
  return compileGlob(glob).source;
}

const PROD_TOKENS = new Set(['prod', 'production', 'prd']);

function hasProdToken(text: string): boolean {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .some((t) => PROD_TOKENS.has(t));
}

export interface ProductionVerdict {
  production: boolean;
  /** Why, for messages: "lint.production: true", "the role name", "allow[0].environment admits production". */
  because: string | undefined;
}

const ENVIRONMENT_CLAIMS = ['environment', 'deployment_tier'];
const PROD_PROBES = ['production', 'prod', 'Production', 'PRODUCTION', 'Prod', 'prd'];

/**
 * A production role is one that says so (`lint: {production: true}`), or — unless it says
 * `production: false` — one whose name has the word prod, production or prd ("deploy-web-prod", not
 * "product-api"), or one whose allow set admits an environment (GitHub environment, GitLab environment or
 * deployment_tier) named like that ("production", "prod-eu", a glob or regex that admits "production").
 */
export function productionVerdict(role: Role): ProductionVerdict {
  if (role.lint?.production !== undefined) {
    return { production: role.lint.production, because: `lint.production: ${role.lint.production}` };
  }
  if (hasProdToken(role.role)) return { production: true, because: `the role name "${role.role}"` };
  for (const [i, set] of role.allow.entries()) {
    for (const claim of ENVIRONMENT_CLAIMS) {
      const cond = set[claim];
      if (cond === undefined) continue;
      const test = conditionTest(claim, cond);
      const candidates = [...PROD_PROBES, ...witnessesOf(cond)];
      const hit = candidates.find((c) => hasProdToken(c) && test(c));
      if (hit !== undefined) return { production: true, because: `allow[${i}].${claim} admits "${hit}"` };
    }
  }
  return { production: false, because: undefined };
}
