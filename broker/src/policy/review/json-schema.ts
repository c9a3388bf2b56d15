// The JSON Schema of a role file, generated from the zod schema (the one the loader enforces), so editors
// complete keys and flag mistakes as you type. scripts/gen-policy-schema.ts writes it to policies/schema.json
// and a test keeps that file equal to this output. What zod cannot express (refinements, the condition-set
// pipe, YAML integers as bigint) is filled in here, with descriptions for hovers.
import { z } from 'zod';
import { conditionSetSchema, roleSchema } from '../schema.ts';
import { EXCEPTABLE_RULE_IDS } from '../exceptable-rules.ts';
import { RULES_BY_ID } from './rules.ts';

type Json = Record<string, unknown>;

const DURATION = { type: 'string', pattern: '^(?:\\d+[smhd])+$', examples: ['15m', '1h', '1h30m'] };
const ENDPOINT = { type: 'string', format: 'uri', pattern: '^https?://' };

const DESCRIPTIONS: Record<string, string> = {
  role: 'The role name: lower case letters, digits, ".", "_", "-". Must equal the file name (roles/NAME.yaml).',
  description: 'What the role is for, for reviewers.',
  issuer: 'The token issuer (a key of issuers.yaml) whose tokens may ask for this role.',
  max_ttl: 'Nothing minted for this role lives longer than this (at most 12h), whatever a grant asks for.',
  allow: 'Condition sets: the role is granted when any set matches, and a set matches when every one of its conditions holds.',
  deny: 'Condition sets checked first: any matching set denies, whatever allow says. Deny on what is present (event_name: pull_request_target).',
  grants: 'What the broker hands out when the role is granted.',
  lint: 'For `policy check` only (matching ignores it): whether this is a production role, and reasoned exceptions to lint rules.',
  production:
    'Overrides the heuristic (a role name with prod/production/prd, an environment condition admitting production) that decides whether the production lint rules apply.',
  exceptions:
    'Lint rules this role may break, each with the reason a reviewer can judge. An exception that waives nothing is itself a finding.',
  reason: 'Why this role needs the exception (at least 10 characters); shown in the access diff when added.',
  role_arn: 'The IAM role to assume.',
  region: 'The AWS region of the STS endpoint, e.g. us-east-1.',
  duration: 'How long the AWS credentials live (default: max_ttl; never more than max_ttl).',
  mode: 'web_identity (default): AssumeRoleWithWebIdentity with a broker token; access_key: AssumeRole signed with broker-held keys.',
  session_policy: 'An inline session policy (JSON) that limits the session below the IAM role.',
  policy_arns: 'Managed session policies that limit the session below the IAM role.',
  session_tags:
    'Session tag name -> claim name, or JSON Pointer into nested claims (/kubernetes.io/namespace), whose value becomes the tag.',
  sts_endpoint: 'Non-default STS endpoint (flagged by the lint: non-default-endpoint).',
  tenant_id: 'The Entra tenant.',
  client_id: 'The application (client) id with a federated credential for the broker.',
  scope: 'The scope of the access token, e.g. https://management.azure.com/.default.',
  authority_host: 'Non-default Entra authority (sovereign clouds; flagged by the lint).',
  workload_identity_provider: 'Full resource name of the workload identity provider.',
  service_account: 'Service account to impersonate (short-lived tokens with an exact lifetime).',
  project_id: 'The GCP project for quota and billing.',
  scopes: 'OAuth scopes of the token.',
  lifetime: 'How long the GCP token lives (default: max_ttl; never more than max_ttl).',
  access_boundary: 'Credential access boundary rules that limit the token below the service account.',
  sts_url: 'Non-default Google STS URL (flagged by the lint).',
  iam_credentials_url: 'Non-default IAM Credentials URL (flagged by the lint).',
  hand_out:
    "access_token (default): the broker exchanges and hands out Google's access token. subject_token: it hands out its broker token for the provider, which the caller's google-auth-library exchanges (exchange --format gcp-executable); not with access_boundary.",
  app_id: 'The GitHub App id.',
  installation_id: 'The installation of the App whose token is minted.',
  repositories: 'Repository names (without owner) the installation token is limited to.',
  permissions: 'Permission -> read | write | admin that the installation token is limited to.',
  private_key_secret: 'The stored secret holding the App private key.',
  api_url: 'Non-default GitHub API URL (GitHub Enterprise Server; flagged by the lint).',
  name: 'The secret name in the store.',
  env: 'The environment variable name clients export it as (default: the secret name).',
  secret_id: 'aws_secret: the Secrets Manager secret, by ARN or name (one secret, no wildcards).',
  version_stage: 'aws_secret: the staging label to read (default AWSCURRENT); or version_id.',
  version_id: 'aws_secret: the version (UUID) to read; or version_stage.',
  json_keys: 'Env name -> field of a JSON value to export (instead of env, which exports the whole value).',
  secretsmanager_endpoint: 'Non-default Secrets Manager endpoint (flagged by the lint).',
  ssm_endpoint: 'Non-default SSM endpoint (flagged by the lint).',
  secret: 'gcp_secret: projects/<project>/secrets/<name>/versions/<latest|number>.',
  secret_manager_url: 'Non-default Secret Manager API root, the broker appends /v1/... (flagged by the lint).',
};

