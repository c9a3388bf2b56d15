// The claim names each kind of issuer puts in its tokens, so the lint can tell a typo from a claim: a deny
// set on `actr` never matches and silently stops denying. Vocabularies follow the platforms' documentation
// (GitHub: "OpenID Connect reference", OIDC token claims; GitLab: "OpenID Connect (OIDC) Authentication
// Using ID Tokens", token payload). A generic issuer lists its own names under `claims:` in issuers.yaml;
// on github and gitlab issuers `claims:` adds names the platform introduced after this list.
import type { IssuerConfig, Role } from '../schema.ts';

export type IssuerKind = 'github' | 'gitlab' | 'kubernetes' | 'generic';

/** RFC 7519's registered claims: in every token, whatever the issuer. */
const JWT_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti'];

const GITHUB_CLAIMS = [
  'actor',
  'actor_id',
  'base_ref',
  'check_run_id',
  'enterprise',
  'enterprise_id',
  'environment',
  'environment_node_id',
  'event_name',
  'head_ref',
  'job_workflow_ref',
  'job_workflow_sha',
  'ref',
  'ref_protected',
  'ref_type',
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'repository_visibility',
  'run_attempt',
  'run_id',
  'run_number',
  'runner_environment',
  'sha',
  'workflow',
  'workflow_ref',
  'workflow_sha',
];
/** GitHub puts an organisation's repository custom properties in the token as repo_property_<name>. */
const GITHUB_PREFIXES = ['repo_property_'];

const GITLAB_CLAIMS = [
  'namespace_id',
  'namespace_path',
  'project_id',
  'project_path',
  'project_visibility',
  'user_id',
  'user_login',
  'user_email',
  'user_access_level',
  'user_identities',
  'groups_direct',
  'pipeline_id',
  'pipeline_source',
  'job_id',
  'job_source',
  'job_policy_ref_uri',
  'job_policy_ref_sha',
  'job_project_id',
  'job_project_path',
  'job_namespace_id',
  'job_namespace_path',
  'ref',
  'ref_type',
  'ref_path',
  'ref_protected',
  'environment',
  'environment_protected',
  'environment_action',
  'deployment_tier',
  'runner_id',
  'runner_environment',
  'sha',
  'ci_config_ref_uri',
  'ci_config_sha',
];

/**
 * A Kubernetes API server's projected service-account token (KEP-1205, "Bound Service Account Tokens"):
 * sub is system:serviceaccount:NS:NAME, and the nested `kubernetes.io` claim names the namespace, the
 * service account, and the pod, node or secret the token is bound to. Conditions reach them by JSON Pointer.
 */
const KUBERNETES_CLAIMS = ['kubernetes.io'];
const KUBERNETES_POINTERS = [
  '/kubernetes.io/namespace',
  '/kubernetes.io/serviceaccount/name',
  '/kubernetes.io/serviceaccount/uid',
  '/kubernetes.io/pod/name',
  '/kubernetes.io/pod/uid',
  '/kubernetes.io/node/name',
  '/kubernetes.io/node/uid',
  '/kubernetes.io/secret/name',
  '/kubernetes.io/secret/uid',
  '/kubernetes.io/warnafter',
];

/**
 * The kind an issuer declares, else the one its URL shows: GitHub's issuer (also with an enterprise's
 * path, https://token.actions.githubusercontent.com/SLUG) and a GitHub Enterprise Server's
 * (https://HOST/_services/token) are github, https://gitlab.com is gitlab, anything else is generic
 * (a self-managed GitLab says `kind: gitlab`).
 */
export function issuerKind(issuer: Pick<IssuerConfig, 'url' | 'kind'>): IssuerKind {
  if (issuer.kind) return issuer.kind;
  let url: URL;
  try {
    url = new URL(issuer.url);
  } catch {
    return 'generic';
  }
  if (url.protocol !== 'https:' || url.search !== '') return 'generic';
  const path = url.pathname.replace(/\/+$/, '');
  if (url.hostname === 'token.actions.githubusercontent.com' && /^(?:\/[A-Za-z0-9_.-]+)?$/.test(path)) return 'github';
  if (/\/_services\/token$/.test(path)) return 'github';
  if (url.hostname === 'gitlab.com' && path === '') return 'gitlab';
  return 'generic';
}

export interface Vocabulary {
  kind: IssuerKind;
  /** Whether names can be checked at all (a generic issuer without `claims:` cannot). */
  checked: boolean;
  names: ReadonlySet<string>;
  prefixes: readonly string[];
  /** Nested claims a pointer may name in full (kubernetes); elsewhere a pointer is checked by its first token. */
  pointers?: ReadonlySet<string>;
}

