// The policy file format (docs/ARCHITECTURE.md "Policy files"). Unknown keys anywhere are errors (strict
// objects), so a typo never silently widens or narrows access.
import { z } from 'zod';
import { parseDuration } from '../util/duration.ts';
import { globProblem, patternCost, regexProblem, ROLE_PROGRAM_MAX } from './pattern.ts';
import { ROLE_NAME } from './role-name.ts';
import { EXCEPTABLE_RULE_IDS } from './exceptable-rules.ts';

export { ROLE_NAME };
const ISSUER_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Claim names a condition may use. Prototype keys are refused so claims stay plain data. */
const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/**
 * A condition key starting with "/" is a JSON Pointer (RFC 6901) into the claims: non-empty reference
 * tokens of claim-name characters or the escapes ~0 ("~") and ~1 ("/"), at most POINTER_MAX_DEPTH of them.
 * Empty tokens, a trailing "/", other escapes (~2) and prototype names are refused: none names a claim.
 */
export const POINTER_MAX_DEPTH = 8;
const POINTER = /^(?:\/(?:[A-Za-z0-9_.:-]|~[01]){1,128}){1,8}$/;

/** The unescaped reference tokens of a pointer key (RFC 6901: ~1 before ~0). */
export function pointerTokens(key: string): string[] {
  return key
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Where a key reads in the claims (a condition, an aws session tag): a top-level name, or a pointer's tokens. */
export function claimLocation(key: string): { claim: string; path?: string[] } {
  return key.startsWith('/') ? { claim: key, path: pointerTokens(key) } : { claim: key };
}

function isConditionKey(key: string): boolean {
  if (!key.startsWith('/')) return CLAIM_NAME.test(key) && !FORBIDDEN_KEYS.has(key);
  return key.length <= 512 && POINTER.test(key) && pointerTokens(key).every((t) => !FORBIDDEN_KEYS.has(t));
}

const duration = (max: number) =>
  z.string().refine(
    (s) => {
      const seconds = parseDuration(s);
      return seconds !== undefined && seconds <= max;
    },
    `a duration such as 15m or 1h, at most ${max / 3600}h`,
  );

/** http:// only for loopback hosts (local development and tests); https everywhere else. */
export function isAllowedUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.username || url.password || url.hash) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

const endpoint = z.string().refine(isAllowedUrl, 'an https:// URL (http:// only for loopback hosts)');

/** YAML numbers and booleans in conditions mean their canonical string: `ref_protected: true` is "true". */
const scalar = z.union([z.string(), z.number(), z.bigint(), z.boolean()]);

// Every pattern must run on the linear-time matcher (pattern.ts): a regex with a backreference or a
// lookaround, or one too large, is refused here so the broker never loads it and `policy check` names it.
const patternRefinement = (problem: (src: string) => string | undefined) => (src: string, ctx: z.RefinementCtx) => {
  const message = problem(src);
  if (message !== undefined) ctx.addIssue({ code: 'custom', message });
};
const globCondition = z.strictObject({ glob: z.string().min(1).max(512).superRefine(patternRefinement(globProblem)) });
const regexCondition = z.strictObject({ regex: z.string().min(1).max(512).superRefine(patternRefinement(regexProblem)) });
/** Typed equality, for the rare claim that is not a string: `{equals: true}` matches the boolean only. */
const equalsCondition = z.strictObject({ equals: scalar });

const singleCondition = z.union([scalar, globCondition, regexCondition, equalsCondition]);
export const conditionSchema = z.union([singleCondition, z.array(singleCondition).min(1).max(256)]);

export const conditionSetSchema = z
  .unknown()
  // zod records skip a `__proto__` key without a word: refuse it here, or that condition would vanish and
  // the rest of the set would decide alone.
  .superRefine((set, ctx) => {
    if (typeof set === 'object' && set !== null && Object.hasOwn(set, '__proto__')) {
      ctx.addIssue({ code: 'custom', path: ['__proto__'], message: 'a claim name' });
    }
  })
  .pipe(
    z
      .record(z.string().refine(isConditionKey, 'a claim name, or a JSON Pointer such as /kubernetes.io/namespace'), conditionSchema)
      .refine((set) => Object.keys(set).length > 0, 'at least one condition'),
  );