const CONDITION_SET_DESCRIPTION =
  'Claim name -> condition. A condition is a string (exact, case-sensitive), a list (any of), {glob: "refs/heads/*"} (`*` never crosses `/`), {regex: "v[0-9]+"} (anchored, no flags) or {equals: value} (typed). YAML numbers and booleans mean their canonical string. A claim the token lacks never matches.';

function options(): Parameters<typeof z.toJSONSchema>[1] {
  return {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-7',
    override: (ctx) => {
      const def = (ctx.zodSchema as { _zod: { def: { type: string; out?: z.ZodType } } })._zod.def;
      const json = ctx.jsonSchema as Json;
      // YAML integers load as bigint (exact ids): in the file they are plain integers.
      if (def.type === 'bigint') json.type = 'integer';
      // A condition set is checked as unknown first (to refuse __proto__), then as a record: describe the record.
      if (ctx.zodSchema === conditionSetSchema && def.out) {
        const { $schema: _drop, ...record } = z.toJSONSchema(def.out, options()) as Json;
        Object.assign(json, record, { description: CONDITION_SET_DESCRIPTION, minProperties: 1 });
      }
    },
  };
}

/** Fills in what refinements hide (durations, endpoints) and the descriptions, walking every object schema. */
function decorate(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(decorate);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const obj = node as Json;
  const props = obj.properties as Record<string, Json> | undefined;
  if (props) {
    for (const [key, prop] of Object.entries(props)) {
      if (['max_ttl', 'duration', 'lifetime'].includes(key)) Object.assign(prop, DURATION);
      if (
        [
          'sts_endpoint',
          'authority_host',
          'sts_url',
          'iam_credentials_url',
          'api_url',
          'secretsmanager_endpoint',
          'ssm_endpoint',
          'secret_manager_url',
        ].includes(key)
      )
        Object.assign(prop, ENDPOINT);
      if (DESCRIPTIONS[key] && prop.description === undefined) prop.description = DESCRIPTIONS[key];
    }
    const rule = props.rule;
    if (rule && Array.isArray(rule.enum)) {
      rule.description = `A rule a role may waive: ${EXCEPTABLE_RULE_IDS.map((id) => `${id} (${RULES_BY_ID.get(id)?.title ?? ''})`).join('; ')}`;
    }
  }
  for (const value of Object.values(obj)) decorate(value);
}

export function buildRoleJsonSchema(): Json {
  const generated = z.toJSONSchema(roleSchema, options()) as Json;
  decorate(generated);
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'secret-broker role',
    description:
      'One role per file: policies/roles/NAME.yaml. Generated from broker/src/policy/schema.ts by scripts/gen-policy-schema.ts; do not edit.',
    ...rest,
  };
}

/** The file text: stable key order from the schema, two-space indent, final newline. */
export function renderRoleJsonSchema(): string {
  return `${JSON.stringify(buildRoleJsonSchema(), null, 2)}\n`;
}