export function vocabularyOf(issuer: Pick<IssuerConfig, 'url' | 'kind' | 'claims'>): Vocabulary {
  const kind = issuerKind(issuer);
  const own = issuer.claims ?? [];
  const platform = kind === 'github' ? GITHUB_CLAIMS : kind === 'gitlab' ? GITLAB_CLAIMS : kind === 'kubernetes' ? KUBERNETES_CLAIMS : [];
  const vocabulary: Vocabulary = {
    kind,
    checked: kind !== 'generic' || issuer.claims !== undefined,
    names: new Set([...JWT_CLAIMS, ...platform, ...own]),
    prefixes: kind === 'github' ? GITHUB_PREFIXES : [],
  };
  // `claims:` may add a pointer too (a cluster's own nested claim).
  if (kind === 'kubernetes') vocabulary.pointers = new Set([...KUBERNETES_POINTERS, ...own.filter((c) => c.startsWith('/'))]);
  return vocabulary;
}

/**
 * The top-level claim a condition key reads: the key itself, or for a JSON Pointer (`/a~1b/c`) its first
 * reference token, unescaped (RFC 6901).
 */
export function claimRoot(key: string): string {
  if (!key.startsWith('/')) return key;
  const first = key.slice(1).split('/')[0] ?? '';
  return first.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function knowsClaim(vocabulary: Vocabulary, key: string): boolean {
  // A Kubernetes pointer must name a nested claim the API server issues: `/kubernetes.io/namespce` never matches.
  if (key.startsWith('/') && vocabulary.pointers) return vocabulary.pointers.has(key);
  const name = claimRoot(key);
  return vocabulary.names.has(name) || vocabulary.prefixes.some((p) => name.startsWith(p) && name.length > p.length);
}

/** The closest names in the vocabulary, for "did you mean": at most a third of the name may differ. */
export function suggestClaims(vocabulary: Vocabulary, key: string, limit = 3): string[] {
  const full = key.startsWith('/') && vocabulary.pointers !== undefined;
  const name = full ? key : claimRoot(key);
  const budget = Math.max(1, Math.floor(name.length / 3));
  return [...(full ? (vocabulary.pointers ?? []) : vocabulary.names)]
    .map((candidate) => ({ candidate, d: editDistance(name.toLowerCase(), candidate.toLowerCase()) }))
    .filter((x) => x.d <= budget)
    .sort((a, b) => a.d - b.d || (a.candidate < b.candidate ? -1 : 1))
    .slice(0, limit)
    .map((x) => x.candidate);
}

/** Levenshtein distance with adjacent transpositions (optimal string alignment): "actr" -> "actor" is 1. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number) => d[i * cols + j]!;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(rows - 1, cols - 1);
}

export interface UnknownClaim {
  /** Where in the role file: ['allow', 0, 'actr'], ['grants', 1, 'session_tags', 'team']. */
  path: (string | number)[];
  message: string;
}

/** Every claim name the role reads (conditions in allow and deny, aws session tags) that the vocabulary lacks. */
export function unknownClaims(role: Role, vocabulary: Vocabulary, issuerName: string): UnknownClaim[] {
  if (!vocabulary.checked) return [];
  const out: UnknownClaim[] = [];
  const explain = (name: string) => {
    const near = suggestClaims(vocabulary, name);
    const known = vocabulary.kind === 'generic' ? `the claims listed for issuer ${issuerName}` : `the claims ${vocabulary.kind} issues`;
    const shown = name.startsWith('/') && vocabulary.pointers ? name : claimRoot(name);
    return `${JSON.stringify(shown)} is not one of ${known}${near.length > 0 ? `; did you mean ${near.map((n) => JSON.stringify(n)).join(' or ')}?` : ''}`;
  };
  for (const part of ['allow', 'deny'] as const) {
    role[part].forEach((set, i) => {
      for (const claim of Object.keys(set)) {
        if (knowsClaim(vocabulary, claim)) continue;
        const effect = part === 'deny' ? 'this deny set never matches, so it denies nothing' : 'this allow set never matches';
        out.push({ path: [part, i, claim], message: `${part}[${i}].${claim}: ${explain(claim)} (${effect})` });
      }
    });
  }
  role.grants.forEach((grant, j) => {
    if (grant.type !== 'aws') return;
    for (const [tag, claim] of Object.entries(grant.session_tags ?? {})) {
      if (!knowsClaim(vocabulary, claim))
        out.push({ path: ['grants', j, 'session_tags', tag], message: `grants[${j}].session_tags.${tag}: ${explain(claim)}` });
    }
  });
  return out;
}