const awsGrant = z.strictObject({
  type: z.literal('aws'),
  role_arn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'an IAM role ARN'),
  region: z.string().regex(/^[a-z]{2}(?:-[a-z]+)+-\d$/, 'an AWS region such as us-east-1'),
  duration: duration(12 * 3600).optional(),
  mode: z.enum(['web_identity', 'access_key']).default('web_identity'),
  session_policy: z.string().max(2048).optional(),
  policy_arns: z
    .array(z.string().regex(/^arn:aws[a-z-]*:iam::(?:\d{12}|aws):policy\/.+$/))
    .max(10)
    .optional(),
  // A claim name, or a JSON Pointer into nested claims (/kubernetes.io/namespace), as in conditions.
  session_tags: z
    .record(z.string().regex(/^[\w .:/=+@-]{1,128}$/), z.string().refine(isConditionKey, 'a claim name or a JSON Pointer into the claims'))
    .optional(),
  sts_endpoint: endpoint.optional(),
});

const azureGrant = z.strictObject({
  type: z.literal('azure'),
  tenant_id: z.string().min(1),
  client_id: z.string().min(1),
  scope: z.string().min(1),
  authority_host: endpoint.default('https://login.microsoftonline.com'),
});

const gcpGrant = z.strictObject({
  type: z.literal('gcp'),
  workload_identity_provider: z
    .string()
    .regex(
      /^\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/[^/]+\/providers\/[^/]+$|^projects\/\d+\/locations\/global\/workloadIdentityPools\/[^/]+\/providers\/[^/]+$/,
      'a full workload identity provider resource name',
    ),
  service_account: z.string().email().optional(),
  project_id: z.string().optional(),
  scopes: z.array(z.string().min(1)).default(['https://www.googleapis.com/auth/cloud-platform']),
  lifetime: duration(12 * 3600).optional(),
  access_boundary: z
    .array(
      z.strictObject({
        available_resource: z.string().min(1),
        available_permissions: z.array(z.string().min(1)).min(1),
        availability_condition: z.strictObject({ expression: z.string(), title: z.string().optional() }).optional(),
      }),
    )
    .optional(),
  sts_url: endpoint.default('https://sts.googleapis.com/v1/token'),
  iam_credentials_url: endpoint.default('https://iamcredentials.googleapis.com'),
  // access_token (absent = this): the broker does the exchange and hands out Google's access token.
  // subject_token: it hands out the broker token for the provider instead, which the caller's
  // google-auth-library exchanges itself (`exchange --format gcp-executable`).
  hand_out: z.enum(['access_token', 'subject_token']).optional(),
});

const githubGrant = z.strictObject({
  type: z.literal('github'),
  // YAML integers load as bigint (see load.ts), so an unquoted id is a bigint here.
  app_id: z.union([z.string(), z.number(), z.bigint()]).transform(String),
  installation_id: z.union([z.string(), z.number(), z.bigint()]).transform(String),
  repositories: z.array(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a repository name without owner')).min(1),
  permissions: z.record(z.string().regex(/^[a-z_]+$/), z.enum(['read', 'write', 'admin'])),
  private_key_secret: z.string().optional(),
  api_url: endpoint.default('https://api.github.com'),
});

const secretGrant = z.strictObject({
  type: z.literal('secret'),
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'a secret name'),
  env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
    .optional(),
});

// ---------------------------------------------------------------------------------------------------------
// Reading from existing secret stores (issue 16): azure_secret (Key Vault) and vault_secret (Vault / OpenBao).
// Each exports one `secret` credential per name; names are environment variable names, picked fields are
// the store's own key names.

const exportedName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,254}$/, 'an environment variable name');

/** Exported name -> field of the stored value. `__proto__` is refused first: zod records drop it silently. */
const exportedFields = (what: string) =>
  z
    .unknown()
    .superRefine((map, ctx) => {
      if (typeof map === 'object' && map !== null && Object.hasOwn(map, '__proto__')) {
        ctx.addIssue({ code: 'custom', path: ['__proto__'], message: 'an environment variable name' });
      }
    })
    .pipe(
      z
        .record(exportedName, z.string().min(1).max(256).describe(what))
        .refine((m) => Object.keys(m).length > 0 && Object.keys(m).length <= 32, 'one to 32 names'),
    );

