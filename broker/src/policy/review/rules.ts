// The lint rules: one table with each rule's id, severity, what it catches and how to fix it. `policy check`
// prints the hint and SARIF carries the help to GitHub code scanning. The ids a role may list as a reasoned
// exception (`lint.exceptions`) live in ../exceptable-rules.ts, since the role schema (which the broker
// runs) validates them and must not pull this table into the Worker bundle.
import { EXCEPTABLE_RULE_IDS } from '../exceptable-rules.ts';

export type Severity = 'error' | 'warning';

export interface RuleInfo {
  id: string;
  severity: Severity;
  /** One line: what the rule catches. */
  title: string;
  /** How to fix it (printed as the hint under a finding). */
  help: string;
  /** Whether a role may waive it with `lint.exceptions: [{rule, reason}]`. */
  exceptable: boolean;
}

const ALL: Omit<RuleInfo, 'exceptable'>[] = [
  {
    id: 'schema',
    severity: 'error',
    title: 'The file does not parse or does not follow the policy format.',
    help: 'Fix the key or value at this position; the README section "Writing a role" lists every key, and policies/schema.json lets an editor check as you type.',
  },
  {
    id: 'duplicate-role-name',
    severity: 'error',
    title: 'Two role files define the same role name.',
    help: 'Keep one file per role (roles/NAME.yaml); delete or rename the other. Names that differ only in "-", "_" or "." are flagged too: they are easy to confuse in a review.',
  },
  {
    id: 'repository-binding',
    severity: 'error',
    title: 'An allow set does not bind an immutable repository or project id.',
    help: 'Add repository_id or repository_owner_id (GitHub), project_id or namespace_id (GitLab) with exact values to every allow set. Names alone can be re-registered after a rename or deletion.',
  },
  {
    id: 'workload-binding',
    severity: 'error',
    title: 'A Kubernetes allow set does not bind the namespace and the service account name with exact values.',
    help: 'Add /kubernetes.io/namespace and /kubernetes.io/serviceaccount/name (and /kubernetes.io/serviceaccount/uid to pin one incarnation), or an exact sub system:serviceaccount:NS:NAME. Anyone who can create a service account anywhere in the cluster gets a token from the same issuer.',
  },
  {
    id: 'owner-wildcard',
    severity: 'error',
    title: 'A glob or regex leaves the owner (organisation, group, account) open.',
    help: 'Spell the owner literally ("acme/*", "acme/[^/]+"), or list the owners; an id condition must be an exact value. A wildcard owner admits every account on the platform, including ones an attacker creates.',
  },
  {
    id: 'wildcard-crosses-slash',
    severity: 'error',
    title: 'A glob or regex on a path-like claim can match "/" (so it spans more path segments than it seems to).',
    help: 'Use a glob "*" (never crosses "/"), or [^/] in a regex, and spell every segment; avoid "**", ".", \\S, \\W, negated classes and classes that contain "/".',
  },
  {
    id: 'editable-claims-only',
    severity: 'error',
    title:
      'Within the repository, the allow set narrows only on claims the person who pushes or triggers chooses (workflow, actor, workflow_ref, head_ref).',
    help: 'Bind what the repository protects: ref (a protected branch or tag), environment (with protection rules), job_workflow_ref, ref_protected (GitLab). Anyone who can push a branch can name a workflow "deploy".',
  },
  {
    id: 'workflow-ref-alone',
    severity: 'error',
    title: 'workflow_ref is bound without job_workflow_ref.',
    help: 'Bind job_workflow_ref: it names the workflow file the job runs (the callee of a reusable workflow), while workflow_ref names only the top-level caller. For a workflow that calls nothing the two are equal.',
  },
  {
    id: 'prod-pull-request-target',
    severity: 'error',
    title: 'A production role can be reached from pull_request_target, which runs with the base branch ref and often on pull-request code.',
    help: 'Restrict event_name in the allow set (e.g. [push, workflow_dispatch]) or add a deny set `- event_name: [pull_request_target, workflow_run]`.',
  },
  {
    id: 'prod-workflow-run',
    severity: 'error',
    title:
      'A production role can be reached from workflow_run, which runs with the default branch ref after any other workflow, including pull-request ones.',
    help: 'Restrict event_name in the allow set or add a deny set `- event_name: [pull_request_target, workflow_run]`.',
  },
  {
    id: 'prod-fork-pull-request',
    severity: 'error',
    title:
      'A production role can be reached from pull request (GitHub) or merge request (GitLab) pipelines, whose code may come from a fork.',
    help: 'GitHub: bind ref to a branch or tag (refs/heads/main) or restrict event_name. GitLab: bind ref_protected: true or deny `pipeline_source: merge_request_event`.',
  },
  {
    id: 'prod-self-hosted-runner',
    severity: 'error',
    title: 'A production role can be reached from self-hosted runners (runner_environment is not bound to the hosted value).',
    help: 'Add `runner_environment: github-hosted` (GitLab: gitlab-hosted) to the allow set, or add a reasoned exception if your production runners are self-hosted and hardened.',
  },
  {
    id: 'regex-modifier',
    severity: 'error',
    title: 'A regex uses inline modifiers such as (?i:...) or is written as /pattern/flags.',
    help: 'Policy regexes have no flags: claims compare case-sensitively, exactly as the token gives them. List the spellings you accept instead.',
  },
  {
    id: 'audience-not-unique',
    severity: 'error',
    title: "An issuer's audience is one that other relying parties also accept (a cloud's default, the platform default).",
    help: "Set audience to this broker's own URL and request tokens for it, so a token minted for AWS, Azure, GCP or anything else cannot be replayed here.",
  },
  {
    id: 'replay-reuse',
    severity: 'warning',
    title: 'An issuer that is not `kind: kubernetes` sets `replay: reuse`, so one of its tokens can be used many times.',
    help: 'Keep `replay: single_use` (the default) for CI issuers: their tokens are fresh for every job step, and a stolen one is then worth one exchange. `reuse` is for tokens handed out many times by design, such as a kubelet projected token.',
  },
  {
    id: 'unused-issuer',
    severity: 'warning',
    title: 'An issuer in issuers.yaml is not used by any role.',
    help: 'Remove it: every trusted issuer is attack surface (its keys are fetched and its tokens verified).',
  },
  {
    id: 'role-without-tests',
    severity: 'warning',
    title: 'A role has no test case that allows it, or none that denies it.',
    help: 'Add cases to policies/tests/*.yaml: one that is allowed and at least one that is denied (another branch, pull_request_target, another repository id).',
  },
  {
    id: 'grant-exceeds-max-ttl',
    severity: 'warning',
    title: "A grant asks for a longer lifetime than the role's max_ttl (the broker caps it, so the grant says more than it gets).",
    help: "Lower the grant's duration (aws) or lifetime (gcp) to at most max_ttl, or raise max_ttl if that is what you mean.",
  },
  {
    id: 'gcp-subject-token',
    severity: 'warning',
    title:
      'A gcp grant hands out a subject token (hand_out: subject_token): whoever holds it for its five minutes can do what the workload identity federation allows, not what the grant says.',
    help: "The caller's library does the exchange, so scopes, lifetime and service account are its choice within the provider's attribute condition and the IAM bindings of role:<role>; the broker bounds none of them and cannot add an access boundary. Keep the default hand_out: access_token unless a long job needs its SDK to refresh by itself, and bind the principal role:<role> to exactly one service account.",
  },
  {
    id: 'secret-names-broker-key',
    severity: 'error',
    title:
      "A secret grant names one of the broker's own upstream keys (aws.*, github-app-*, a github grant's private_key_secret, a postgres grant's connection_secret).",
    help: 'Those secrets hold the keys the broker signs with for AWS access_key mode and GitHub Apps; the secret minter refuses them at run time. Grant the cloud credential (type aws or github) instead of its key.',
  },
  {
    id: 'non-default-endpoint',
    severity: 'error',
    title:
      'A grant sends broker-signed material (tokens, signed requests, App JWTs) to a non-default endpoint (sts_endpoint, authority_host, sts_url, iam_credentials_url, api_url, secretsmanager_endpoint, ssm_endpoint, secret_manager_url), or sends a token to a secret store (vault_url, address) over http.',
    help: 'Remove the override unless you need it (GHES, sovereign clouds, a test fake); then add `lint: {exceptions: [{rule: non-default-endpoint, reason: ...}]}` naming why that endpoint may receive them.',
  },
  {
    id: 'secret-env-name-refused',
    severity: 'error',
    title:
      'A secret grant (secret, aws_secret, aws_parameter, gcp_secret, azure_secret, vault_secret) exports a name the clients refuse (it would steer the runner, a shell or a tool).',
    help: 'Pick another env name (or json_keys name): names such as LD_PRELOAD, *_PATH, *_OPTIONS, GIT_*, NODE_* are never set from a credential; see client/env-names.ts.',
  },
  {
    id: 'secret-env-name-duplicate',
    severity: 'error',
    title: "Two of a role's grants export the same environment variable name (a client refuses the whole response then).",
    help: "Give every exported name (env, json_keys names, a secret grant's env or name, the cloud grants' AWS_*/GOOGLE_*/AZURE_*/GH_TOKEN) one grant only.",
  },
  {
    id: 'unknown-claim',
    severity: 'error',
    title:
      "A condition (or an aws session tag) names a claim that the role's issuer does not issue, so it never matches: a deny set with it denies nothing.",
    help: "Fix the spelling (the message suggests the nearest claim names). For a claim the platform added recently, or a generic issuer's claim, list it under the issuer's `claims:` in issuers.yaml.",
  },
  {
    id: 'unchecked-claims',
    severity: 'warning',
    title: 'A generic issuer has no `claims:` list, so the claim names its roles use cannot be checked for typos.',
    help: 'Add `claims: [...]` with the names the issuer puts in its tokens, or `kind: github` / `kind: gitlab` if it is one of those platforms (a GitHub Enterprise Server or a self-managed GitLab).',
  },
  {
    id: 'unused-exception',
    severity: 'warning',
    title: 'A lint exception waives a rule that the role does not break.',
    help: 'Remove the exception, so it cannot silently cover a later change.',
  },
];

const EXCEPTABLE = new Set<string>(EXCEPTABLE_RULE_IDS);

export const RULES: readonly RuleInfo[] = ALL.map((r) => ({ ...r, exceptable: EXCEPTABLE.has(r.id) }));

export const RULES_BY_ID: ReadonlyMap<string, RuleInfo> = new Map(RULES.map((r) => [r.id, r]));

export function ruleInfo(id: string): RuleInfo {
  const info = RULES_BY_ID.get(id);
  if (!info) throw new Error(`unknown lint rule ${id}`);
  return info;
}
