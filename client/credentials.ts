// The broker's exchange response as the clients (GitHub Action, `secret-broker exchange`) understand it.
// Web-standard and pure: shared by the action bundle and the CLI.
//
// The shapes follow docs/ARCHITECTURE.md "Response". A credential of a type this client does not know (a newer
// broker) is kept, so that its values are still masked, but it is neither exported nor turned into outputs.

export interface AwsCredential {
  type: 'aws';
  access_key_id: string;
  secret_access_key: string;
  session_token?: string;
  expires_at?: string;
  region?: string;
  role_arn?: string;
}

export interface AzureCredential {
  type: 'azure';
  access_token: string;
  expires_at?: string;
  tenant_id?: string;
  client_id?: string;
  scope?: string;
}

/**
 * Either Google's access token (the default), or, from a grant with `hand_out: subject_token`, the broker's
 * token for the workload identity provider, which google-auth-library exchanges itself: subject_token,
 * subject_token_type and audience (//iam.googleapis.com/projects/...). Exactly one of the two tokens.
 */
export interface GcpCredential {
  type: 'gcp';
  access_token?: string;
  subject_token?: string;
  subject_token_type?: string;
  audience?: string;
  expires_at?: string;
  service_account?: string;
  project_id?: string;
}

export interface GithubCredential {
  type: 'github';
  token: string;
  expires_at?: string;
  repositories?: string[];
  permissions?: Record<string, string>;
}

export interface SecretCredential {
  type: 'secret';
  name: string;
  /** The variable name clients use; the broker sends it, and it defaults to the name when absent. */
  env: string;
  value: string;
  version?: number | string;
  /** Where a secret-store grant read it: `<grant type>:<secret id>` (aws_secret, aws_parameter, gcp_secret, ...). */
  source?: string;
}

/** A PostgreSQL login that exists only for the job (the `postgres` grant); every field but the expiry is masked. */
export interface PostgresCredential {
  type: 'postgres';
  username: string;
  password: string;
  host: string;
  port: string;
  database: string;
  url: string;
  expires_at?: string;
  /** Prefix of the libpq variables (PGHOST, ...); PG when absent. */
  env_prefix?: string;
}

export type Credential = AwsCredential | AzureCredential | GcpCredential | GithubCredential | SecretCredential | PostgresCredential;
export type CredentialType = Credential['type'];

export interface ExchangeResponse {
  request_id: string;
  role: string;
  expires_at: string;
  credentials: Credential[];
  /** Types this client does not know, in order; their values are masked but not used. */
  unknown_types: string[];
}

/** Which fields of each type hold a value the caller must have (strings), and which are optional strings. */
const REQUIRED: Record<CredentialType, readonly string[]> = {
  aws: ['access_key_id', 'secret_access_key'],
  azure: ['access_token'],
  // access_token or subject_token: checked in parseExchangeResponse.
  gcp: [],
  github: ['token'],
  secret: ['name', 'value'],
  postgres: ['username', 'password', 'host', 'port', 'database', 'url'],
};
const OPTIONAL_STRINGS: Record<CredentialType, readonly string[]> = {
  aws: ['session_token', 'expires_at', 'region', 'role_arn'],
  azure: ['expires_at', 'tenant_id', 'client_id', 'scope'],
  gcp: ['access_token', 'subject_token', 'subject_token_type', 'audience', 'expires_at', 'service_account', 'project_id'],
  github: ['expires_at'],
  secret: ['env', 'source'],
  postgres: ['expires_at', 'env_prefix'],
};

/**
 * Fields that describe a credential rather than being one: never masked (the job summary shows the expiry,
 * the log may name the region). Every other string anywhere in a credential is treated as secret, so a field
 * a newer broker adds is masked by default.
 */