/** The store's root URL and nothing else: the minter appends the API path. */
const storeRoot = (example: string) =>
  endpoint.refine((text) => {
    const url = new URL(text);
    return url.search === '' && /^\/*$/.test(url.pathname);
  }, `the root URL only, such as ${example} (no path, no query)`);

const azureSecretGrant = z
  .strictObject({
    type: z.literal('azure_secret'),
    vault_url: storeRoot('https://myvault.vault.azure.net').describe('The Key Vault, e.g. https://myvault.vault.azure.net.'),
    name: z
      .string()
      .regex(/^[0-9A-Za-z-]{1,127}$/, 'a Key Vault secret name (letters, digits, "-")')
      .describe('The secret name in the vault.'),
    version: z
      .string()
      .regex(/^(?:[0-9a-f]{32})?$/, 'a secret version (32 lower-case hex digits), or "" for the latest')
      .default('')
      .describe('The secret version; "" (default) for the latest.'),
    tenant_id: z.string().min(1),
    client_id: z.string().min(1),
    authority_host: endpoint.default('https://login.microsoftonline.com'),
    env: exportedName.optional().describe('The environment variable the whole value is exported as (or json_keys).'),
    json_keys: exportedFields('A top-level field of the JSON secret value.')
      .optional()
      .describe('Environment variable -> field of a JSON secret value (instead of env).'),
  })
  .refine((g) => (g.env === undefined) !== (g.json_keys === undefined), { message: 'exactly one of env and json_keys', path: ['env'] });

/** A Vault path: segments of letters, digits, "_", "-", "." (not "." or ".."), so no wildcard and no traversal. */
const vaultPath = (what: string) =>
  z
    .string()
    .max(512)
    .regex(/^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/, what)
    .refine((p) => p.split('/').every((seg) => seg !== '.' && seg !== '..'), what);

const vaultSecretGrant = z.strictObject({
  type: z.literal('vault_secret'),
  address: storeRoot('https://vault.example.com').describe(
    'The Vault (or OpenBao) server, https (the lint requires it even on loopback-free hosts; see README).',
  ),
  auth_mount: vaultPath('a Vault auth mount path').default('jwt').describe('The JWT auth method mount (default jwt).'),
  auth_role: z
    .string()
    .regex(/^[A-Za-z0-9_.@-]{1,128}$/, 'a Vault JWT auth role name')
    .describe('The JWT auth role bound to the broker issuer.'),
  mount: vaultPath('a KV v2 mount path').default('secret').describe('The KV v2 secrets engine mount (default secret).'),
  path: vaultPath('a KV path (segments without wildcards)').describe('The secret path inside the mount.'),
  // YAML integers load as bigint (see load.ts).
  version: z
    .union([z.number(), z.bigint()])
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(0)
        .max(2 ** 31),
    )
    .default(0)
    .describe('The KV version; 0 (default) for the latest.'),
  namespace: z
    .string()
    .regex(/^(?:[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*\/?)?$/, 'a Vault namespace path')
    .default('')
    .describe('Vault Enterprise / HCP namespace; "" for none.'),
  keys: exportedFields('A field of the KV data.').describe('Environment variable -> field of the KV data.'),
  audience: z.string().min(1).max(512).optional().describe("The broker token's aud (the role's bound_audiences); default: the address."),
});
// Secrets read from AWS Secrets Manager, SSM Parameter Store and GCP Secret Manager with the broker's own
// federated identity (mint/aws-secret.ts, aws-parameter.ts, gcp-secret.ts). Each exports either one value
// (`env`) or fields of a JSON value (`json_keys`: env name -> field), never both.

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
const exportedEnv = z.string().regex(ENV_NAME, 'an environment variable name');
const jsonKeys = z
  .record(exportedEnv, z.string().min(1).max(256))
  .refine((m) => Object.keys(m).length > 0, 'at least one env name -> JSON field')
  .refine((m) => Object.keys(m).length <= 64, 'at most 64 fields');
/** No `*` or `?`: a grant names one secret, never a family of them. */
const noWildcards = (s: string) => !/[*?]/.test(s);
const iamRoleArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'an IAM role ARN');
const awsRegion = z.string().regex(/^[a-z]{2}(?:-[a-z]+)+-\d$/, 'an AWS region such as us-east-1');

function oneExport(grant: { env?: string | undefined; json_keys?: Record<string, string> | undefined }, ctx: z.RefinementCtx): void {
  if ((grant.env === undefined) === (grant.json_keys === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['env'], message: 'exactly one of env (the whole value) or json_keys (fields of a JSON value)' });
  }
}

/** The region of an ARN-named resource must be the grant's region: the call is signed for that region. */
function arnRegionMatches(arn: string, region: string, path: string, ctx: z.RefinementCtx): void {
  const parts = arn.split(':');
  if (parts[0] === 'arn' && parts[3] !== region) {
    ctx.addIssue({ code: 'custom', path: [path], message: `the ARN's region ${parts[3]} is not the grant's region ${region}` });
  }
}

