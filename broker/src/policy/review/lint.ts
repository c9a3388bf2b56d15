// The lint: what a policy may say but should not (docs/SECURITY.md "Claims and policy"), with the file, line and
// column of each finding, a rule id from rules.ts and its fix. `lintPolicy` reads a loaded policy set;
// `lintFiles` reads the raw files, so duplicate role names and regex modifiers are named even when the set
// does not load. A role waives an exceptable rule with `lint: {exceptions: [{rule, reason}]}`.
import { isMap, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { parseDuration } from '../../util/duration.ts';
import { issuerKind, unknownClaims, vocabularyOf } from './claim-names.ts';
import { compileGlob, compileRegex } from '../compile.ts';
import { locate, type LoadedPolicy, type PolicyFile } from '../load.ts';
import { inlineModifiers, oddness, parseRegex, prefixIsLiteral, sampleStrings, slashWildcards, type Alternatives } from './regex-scan.ts';
import {
  conditionTest,
  EDITABLE_CLAIMS,
  ID_CLAIMS,
  isExact,
  NAME_CLAIMS,
  OWNER_CLAIMS,
  PATH_CLAIMS,
  platformOf,
  productionVerdict,
  PROTECTED_CLAIMS,
  singlesOf,
  type Platform,
  type Single,
} from './role-facts.ts';
import { lintExportedNames } from './lint-store-secret.ts';
import { ruleInfo, type Severity } from './rules.ts';
import type { ConditionSet, Grant, IssuerConfig, Role } from '../schema.ts';

export interface LintFinding {
  rule: string;
  severity: Severity;
  /** Relative to the policy directory, as in load problems: roles/x.yaml. */
  file: string;
  line: number;
  column: number;
  message: string;
  /** The rule's fix. */
  hint: string;
  role?: string;
}

type Path = (string | number)[];

interface Draft {
  rule: string;
  path: Path;
  message: string;
  severity?: Severity;
}

function finding(
  rule: string,
  file: string,
  pos: { line: number; column: number },
  message: string,
  severity?: Severity,
  role?: string,
): LintFinding {
  const info = ruleInfo(rule);
  return {
    rule,
    severity: severity ?? info.severity,
    file,
    line: pos.line,
    column: pos.column,
    message,
    hint: info.help,
    ...(role === undefined ? {} : { role }),
  };
}

type Documents = LoadedPolicy['documents'];

function positionOf(documents: Documents, file: string, path: Path): { line: number; column: number } {
  const entry = documents.get(file);
  if (!entry) return { line: 1, column: 1 };
  const pos = locate(entry.doc, entry.lines, path);
  return { line: pos.line, column: pos.col };
}

/** The position of a map key (`github:` under `issuers:`), rather than of its value. */
function keyPositionOf(documents: Documents, file: string, parent: Path, key: string): { line: number; column: number } {
  const entry = documents.get(file);
  const node = entry?.doc.getIn(parent, true);
  if (entry && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (pair && isScalar(pair.key) && pair.key.range) {
      const pos = entry.lines.linePos(pair.key.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return positionOf(documents, file, [...parent, key]);
}

const show = (s: string) => JSON.stringify(s);

function describeSingle(s: Single): string {
  if (typeof s !== 'object') return show(String(s));
  if ('glob' in s) return `glob ${show(s.glob)}`;
  if ('regex' in s) return `regex ${show(s.regex)}`;
  return `equals ${show(String(s.equals))}`;
}

/** A pattern condition read for analysis (a glob through the regex it compiles to), with its real matcher. */
function patternOf(s: Single): { alternatives: Alternatives | undefined; test: { test(value: string): boolean } } | undefined {
  if (typeof s !== 'object') return undefined;
  if ('glob' in s) {
    const re = compileGlob(s.glob);
    return { alternatives: parseRegex(re.source), test: re };
  }
  if ('regex' in s) return { alternatives: parseRegex(s.regex), test: compileRegex(s.regex) };
  return undefined;
}

/** Where one element of a condition sits: the pattern text for {glob}/{regex}, the element of a list. */
function singlePath(base: Path, isList: boolean, index: number, s: Single): Path {
  const path = isList ? [...base, index] : base;
  if (typeof s === 'object' && 'glob' in s) return [...path, 'glob'];
  if (typeof s === 'object' && 'regex' in s) return [...path, 'regex'];
  return path;
}

// ---------------------------------------------------------------------------------------------------------
// Conditions: owners and slashes

function lintPatterns(set: ConditionSet, base: Path, drafts: Draft[]): void {
  for (const [claim, condition] of Object.entries(set)) {
    const list = Array.isArray(condition);
    singlesOf(condition).forEach((single, index) => {
      const pattern = patternOf(single);
      if (!pattern) return;
      const path = singlePath([...base, claim], list, index, single);
      const where = `${base.join('.').replace(/\.(\d+)/g, '[$1]')}.${claim}`;
      const skip = OWNER_CLAIMS.get(claim);
      if (skip !== undefined && !prefixIsLiteral(pattern.alternatives, skip)) {
        const what = claim.endsWith('_id') ? 'is a pattern over an id (ids must be exact)' : 'leaves the owner open';
        drafts.push({
          rule: 'owner-wildcard',
          path,
          message: `${where}: ${describeSingle(single)} ${what}, so it admits other owners too`,
        });
      }
      if (PATH_CLAIMS.has(claim)) {
        const crossing = slashWildcards(pattern.alternatives);
        if (crossing === undefined) {
          drafts.push({
            rule: 'wildcard-crosses-slash',
            path,
            message: `${where}: ${describeSingle(single)} could not be analysed; write it so that no wildcard can match "/"`,
          });
        } else if (crossing.length > 0) {
          const witness = slashWitness(pattern);
          drafts.push({
            rule: 'wildcard-crosses-slash',
            path,
            message: `${where}: ${describeSingle(single)} can match "/" through ${[...new Set(crossing)].map((c) => show(c)).join(', ')}${witness ? ` (it admits ${show(witness)})` : ''}`,
          });
        }
      }
    });
  }
}

/** A string the pattern admits with the most "/" in it: the example a reviewer understands. */
function slashWitness(pattern: { alternatives: Alternatives | undefined; test: { test(value: string): boolean } }): string | undefined {
  const samples = sampleStrings(pattern.alternatives, 200).filter((s) => pattern.test.test(s));
  const slashes = (s: string) => s.split('/').length;
  const fewest = Math.min(...samples.map(slashes));
  const crossing = samples.filter((s) => slashes(s) > fewest);
  return (crossing.length > 0 ? crossing : samples).sort(
    (a, b) => oddness(a) - oddness(b) || slashes(b) - slashes(a) || a.length - b.length,
  )[0];
}

// ---------------------------------------------------------------------------------------------------------
// Allow sets: bindings

const K8S_NAMESPACE = '/kubernetes.io/namespace';
const K8S_SERVICE_ACCOUNT = '/kubernetes.io/serviceaccount/name';

/**
 * A Kubernetes allow set must name one workload: the namespace and the service account name, each exactly
 * (or an exact `sub`, system:serviceaccount:NS:NAME, which names both). Anyone who can create a service
 * account in any namespace of the cluster gets a token from the same issuer.
 */
function lintWorkloadBinding(set: ConditionSet, index: number, drafts: Draft[]): void {
  const exact = (k: string) => set[k] !== undefined && isExact(set[k]!);
  if (exact('sub') && singlesOf(set.sub!).every((v) => /^system:serviceaccount:[^:]+:[^:]+$/.test(String(v)))) return;
  const missing = [K8S_NAMESPACE, K8S_SERVICE_ACCOUNT].filter((k) => !exact(k));
  if (missing.length === 0) return;
  drafts.push({
    rule: 'workload-binding',
    path: ['allow', index],
    message: `allow[${index}] does not bind ${missing.join(' and ')} with exact values`,
  });
}

function lintBindings(set: ConditionSet, index: number, platform: Platform, drafts: Draft[]): void {
  const path: Path = ['allow', index];
  const ids = ID_CLAIMS[platform];
  const keys = Object.keys(set);
  const exactIds = ids.filter((c) => set[c] !== undefined && isExact(set[c]!));
  if (exactIds.length === 0) {
    const patternIds = ids.filter((c) => set[c] !== undefined);
    const names = NAME_CLAIMS[platform].filter((c) => keys.includes(c));
    const message =
      patternIds.length > 0
        ? `allow[${index}]: ${patternIds.join(', ')} is a pattern, not an exact id`
        : names.length > 0
          ? `allow[${index}] binds ${names.join(', ')} by name only, without ${ids.join(' or ')}`
          : `allow[${index}] binds no repository or owner (${ids.join(' or ')})`;
    drafts.push({ rule: 'repository-binding', path, message });
  }

  // A protected claim binds only with exact values: a pattern on it (`sha: {regex: ...}`, `ref: {glob: "*"}`)
  // admits whatever a pusher creates. So does workflow_ref's exemption need an exact job_workflow_ref.
  const exactProtected = (k: string) => PROTECTED_CLAIMS.has(k) && isExact(set[k]!);
  const editable = keys.filter(
    (k) => EDITABLE_CLAIMS.has(k) && !(k === 'workflow_ref' && keys.includes('job_workflow_ref') && isExact(set.job_workflow_ref!)),
  );
  if (editable.length > 0 && !keys.some(exactProtected)) {
    drafts.push({
      rule: 'editable-claims-only',
      path,
      message: `allow[${index}] narrows only on ${editable.join(', ')}, which whoever pushes or triggers the run chooses; no ref, environment or job_workflow_ref is bound to exact values`,
    });
  }
  if (keys.includes('workflow_ref') && !keys.includes('job_workflow_ref')) {
    drafts.push({
      rule: 'workflow-ref-alone',
      path: [...path, 'workflow_ref'],
      message: `allow[${index}] binds workflow_ref without job_workflow_ref: a reusable workflow is the callee, named by job_workflow_ref`,
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Production roles: how a run could reach them

/** Whether a deny set stops this allow set for `claim = value`: its other conditions are those of the allow set. */
function blockedByDeny(role: Role, allow: ConditionSet, claim: string, value: string): boolean {
  return role.deny.some((deny) => {
    const cond = deny[claim];
    if (cond === undefined || !conditionTest(claim, cond)(value)) return false;
    return Object.entries(deny).every(
      ([k, c]) => k === claim || JSON.stringify(allow[k], stringifyBig) === JSON.stringify(c, stringifyBig),
    );
  });
}

const stringifyBig = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

/** Whether the set admits `value` for `claim` (a set without that condition admits anything). */
function admits(set: ConditionSet, claim: string, value: string): boolean {
  const cond = set[claim];
  return cond === undefined || conditionTest(claim, cond)(value);
}

/** Whether a workflow ref condition (path@ref) admits some workflow file at `ref`. */
function workflowRefAdmits(set: ConditionSet, claim: string, ref: string): boolean {
  const cond = set[claim];
  if (cond === undefined) return true;
  const test = conditionTest(claim, cond);
  return singlesOf(cond).some((s) => {
    if (typeof s !== 'object') return String(s).endsWith(`@${ref}`);
    const pattern = patternOf(s);
    if (!pattern) return false;
    const samples = sampleStrings(pattern.alternatives, 200).filter((x) => pattern.test.test(x));
    return samples.some((x) => x.includes('@') && test(`${x.slice(0, x.lastIndexOf('@'))}@${ref}`));
  });
}

const PULL_REQUEST_EVENTS = ['pull_request', 'pull_request_review', 'pull_request_review_comment'];
const PULL_REFS = ['refs/pull/1/merge', 'refs/pull/1/head'];

function lintProduction(role: Role, set: ConditionSet, index: number, platform: Platform, because: string, drafts: Draft[]): void {
  const at = (claim: string): Path => (set[claim] === undefined ? ['allow', index] : ['allow', index, claim]);
  const prod = `production role (${because})`;
  if (platform === 'github') {
    for (const [event, rule] of [
      ['pull_request_target', 'prod-pull-request-target'],
      ['workflow_run', 'prod-workflow-run'],
    ] as const) {
      if (admits(set, 'event_name', event) && !blockedByDeny(role, set, 'event_name', event)) {
        drafts.push({
          rule,
          path: at('event_name'),
          message: `allow[${index}] admits event_name ${event} and no deny set stops it; this is a ${prod}`,
        });
      }
    }
    const events = PULL_REQUEST_EVENTS.filter((e) => admits(set, 'event_name', e) && !blockedByDeny(role, set, 'event_name', e));
    const refs = PULL_REFS.filter(
      (r) => admits(set, 'ref', r) && workflowRefAdmits(set, 'job_workflow_ref', r) && workflowRefAdmits(set, 'workflow_ref', r),
    );
    if (events.length > 0 && refs.length > 0) {
      drafts.push({
        rule: 'prod-fork-pull-request',
        path: at(set.ref === undefined ? 'event_name' : 'ref'),
        message: `allow[${index}] admits ${events[0]} runs (ref ${refs[0]}), whose code may come from a fork; this is a ${prod}`,
      });
    }
  } else {
    const mr = 'merge_request_event';
    const protectedOnly =
      set.ref_protected !== undefined && isExact(set.ref_protected) && !conditionTest('ref_protected', set.ref_protected)('false');
    if (admits(set, 'pipeline_source', mr) && !blockedByDeny(role, set, 'pipeline_source', mr) && !protectedOnly) {
      drafts.push({
        rule: 'prod-fork-pull-request',
        path: at('pipeline_source'),
        message: `allow[${index}] admits merge request pipelines (pipeline_source ${mr}) from unprotected refs, whose code may come from a fork; this is a ${prod}`,
      });
    }
  }
  const hosted = platform === 'github' ? 'github-hosted' : 'gitlab-hosted';
  const runner = set.runner_environment;
  if (runner === undefined || conditionTest('runner_environment', runner)('self-hosted')) {
    drafts.push({
      rule: 'prod-self-hosted-runner',
      path: at('runner_environment'),
      message: `allow[${index}] ${runner === undefined ? `does not bind runner_environment: ${hosted}` : 'admits runner_environment self-hosted'}; this is a ${prod}`,
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Grants

const ENDPOINT_DEFAULTS: Record<string, Record<string, (g: Grant) => string[]>> = {
  aws: { sts_endpoint: (g) => (g.type === 'aws' ? [`https://sts.${g.region}.amazonaws.com`, 'https://sts.amazonaws.com'] : []) },
  azure: { authority_host: () => ['https://login.microsoftonline.com'] },
  gcp: { sts_url: () => ['https://sts.googleapis.com/v1/token'], iam_credentials_url: () => ['https://iamcredentials.googleapis.com'] },
  github: { api_url: () => ['https://api.github.com'] },
  azure_secret: { authority_host: () => ['https://login.microsoftonline.com'] },
  aws_secret: {
    sts_endpoint: (g) => (g.type === 'aws_secret' ? [`https://sts.${g.region}.amazonaws.com`, 'https://sts.amazonaws.com'] : []),
    secretsmanager_endpoint: (g) => (g.type === 'aws_secret' ? [`https://secretsmanager.${g.region}.amazonaws.com`] : []),
  },
  aws_parameter: {
    sts_endpoint: (g) => (g.type === 'aws_parameter' ? [`https://sts.${g.region}.amazonaws.com`, 'https://sts.amazonaws.com'] : []),
    ssm_endpoint: (g) => (g.type === 'aws_parameter' ? [`https://ssm.${g.region}.amazonaws.com`] : []),
  },
  gcp_secret: {
    sts_url: () => ['https://sts.googleapis.com/v1/token'],
    iam_credentials_url: () => ['https://iamcredentials.googleapis.com'],
    secret_manager_url: () => ['https://secretmanager.googleapis.com'],
  },
};

/**
 * The store a grant reads from is the grant's own target, never a default (every Vault, every Key Vault is
 * the deployment's), so it is not an override; but it receives a broker token or an Entra access token, so
 * it must be https. http:// (which the schema admits for loopback, for tests) is a non-default-endpoint
 * finding that only a reasoned exception waives.
 */
const STORE_ADDRESSES: Record<string, string> = { azure_secret: 'vault_url', vault_secret: 'address' };

/** Secret names under which the broker keeps its own upstream keys (see broker/src/mint/secret.ts). */
const BROKER_KEY_SECRET = /^(?:aws\.|github-app-)/;

function lintGrants(role: Role, drafts: Draft[], appKeySecrets: Set<string>): void {
  const maxTtl = parseDuration(role.max_ttl) ?? 0;
  role.grants.forEach((grant, j) => {
    if (grant.type === 'secret' && (BROKER_KEY_SECRET.test(grant.name) || appKeySecrets.has(grant.name))) {
      drafts.push({
        rule: 'secret-names-broker-key',
        path: ['grants', j, 'name'],
        message: `grants[${j}] hands out secret ${grant.name}, which holds a key of the broker's own`,
      });
    }
    if (grant.type === 'gcp' && grant.hand_out === 'subject_token') {
      drafts.push({
        rule: 'gcp-subject-token',
        path: ['grants', j, 'hand_out'],
        message: `grants[${j}] (gcp) hands out a broker token for ${grant.workload_identity_provider}: its holder gets whatever the federation grants role:${role.role}${grant.lifetime !== undefined ? ', and lifetime is not applied' : ''}`,
      });
    }
    const asked = grant.type === 'aws' ? ['duration', grant.duration] : grant.type === 'gcp' ? ['lifetime', grant.lifetime] : undefined;
    if (asked && asked[1] !== undefined) {
      const seconds = parseDuration(asked[1]) ?? 0;
      if (seconds > maxTtl) {
        drafts.push({
          rule: 'grant-exceeds-max-ttl',
          path: ['grants', j, asked[0]!],
          message: `grants[${j}] (${grant.type}) asks for ${asked[0]} ${asked[1]}, longer than max_ttl ${role.max_ttl}; the broker caps it at ${role.max_ttl}`,
        });
      }
    }
    const storeField = STORE_ADDRESSES[grant.type];
    const store = storeField === undefined ? undefined : (grant as Record<string, unknown>)[storeField];
    if (typeof store === 'string' && !store.startsWith('https://')) {
      drafts.push({
        rule: 'non-default-endpoint',
        path: ['grants', j, storeField!],
        message: `grants[${j}] (${grant.type}) sends a token to ${storeField} ${store} without TLS`,
      });
    }
    for (const [field, defaults] of Object.entries(ENDPOINT_DEFAULTS[grant.type] ?? {})) {
      const value = (grant as Record<string, unknown>)[field];
      if (typeof value !== 'string') continue;
      const normal = (u: string) => u.replace(/\/+$/, '');
      if (!defaults(grant).map(normal).includes(normal(value))) {
        drafts.push({
          rule: 'non-default-endpoint',
          path: ['grants', j, field],
          message: `grants[${j}] (${grant.type}) sends requests to ${field} ${value}, not the default`,
        });
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// Issuers

/** Audiences that other relying parties accept too: a token minted for them could be replayed here. */
function sharedAudience(issuer: IssuerConfig): string | undefined {
  const aud = issuer.audience;
  if (aud === 'sts.amazonaws.com') return 'the AWS STS default';
  if (aud === 'api://AzureADTokenExchange') return 'the Azure federated credential default';
  if (/^(?:https:)?\/\/iam\.googleapis\.com\//.test(aud)) return 'a GCP workload identity provider';
  if (/^https:\/\/github\.com\/[^/]+\/?$/.test(aud)) return "GitHub Actions' default (the owner URL)";
  if (aud.replace(/\/+$/, '') === issuer.url.replace(/\/+$/, '')) return "the issuer's own URL";
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------

/** Every finding for a policy set that loaded. */
export function lintPolicy(policy: LoadedPolicy): LintFinding[] {
  const out: LintFinding[] = [];
  const { documents } = policy;
  // GitHub App keys and PostgreSQL manager DSNs named by any role: no secret grant anywhere may hand them out.
  const appKeySecrets = new Set(
    [...policy.roles.values()].flatMap((r) =>
      r.value.grants.flatMap((g) =>
        g.type === 'github' ? [g.private_key_secret ?? `github-app-${g.app_id}`] : g.type === 'postgres' ? [g.connection_secret] : [],
      ),
    ),
  );

  for (const [name, located] of policy.roles) {
    const role = located.value;
    const file = located.file;
    const issuer = policy.issuers.get(role.issuer);
    const platform = platformOf(issuer?.url, role, issuer?.kind);
    const drafts: Draft[] = [];

    const kubernetes = issuer !== undefined && issuerKind(issuer) === 'kubernetes';
    role.allow.forEach((set, i) => {
      lintPatterns(set, ['allow', i], drafts);
      // A cluster's tokens name a workload, not a repository: the CI binding and production rules do not apply.
      if (kubernetes) lintWorkloadBinding(set, i, drafts);
      else lintBindings(set, i, platform, drafts);
    });
    const verdict = productionVerdict(role);
    if (verdict.production && !kubernetes) {
      for (const [i, set] of role.allow.entries()) lintProduction(role, set, i, platform, verdict.because ?? 'production', drafts);
    }
    lintGrants(role, drafts, appKeySecrets);
    for (const f of lintExportedNames(role.grants)) drafts.push(f);
    if (issuer) for (const u of unknownClaims(role, vocabularyOf(issuer), role.issuer)) drafts.push({ rule: 'unknown-claim', ...u });

    const cases = policy.tests.filter((t) => t.value.role === name);
    const missing = (['allow', 'deny'] as const).filter((e) => !cases.some((t) => t.value.expect === e));
    if (missing.length > 0) {
      drafts.push({
        rule: 'role-without-tests',
        path: ['role'],
        message:
          cases.length === 0 ? `role ${name} has no test cases` : `role ${name} has no ${missing.join(' or ')} case in policies/tests`,
      });
    }

    // Exceptions: each waives its rule for this role; one that waives nothing is itself a finding.
    const exceptions = role.lint?.exceptions ?? [];
    const used = new Set<string>();
    for (const d of drafts) {
      if (exceptions.some((e) => e.rule === d.rule)) {
        used.add(d.rule);
        continue;
      }
      out.push(finding(d.rule, file, positionOf(documents, file, d.path), d.message, d.severity, name));
    }
    exceptions.forEach((e, k) => {
      if (used.has(e.rule)) return;
      out.push(
        finding(
          'unused-exception',
          file,
          positionOf(documents, file, ['lint', 'exceptions', k, 'rule']),
          `the exception for ${e.rule} waives nothing in role ${name}`,
          undefined,
          name,
        ),
      );
    });
  }

  const issuersFile = policy.files.find((f) => f.path === 'issuers.yaml' || f.path === 'issuers.yml')?.path ?? 'issuers.yaml';
  const used = new Set([...policy.roles.values()].map((r) => r.value.issuer));
  for (const [name, issuer] of policy.issuers) {
    if (!used.has(name)) {
      out.push(
        finding(
          'unused-issuer',
          issuersFile,
          keyPositionOf(documents, issuersFile, ['issuers'], name),
          `issuer ${name} (${issuer.url}) is used by no role`,
        ),
      );
    }
    if (!vocabularyOf(issuer).checked) {
      out.push(
        finding(
          'unchecked-claims',
          issuersFile,
          keyPositionOf(documents, issuersFile, ['issuers'], name),
          `issuer ${name} (${issuer.url}) is generic and lists no claims, so the claim names of its roles are not checked`,
        ),
      );
    }
    if (issuer.replay === 'reuse' && issuerKind(issuer) !== 'kubernetes') {
      out.push(
        finding(
          'replay-reuse',
          issuersFile,
          positionOf(documents, issuersFile, ['issuers', name, 'replay']),
          `issuer ${name} (${issuer.url}) is not kind: kubernetes but sets replay: reuse, so one token can be exchanged many times`,
        ),
      );
    }
    const shared = sharedAudience(issuer);
    if (shared) {
      out.push(
        finding(
          'audience-not-unique',
          issuersFile,
          positionOf(documents, issuersFile, ['issuers', name, 'audience']),
          `issuer ${name}: audience ${show(issuer.audience)} is ${shared}, which other services accept too`,
        ),
      );
    }
  }
  return sortFindings(out);
}

// ---------------------------------------------------------------------------------------------------------
// Checks on the raw files: they hold even when the set does not load.

const DELIMITED = /^\/.+\/[dgimsuvy]*$/s;

export function lintFiles(files: PolicyFile[]): LintFinding[] {
  const out: LintFinding[] = [];
  const roleFiles: { file: string; name: string; pos: { line: number; column: number } }[] = [];
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const roleFile = /^roles\/([^/]+)\.ya?ml$/.exec(file.path);
    if (!roleFile) continue;
    const lines = new LineCounter();
    const doc = parseDocument(file.text, { lineCounter: lines, intAsBigInt: true, merge: true });
    const name = doc.get('role');
    const pos = (range: [number, number, number] | null | undefined) => {
      const p = range ? lines.linePos(range[0]) : { line: 1, col: 1 };
      return { line: p.line, column: p.col };
    };
    roleFiles.push({
      file: file.path,
      name: typeof name === 'string' ? name : (roleFile[1] ?? file.path),
      pos: pos((doc.get('role', true) as { range?: [number, number, number] } | undefined)?.range),
    });
    lintRegexScalars(doc, file.path, pos, out);
  }

  // Exact duplicates are errors; names that differ only in separators are easy to confuse in a review.
  const seen = new Map<string, string>();
  const seenLoose = new Map<string, { name: string; file: string }>();
  for (const r of roleFiles) {
    const first = seen.get(r.name);
    if (first !== undefined) {
      out.push(finding('duplicate-role-name', r.file, r.pos, `role name ${show(r.name)} is already defined in ${first}`));
      continue;
    }
    seen.set(r.name, r.file);
    const loose = r.name.replace(/[-_.]/g, '-');
    const similar = seenLoose.get(loose);
    if (similar) {
      out.push(
        finding(
          'duplicate-role-name',
          r.file,
          r.pos,
          `role name ${show(r.name)} differs from ${show(similar.name)} (${similar.file}) only in separators`,
          'warning',
        ),
      );
    } else {
      seenLoose.set(loose, { name: r.name, file: r.file });
    }
  }
  return sortFindings(out);
}

function lintRegexScalars(
  doc: Document,
  file: string,
  pos: (range: [number, number, number] | null | undefined) => { line: number; column: number },
  out: LintFinding[],
): void {
  visit(doc, {
    Pair(_key, pair) {
      if (!isScalar(pair.key) || pair.key.value !== 'regex' || !isScalar(pair.value) || typeof pair.value.value !== 'string') return;
      const source = pair.value.value;
      const at = pos(pair.value.range);
      // read as the engine reads it (escapes and classes skipped), never by a text search
      const modifier = inlineModifiers(source)[0];
      if (modifier !== undefined) {
        out.push(
          finding(
            'regex-modifier',
            file,
            at,
            `regex ${show(source)} uses the inline modifier ${show(modifier)}; policy regexes compare case-sensitively and have no flags`,
          ),
        );
      } else if (DELIMITED.test(source) && source.length > 2) {
        out.push(
          finding(
            'regex-modifier',
            file,
            at,
            `regex ${show(source)} looks like /pattern/flags; write the pattern alone (it is always anchored and has no flags)`,
          ),
        );
      }
    },
  });
}

export function sortFindings(list: LintFinding[]): LintFinding[] {
  return [...list].sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column || (a.rule < b.rule ? -1 : 1),
  );
}