export const PUBLIC_FIELDS: ReadonlySet<string> = new Set([
  'type',
  'expires_at',
  'region',
  'role_arn',
  'tenant_id',
  'client_id',
  'scope',
  'service_account',
  'project_id',
  // A gcp subject token's workload identity provider and token type: names, not secrets.
  'audience',
  'subject_token_type',
  'repositories',
  'permissions',
  'name',
  'env',
  'version',
  'source',
  'env_prefix',
]);

/**
 * Types the broker can revoke early (`POST /v1/revoke`: GitHub installation tokens). The others expire on
 * their own; a type this client does not know might be revocable, so it counts as revocable.
 */
const REVOCABLE_TYPES: ReadonlySet<string> = new Set(['github', 'postgres']);

/** Whether a revoke could take anything back: false only when every credential is of a known, non-revocable type. */
export function hasRevocable(response: Pick<ExchangeResponse, 'credentials' | 'unknown_types'>): boolean {
  return response.unknown_types.length > 0 || response.credentials.some((c) => REVOCABLE_TYPES.has(c.type));
}

/** The 12-digit account id of a role ARN (`arn:aws:iam::111122223333:role/x`), or undefined. */
export function awsAccountIdOf(arn: string | undefined): string | undefined {
  return arn === undefined ? undefined : /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];
}

export function isKnownType(type: unknown): type is CredentialType {
  return typeof type === 'string' && Object.hasOwn(REQUIRED, type);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a 200 body. Returns a reason that names a field, never a value, when it is not a usable response.
 */
export function parseExchangeResponse(body: unknown): { ok: true; response: ExchangeResponse } | { ok: false; reason: string } {
  if (!isObject(body)) return { ok: false, reason: 'the body is not a JSON object' };
  for (const key of ['request_id', 'role', 'expires_at'] as const) {
    if (typeof body[key] !== 'string') return { ok: false, reason: `"${key}" is missing or not a string` };
  }
  if (!Array.isArray(body.credentials)) return { ok: false, reason: '"credentials" is missing or not a list' };
  const credentials: Credential[] = [];
  const unknownTypes: string[] = [];
  for (const [i, raw] of body.credentials.entries()) {
    if (!isObject(raw) || typeof raw.type !== 'string') return { ok: false, reason: `credentials[${i}] has no type` };
    // The broker sends null for an optional field it has no value for (a GCP grant without impersonation).
    const c = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== null));
    const type = raw.type;
    if (!isKnownType(type)) {
      unknownTypes.push(type);
      continue;
    }
    for (const f of REQUIRED[type]) {
      if (typeof c[f] !== 'string') return { ok: false, reason: `credentials[${i}] (${type}): "${f}" is missing or not a string` };
    }
    for (const f of OPTIONAL_STRINGS[type]) {
      if (c[f] !== undefined && typeof c[f] !== 'string')
        return { ok: false, reason: `credentials[${i}] (${type}): "${f}" is not a string` };
    }
    if (type === 'gcp') {
      const problem = gcpShapeProblem(c);
      if (problem) return { ok: false, reason: `credentials[${i}] (gcp): ${problem}` };
    }
    if (type === 'secret') {
      credentials.push({ ...(c as unknown as SecretCredential), env: typeof c.env === 'string' ? c.env : (c.name as string) });
    } else {
      credentials.push(c as unknown as Credential);
    }
  }
  return {
    ok: true,
    response: {
      request_id: body.request_id as string,
      role: body.role as string,
      expires_at: body.expires_at as string,
      credentials,
      unknown_types: unknownTypes,
    },
  };
}

/** A gcp credential carries one token: Google's access token, or a subject token with what exchanging it needs. */
function gcpShapeProblem(c: Record<string, unknown>): string | undefined {
  const access = typeof c.access_token === 'string';
  const subject = typeof c.subject_token === 'string';
  if (access === subject)
    return access ? '"access_token" and "subject_token" are both present' : '"access_token" is missing or not a string';
  if (subject) {
    for (const f of ['subject_token_type', 'audience'] as const) {
      if (typeof c[f] !== 'string') return `"${f}" is missing (a subject token needs it)`;
    }
  }
  return undefined;
}