const gcpProvider = z
  .string()
  .regex(
    /^\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/[^/]+\/providers\/[^/]+$|^projects\/\d+\/locations\/global\/workloadIdentityPools\/[^/]+\/providers\/[^/]+$/,
    'a full workload identity provider resource name',
  );

const awsSecretGrant = z
  .strictObject({
    type: z.literal('aws_secret'),
    secret_id: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$|^[A-Za-z0-9/_+=.@-]{1,512}$/,
        'a secret ARN or name (no wildcards)',
      )
      .refine(noWildcards, 'one secret, no wildcards'),
    region: awsRegion,
    role_arn: iamRoleArn,
    version_stage: z
      .string()
      .regex(/^[A-Za-z0-9_+=.@-]{1,256}$/, 'a version stage such as AWSCURRENT')
      .optional(),
    version_id: z
      .string()
      .regex(/^[A-Za-z0-9-]{32,64}$/, 'a version id (UUID)')
      .optional(),
    env: exportedEnv.optional(),
    json_keys: jsonKeys.optional(),
    sts_endpoint: endpoint.optional(),
    secretsmanager_endpoint: endpoint.optional(),
  })
  .superRefine((g, ctx) => {
    oneExport(g, ctx);
    if (g.version_stage !== undefined && g.version_id !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['version_id'], message: 'version_stage or version_id, not both' });
    }
    arnRegionMatches(g.secret_id, g.region, 'secret_id', ctx);
  });

const awsParameterGrant = z
  .strictObject({
    type: z.literal('aws_parameter'),
    name: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:ssm:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:parameter\/[A-Za-z0-9/_.-]{1,2048}$|^[A-Za-z0-9/_.-]{1,2048}$/,
        'a parameter name or ARN (no wildcards, no :version selector)',
      )
      .refine(noWildcards, 'one parameter, no wildcards'),
    region: awsRegion,
    role_arn: iamRoleArn,
    env: exportedEnv.optional(),
    json_keys: jsonKeys.optional(),
    sts_endpoint: endpoint.optional(),
    ssm_endpoint: endpoint.optional(),
  })
  .superRefine((g, ctx) => {
    oneExport(g, ctx);
    arnRegionMatches(g.name, g.region, 'name', ctx);
  });

const gcpSecretGrant = z
  .strictObject({
    type: z.literal('gcp_secret'),
    secret: z
      .string()
      .regex(
        /^projects\/[a-z0-9-]{1,63}\/secrets\/[A-Za-z0-9_-]{1,255}\/versions\/(?:latest|[1-9]\d{0,18})$/,
        'projects/<project>/secrets/<name>/versions/<latest|number> (no wildcards)',
      ),
    workload_identity_provider: gcpProvider,
    service_account: z.string().email().optional(),
    env: exportedEnv.optional(),
    json_keys: jsonKeys.optional(),
    sts_url: endpoint.default('https://sts.googleapis.com/v1/token'),
    iam_credentials_url: endpoint.default('https://iamcredentials.googleapis.com'),
    secret_manager_url: endpoint.default('https://secretmanager.googleapis.com'),
  })
  .superRefine(oneExport);

// A PostgreSQL login that exists only for the job (mint/postgres.ts): created by the broker's manager role,
// member of existing group roles only, removed by the lease sweeper at expiry or on revoke.

/** A PostgreSQL role or database name: 1-63 bytes, no NUL (quoted by the server, never concatenated). */
const pgIdentifier = (what: string) =>
  z
    .string()
    .min(1)
    .refine((s) => !s.includes('\u0000') && new TextEncoder().encode(s).length <= 63, `${what}: 1 to 63 bytes, no NUL`);

