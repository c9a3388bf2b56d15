// The keys an audit record's identity can hold, with no imports: the audit query (and through it the admin
// page's browser bundle) needs the set without the policy code that record.ts uses to read the claims.

/** Identity claims copied into the record when present (GitHub and GitLab names). */
export const IDENTITY_CLAIMS = [
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'repository_visibility',
  'project_path',
  'project_id',
  'namespace_path',
  'namespace_id',
  'job_project_path',
  'job_project_id',
  'ref',
  'ref_type',
  'ref_protected',
  'sha',
  'environment',
  'environment_protected',
  'event_name',
  'pipeline_source',
  'workflow_ref',
  'job_workflow_ref',
  'ci_config_ref_uri',
  'runner_environment',
  'actor',
  'actor_id',
  'user_login',
  'user_id',
  'run_id',
  'run_attempt',
  'pipeline_id',
  'job_id',
] as const;

/**
 * Nested identity claims (a Kubernetes service-account token's), recorded under the JSON Pointer a policy
 * condition would use, so a record names the workload as the role does.
 */
export const IDENTITY_POINTERS = [
  '/kubernetes.io/namespace',
  '/kubernetes.io/serviceaccount/name',
  '/kubernetes.io/serviceaccount/uid',
  '/kubernetes.io/pod/name',
  '/kubernetes.io/pod/uid',
  '/kubernetes.io/node/name',
] as const;

/**
 * Every key an audit identity can hold (the claim names and the JSON Pointers above), for filters that name
 * one. A key outside this set names nothing a record carries: `/__proto__`, `/../record` and the like.
 */
export const IDENTITY_KEYS: ReadonlySet<string> = new Set<string>([...IDENTITY_CLAIMS, ...IDENTITY_POINTERS]);