const postgresGrant = z.strictObject({
  type: z.literal('postgres'),
  connection_secret: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'a secret name')
    .describe("The stored secret holding the DSN (postgres://...) of the broker's manager role."),
  database: pgIdentifier('a database name').describe('The database the login is for (DROP OWNED runs there).'),
  member_of: z
    .array(
      pgIdentifier('a role name').refine(
        (r) => !/^(?:pg_|sb_)/i.test(r),
        'not a predefined pg_* role or a broker login (sb_*): they carry server-level rights',
      ),
    )
    .min(1)
    .max(16)
    .refine((list) => new Set(list).size === list.length, 'each role at most once')
    .describe('Existing group roles the login joins; nothing else is granted.'),
  ttl: duration(12 * 3600).describe("The login's lifetime, at most the role's max_ttl."),
  connection_limit: z
    .union([z.number(), z.bigint()])
    .transform(Number)
    .pipe(z.number().int().min(1).max(100))
    .default(2)
    .describe('CONNECTION LIMIT of the login (default 2).'),
  inherit: z.boolean().default(true).describe("false: NOINHERIT, the login must SET ROLE to use a group's rights."),
  client_host: z
    .string()
    .regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*|\[[0-9A-Fa-f:.]+\])$/, 'a host name or address')
    .max(253)
    .optional()
    .describe("The host clients should use, if not the DSN's."),
  env_prefix: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]{0,31}$/, 'an upper-case environment variable prefix')
    .default('PG')
    .describe('Prefix of the exported libpq variables: PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD.'),
});

export const grantSchema = z.discriminatedUnion('type', [
  awsGrant,
  azureGrant,
  gcpGrant,
  githubGrant,
  secretGrant,
  azureSecretGrant,
  vaultSecretGrant,
  awsSecretGrant,
  awsParameterGrant,
  gcpSecretGrant,
  postgresGrant,
]);

/**
 * What `policy check` needs to know about a role beyond its conditions: `production` overrides the heuristic
 * (role name, environment condition) that decides whether the production rules apply, and `exceptions` waive
 * a rule for this role with a reason a reviewer can read. Matching never looks at this block.
 */
export const roleLintSchema = z.strictObject({
  production: z.boolean().optional(),
  exceptions: z
    .array(
      z.strictObject({
        rule: z.enum(EXCEPTABLE_RULE_IDS),
        reason: z.string().min(10, 'a reason a reviewer can judge (at least 10 characters)').max(500),
      }),
    )
    .max(16)
    .refine((list) => new Set(list.map((e) => e.rule)).size === list.length, 'each rule at most once')
    .default([]),
});

export const roleSchema = z
  .strictObject({
    role: z.string().regex(ROLE_NAME, 'a role name: lower case letters, digits, ".", "_", "-"'),
    description: z.string().max(1000).optional(),
    issuer: z.string().regex(ISSUER_NAME),
    max_ttl: duration(12 * 3600),
    allow: z.array(conditionSetSchema).min(1),
    deny: z.array(conditionSetSchema).default([]),
    grants: z.array(grantSchema).min(1).max(16),
    lint: roleLintSchema.optional(),
  })
  .superRefine((role, ctx) => {
    // A login outliving the role's bound would be a promise the broker did not mean to make.
    const maxTtl = parseDuration(role.max_ttl) ?? 0;
    role.grants.forEach((grant, i) => {
      // Downscoping happens in the exchange; a subject token is exchanged by the caller, who would simply
      // leave the boundary out. The broker cannot promise it, so it refuses the grant.
      if (grant.type === 'gcp' && grant.hand_out === 'subject_token' && grant.access_boundary !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['grants', i, 'access_boundary'],
          message:
            'access_boundary cannot be enforced with hand_out: subject_token (the caller does the token exchange and could leave it out); remove one of them',
        });
      }
      if (grant.type === 'postgres' && (parseDuration(grant.ttl) ?? 0) > maxTtl) {
        ctx.addIssue({
          code: 'custom',
          path: ['grants', i, 'ttl'],
          message: `ttl ${grant.ttl} is above the role's max_ttl ${role.max_ttl}`,
        });
      }
    });
    // One exchange runs at most every pattern of one role once, each over a capped claim: bound their sum.
    const sets = [...role.allow, ...role.deny] as Record<string, unknown>[];
    const total = sets.reduce((sum, set) => sum + Object.values(set).reduce<number>((n, c) => n + patternCost(c), 0), 0);
    if (total > ROLE_PROGRAM_MAX) {
      ctx.addIssue({
        code: 'custom',
        path: ['allow'],
        message: `the role's patterns compile to ${total} RE2 instructions in all, more than ${ROLE_PROGRAM_MAX}; use exact values or fewer, simpler patterns`,
      });
    }
  });

/** JWK members that carry private or symmetric key material: a policy file holds public keys only. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** One public signing key of an inline key set; the algorithm pinning is checked against the issuer below. */
const publicJwk = z
  .looseObject({
    kty: z.enum(['RSA', 'EC', 'OKP']),
    kid: z.string().min(1).max(256),
    use: z.literal('sig').optional(),
    alg: z.string().optional(),
  })
  .superRefine((key, ctx) => {
    for (const member of PRIVATE_JWK_MEMBERS) {
      if (Object.hasOwn(key, member))
        ctx.addIssue({ code: 'custom', path: [member], message: 'private key material: list public keys only' });
    }
  });

/** A JWKS given in issuers.yaml (`jwks:`) or read from jwks/NAME.json (`jwks_file:`), for issuers without discovery. */
export const jwksSchema = z.strictObject({
  keys: z
    .array(publicJwk)
    .min(1)
    .max(32)
    .refine((keys) => new Set(keys.map((k) => k.kid)).size === keys.length, 'each kid at most once'),
});

export const issuerSchema = z
  .strictObject({
    url: z.string().refine(isAllowedUrl, 'an https:// URL (http:// only for loopback hosts)'),
    audience: z.string().min(1),
    /**
     * Which platform issues the tokens, for the claim names the lint accepts; inferred from the URL when absent
     * (review/claim-names.ts). `claims` lists a generic issuer's claim names, and adds to a platform's list.
     */
    kind: z.enum(['github', 'gitlab', 'kubernetes', 'generic']).optional(),
    claims: z
      .array(z.string().refine(isConditionKey, 'a claim name, or a JSON Pointer such as /kubernetes.io/pod/name'))
      .max(512)
      .refine((list) => new Set(list).size === list.length, 'each claim name at most once')
      .optional(),
    algorithms: z
      .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA']))
      .min(1)
      .default(['RS256']),
    /** How long after `iat` a token is still accepted. */
    max_token_age: duration(24 * 3600).default('10m'),
    /** Cap on exp - iat: tokens minted to live longer are refused. */
    max_token_lifetime: duration(24 * 3600).default('2h'),
    /**
     * `single_use` (the CI rule): a jti is accepted once. `reuse`: the same token (same SHA-256) may present
     * its jti again within its lifetime, each use counted in the audit; another token with that jti is
     * refused. For issuers that hand one token out many times (a kubelet's projected token).
     */
    replay: z.enum(['single_use', 'reuse']).default('single_use'),
    /** The issuer's keys when its discovery is unreachable (a private cluster): inline, or a file under jwks/. */
    jwks: jwksSchema.optional(),
    jwks_file: z
      .string()
      .regex(/^jwks\/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}\.json$/, 'a file jwks/NAME.json in the policy directory')
      .optional(),
  })
  .superRefine((issuer, ctx) => {
    if (issuer.jwks !== undefined && issuer.jwks_file !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['jwks_file'], message: 'jwks or jwks_file, not both' });
    }
    issuer.jwks?.keys.forEach((key, i) => {
      if (key.alg !== undefined && !(issuer.algorithms as string[]).includes(key.alg)) {
        ctx.addIssue({ code: 'custom', path: ['jwks', 'keys', i, 'alg'], message: `${key.alg} is not one of the issuer's algorithms` });
      }
    });
  });

export const issuersFileSchema = z.strictObject({
  issuers: z
    .record(z.string().regex(ISSUER_NAME, 'an issuer name'), issuerSchema)
    .refine((m) => Object.keys(m).length > 0, 'at least one issuer'),
});

/**
 * Test claims stand for a token's JSON payload: YAML integers (loaded as bigint) become numbers, as JSON.parse
 * would give them, so a case decides as the same claims would in an exchange (and a bigint never reaches match).
 */
function asTokenJson(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(asTokenJson);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asTokenJson(v)]));
  }
  return value;
}

export const testCaseSchema = z.strictObject({
  name: z.string().min(1),
  role: z.string().regex(ROLE_NAME),
  claims: z.record(z.string(), z.unknown()).transform((claims) => asTokenJson(claims) as Record<string, unknown>),
  expect: z.enum(['allow', 'deny']),
});

export const testsFileSchema = z.strictObject({ tests: z.array(testCaseSchema).min(1) });

export type Condition = z.infer<typeof conditionSchema>;
export type ConditionSet = z.infer<typeof conditionSetSchema>;
export type Grant = z.infer<typeof grantSchema>;
export type GrantOf<T extends Grant['type']> = Extract<Grant, { type: T }>;
export type Role = z.infer<typeof roleSchema>;
export type RoleLint = z.infer<typeof roleLintSchema>;
export type IssuerConfig = z.infer<typeof issuerSchema>;
export type InlineJwks = z.infer<typeof jwksSchema>;
export type TestCase = z.infer<typeof testCaseSchema>;
