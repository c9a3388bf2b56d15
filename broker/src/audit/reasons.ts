// Every `reason` an audit record can carry, in one typed table: the writer (BrokerError details, the
// pipeline's outcomes, minter failures), the query's `reason` filter, the admin page's tooltips and
// docs/REASONS.md (scripts/gen-reasons-doc.ts) all read it. A reason not in the table is a type error where
// it is written. Fixed reasons are listed one by one; an upstream's failures are families (a prefix plus a
// suffix that carries the upstream's own words), because their text is the cloud's, not ours.
// Browser-safe (the admin page bundles it).
import { ERROR_STATUS, type ErrorCode } from '../errors.ts';

export type ReasonCode = ErrorCode | 'OK';

interface ReasonInfo {
  code: ReasonCode;
  meaning: string;
}

interface FamilyInfo {
  code: ErrorCode;
  /** What follows the prefix, in the documentation's notation. */
  suffix: string;
  meaning: string;
}

export const REASONS = {
  // Outcomes of a request that went through.
  allowed: { code: 'OK', meaning: 'The exchange was allowed and every grant was minted.' },
  done: { code: 'OK', meaning: 'A revoke or an admin query was served.' },
  'revoke.not_owner': {
    code: 'OK',
    meaning: 'A revoke named a request of another identity: answered like "nothing to revoke", recorded as a deny.',
  },
  'audit.pruned': { code: 'OK', meaning: 'Audit records up to a signed prune point were deleted (audit prune).' },
  'alert.sent': { code: 'OK', meaning: 'An alert was posted to BROKER_ALERT_WEBHOOK (the record says which, about what).' },
  'alert.failed': { code: 'ERR_UPSTREAM', meaning: 'An alert could not be posted: the webhook refused, timed out or was unreachable.' },

  // The request itself.
  'request.body_too_large': { code: 'ERR_PAYLOAD_TOO_LARGE', meaning: 'The body is over the 16 KiB cap.' },
  'request.body_incomplete': { code: 'ERR_REQUEST_INVALID', meaning: 'The client went away or was cut off mid-body.' },
  'request.body_not_json': { code: 'ERR_REQUEST_INVALID', meaning: 'The body is not JSON.' },
  'request.body_not_object': { code: 'ERR_REQUEST_INVALID', meaning: 'The body is JSON but not an object.' },
  'request.unknown_field': { code: 'ERR_REQUEST_INVALID', meaning: 'The body has a field the route does not take.' },
  'request.authorization_malformed': { code: 'ERR_REQUEST_INVALID', meaning: 'An Authorization header that is not `Bearer <token>`.' },
  'request.token_type': { code: 'ERR_REQUEST_INVALID', meaning: 'The body\'s "token" is not a string.' },
  'request.token_twice': { code: 'ERR_REQUEST_INVALID', meaning: 'A token both in the body and in the Authorization header.' },
  'request.token_missing': { code: 'ERR_REQUEST_INVALID', meaning: 'No ID token in the body or the Authorization header.' },
  'request.role_name': { code: 'ERR_REQUEST_INVALID', meaning: 'The role is missing or not a valid role name.' },
  'request.request_id': { code: 'ERR_REQUEST_INVALID', meaning: "The revoke's request_id is missing or not a request id." },
  'request.grants_not_list': { code: 'ERR_REQUEST_INVALID', meaning: '`grants` is not a list.' },
  'request.grants_empty': { code: 'ERR_REQUEST_INVALID', meaning: '`grants` is an empty list (leave it out to get every grant).' },
  'request.grants_too_many': { code: 'ERR_REQUEST_INVALID', meaning: '`grants` has more entries than a role can hold grants (16).' },
  'request.grants_entry': { code: 'ERR_REQUEST_INVALID', meaning: 'A `grants` entry is not a grant type or env name.' },
  'request.grants_duplicate': { code: 'ERR_REQUEST_INVALID', meaning: 'A `grants` entry is repeated.' },

  // The ID token (oidc/verify.ts; the jose checks keep jose's claim and reason).
  'token.shape': { code: 'ERR_REQUEST_INVALID', meaning: 'Not three base64url segments, or over 8 KiB.' },
  'token.undecodable': { code: 'ERR_TOKEN_INVALID', meaning: 'The header or claims do not decode (base64url, UTF-8, JSON).' },
  'token.header_duplicate_member': { code: 'ERR_TOKEN_INVALID', meaning: 'The JOSE header repeats a member name.' },
  'token.claims_duplicate_member': { code: 'ERR_TOKEN_INVALID', meaning: 'The claims repeat a member name.' },
  'token.issuer_not_allowed': { code: 'ERR_TOKEN_INVALID', meaning: '`iss` is not an allowlisted issuer.' },
  'token.header_jku': { code: 'ERR_TOKEN_INVALID', meaning: 'The header names a key location (jku): refused.' },
  'token.header_x5u': { code: 'ERR_TOKEN_INVALID', meaning: 'The header names a key location (x5u): refused.' },
  'token.header_jwk': { code: 'ERR_TOKEN_INVALID', meaning: 'The header embeds a key (jwk): refused.' },
  'token.header_x5c': { code: 'ERR_TOKEN_INVALID', meaning: 'The header embeds a certificate chain (x5c): refused.' },
  'token.header_crit': { code: 'ERR_TOKEN_INVALID', meaning: 'The header has `crit`: refused.' },
  'token.typ': { code: 'ERR_TOKEN_INVALID', meaning: '`typ` is present and not exactly "JWT" (an access or logout token).' },
  'token.kid_missing': { code: 'ERR_TOKEN_INVALID', meaning: 'No usable `kid` in the header.' },
  'token.algorithm': { code: 'ERR_TOKEN_INVALID', meaning: '`alg` is not one the issuer is pinned to.' },
  'token.signature': { code: 'ERR_TOKEN_INVALID', meaning: 'The signature does not verify.' },
  'token.no_matching_key': { code: 'ERR_TOKEN_INVALID', meaning: "No key of the issuer's JWKS fits the token." },
  'token.unverifiable': { code: 'ERR_TOKEN_INVALID', meaning: 'Verification failed for a reason jose does not name.' },
  'token.exp_expired': { code: 'ERR_TOKEN_EXPIRED', meaning: '`exp` is past (beyond the clock tolerance).' },
  'token.iat_expired': { code: 'ERR_TOKEN_EXPIRED', meaning: "The token is older than the issuer's max token age." },
  'token.nbf_window': { code: 'ERR_TOKEN_EXPIRED', meaning: '`nbf` is in the future.' },
  'token.iat_window': { code: 'ERR_TOKEN_EXPIRED', meaning: '`iat` is in the future.' },
  'token.exp_invalid': { code: 'ERR_TOKEN_INVALID', meaning: '`exp` is not a number.' },
  'token.iat_invalid': { code: 'ERR_TOKEN_INVALID', meaning: '`iat` is not a number.' },
  'token.nbf_invalid': { code: 'ERR_TOKEN_INVALID', meaning: '`nbf` is not a number.' },
  'token.iss_missing': { code: 'ERR_TOKEN_INVALID', meaning: 'A required claim is missing: `iss`.' },
  'token.sub_missing': { code: 'ERR_TOKEN_INVALID', meaning: 'A required claim is missing: `sub`.' },
  'token.aud_missing': { code: 'ERR_TOKEN_INVALID', meaning: 'A required claim is missing: `aud`.' },
  'token.exp_missing': { code: 'ERR_TOKEN_INVALID', meaning: 'A required claim is missing: `exp`.' },
  'token.iat_missing': { code: 'ERR_TOKEN_INVALID', meaning: 'A required claim is missing: `iat`.' },
  'token.jti_missing': { code: 'ERR_TOKEN_INVALID', meaning: 'A required claim is missing: `jti`.' },
  'token.iss_check_failed': { code: 'ERR_TOKEN_INVALID', meaning: "`iss` is not exactly the issuer's URL." },
  'token.aud_check_failed': { code: 'ERR_TOKEN_INVALID', meaning: "`aud` does not name the broker's audience for the issuer." },
  'token.multiple_audiences': { code: 'ERR_TOKEN_INVALID', meaning: '`aud` names more than one audience.' },
  'token.sub': { code: 'ERR_TOKEN_INVALID', meaning: '`sub` is not a non-empty string.' },
  'token.jti': { code: 'ERR_TOKEN_INVALID', meaning: '`jti` is not a string of 1 to 256 characters.' },
  'token.times': { code: 'ERR_TOKEN_INVALID', meaning: '`exp` or `iat` is not a number.' },
  'token.lifetime_too_long': { code: 'ERR_TOKEN_EXPIRED', meaning: "`exp - iat` is over the issuer's max token lifetime." },
  'token.exp_before_iat': { code: 'ERR_TOKEN_INVALID', meaning: '`exp` is not after `iat`.' },
  'token.replayed': { code: 'ERR_TOKEN_REPLAYED', meaning: "The token's jti was already used." },
  'replay.store_failed': { code: 'ERR_UNAVAILABLE', meaning: 'The replay store could not claim the jti.' },

  // Limits.
  'rate_limit.client': { code: 'ERR_RATE_LIMITED', meaning: 'The per-client limit (BROKER_RATE_LIMITS client=) was hit.' },
  'rate_limit.subject': { code: 'ERR_RATE_LIMITED', meaning: 'The per-identity limit (BROKER_RATE_LIMITS subject=) was hit.' },

  // Policy (policy/match.ts decides; `policy.<decision reason>`).
  'policy.no_such_role': { code: 'ERR_ACCESS_DENIED', meaning: 'No role of that name.' },
  'policy.issuer_mismatch': { code: 'ERR_ACCESS_DENIED', meaning: 'The role is for another issuer.' },
  'policy.deny_matched': { code: 'ERR_ACCESS_DENIED', meaning: 'A deny set of the role matched the claims.' },
  'policy.no_allow_matched': { code: 'ERR_ACCESS_DENIED', meaning: 'No allow set of the role matched the claims.' },

  // Minting, where no minter answered (exchange.ts).
  'mint.aws_not_configured': { code: 'ERR_UPSTREAM', meaning: 'The role grants aws, and this broker has no aws minter.' },
  'mint.azure_not_configured': { code: 'ERR_UPSTREAM', meaning: 'The role grants azure, and this broker has no azure minter.' },
  'mint.gcp_not_configured': { code: 'ERR_UPSTREAM', meaning: 'The role grants gcp, and this broker has no gcp minter.' },
  'mint.github_not_configured': { code: 'ERR_UPSTREAM', meaning: 'The role grants github, and this broker has no github minter.' },
  'mint.postgres_not_configured': {
    code: 'ERR_UPSTREAM',
    meaning: 'The role grants postgres, and this broker has no PostgreSQL driver or lease store (Workers today).',
  },
  'mint.secret_not_configured': { code: 'ERR_UPSTREAM', meaning: 'The role grants secret, and this broker has no secret store.' },
  'mint.aws_secret_not_configured': {
    code: 'ERR_UPSTREAM',
    meaning: 'The role grants aws_secret, and this broker has no aws_secret minter.',
  },
  'mint.aws_parameter_not_configured': {
    code: 'ERR_UPSTREAM',
    meaning: 'The role grants aws_parameter, and this broker has no aws_parameter minter.',
  },
  'mint.gcp_secret_not_configured': {
    code: 'ERR_UPSTREAM',
    meaning: 'The role grants gcp_secret, and this broker has no gcp_secret minter.',
  },
  'aws.secret_store_failed': { code: 'ERR_UNAVAILABLE', meaning: 'The AWS access keys could not be read from the secret store.' },
  'azure.broker_token_unavailable': { code: 'ERR_UNAVAILABLE', meaning: 'The broker could not sign its assertion for Entra ID.' },
  // Existing secret stores: Azure Key Vault and HashiCorp Vault / OpenBao (issue 16).
  'mint.azure_secret_not_configured': {
    code: 'ERR_UPSTREAM',
    meaning: 'The role grants azure_secret, and this broker has no azure_secret minter.',
  },
  'mint.vault_secret_not_configured': {
    code: 'ERR_UPSTREAM',
    meaning: 'The role grants vault_secret, and this broker has no vault_secret minter.',
  },
  'azure_secret.broker_token_unavailable': {
    code: 'ERR_UNAVAILABLE',
    meaning: 'The broker could not sign its assertion for Entra ID (Key Vault read).',
  },
  'vault_secret.broker_token_unavailable': { code: 'ERR_UNAVAILABLE', meaning: 'The broker could not sign its token for Vault JWT auth.' },
  'revoke.azure_secret_failed': { code: 'ERR_UPSTREAM', meaning: 'Revoking an azure_secret credential failed (never revocable).' },
  'revoke.vault_secret_failed': { code: 'ERR_UPSTREAM', meaning: 'Revoking a vault_secret credential failed (never revocable).' },

  // Revoking (revoke.ts; only github tokens are revocable today).
  'revoke.aws_failed': { code: 'ERR_UPSTREAM', meaning: 'Revoking an aws credential failed.' },
  'revoke.azure_failed': { code: 'ERR_UPSTREAM', meaning: 'Revoking an azure credential failed.' },
  'revoke.gcp_failed': { code: 'ERR_UPSTREAM', meaning: 'Revoking a gcp credential failed.' },
  'revoke.github_failed': {
    code: 'ERR_UPSTREAM',
    meaning: "Revoking a GitHub installation token failed (the record's upstream says why).",
  },
  'revoke.aws_secret_failed': { code: 'ERR_UPSTREAM', meaning: 'Revoking an aws_secret value failed (values are not revocable).' },
  'revoke.aws_parameter_failed': { code: 'ERR_UPSTREAM', meaning: 'Revoking an aws_parameter value failed (values are not revocable).' },
  'revoke.gcp_secret_failed': { code: 'ERR_UPSTREAM', meaning: 'Revoking a gcp_secret value failed (values are not revocable).' },
  'revoke.postgres_failed': {
    code: 'ERR_UPSTREAM',
    meaning: 'Removing a postgres login failed; the lease stays and the sweeper retries (logged, /readyz).',
  },
  'revoke.secret_failed': { code: 'ERR_UPSTREAM', meaning: 'Revoking a secret failed.' },

  // The audit log.
  'audit.unavailable': { code: 'ERR_UNAVAILABLE', meaning: 'The audit log is failing: nothing is minted.' },
  'audit.write_failed': { code: 'ERR_UNAVAILABLE', meaning: 'The audit record could not be written.' },
  'audit.contention': { code: 'ERR_UNAVAILABLE', meaning: 'The audit chain head kept moving: the append gave up.' },
  'audit.read_failed': { code: 'ERR_UNAVAILABLE', meaning: 'An admin query could not read the audit log.' },

  // Admin authentication (admin/auth.ts) and the admin query (audit/query.ts).
  'admin.not_configured': { code: 'ERR_NOT_FOUND', meaning: 'No admin credential is configured: the admin routes do not exist.' },
  'admin.token_not_configured': { code: 'ERR_TOKEN_INVALID', meaning: 'A bearer token was sent, and no admin token is configured.' },
  'admin.authorization_malformed': { code: 'ERR_TOKEN_INVALID', meaning: 'The Authorization header is not `Bearer <token>`.' },
  'admin.token_wrong': { code: 'ERR_TOKEN_INVALID', meaning: 'The admin token does not match.' },
  'admin.credentials_missing': { code: 'ERR_TOKEN_INVALID', meaning: 'No admin token and no Cloudflare Access assertion.' },
  'admin.access_jwt_malformed': { code: 'ERR_TOKEN_INVALID', meaning: 'The Cloudflare Access assertion is not a JWT.' },
  'admin.access_jwt_invalid': { code: 'ERR_TOKEN_INVALID', meaning: 'The Cloudflare Access assertion does not verify.' },
  'admin.access_certs_unavailable': { code: 'ERR_TOKEN_INVALID', meaning: 'The Cloudflare Access keys could not be fetched.' },
  // Remote administration (admin/manage.ts): secrets, signing keys, audit export and checkpoints.
  'admin.value_unsealed': {
    code: 'ERR_REQUEST_INVALID',
    meaning: "A secret value was sent in clear instead of sealed to the broker's seal key: refused, never stored.",
  },
  'admin.seal_malformed': { code: 'ERR_REQUEST_INVALID', meaning: "The sealed value is not a seal of this broker's format." },
  'admin.seal_expired': { code: 'ERR_REQUEST_INVALID', meaning: 'The sealed value was made more than 5 minutes ago (or in the future).' },
  'admin.seal_key_unknown': {
    code: 'ERR_REQUEST_INVALID',
    meaning: "The sealed value is sealed to a key that is not the broker's seal key.",
  },
  'admin.seal_open_failed': {
    code: 'ERR_REQUEST_INVALID',
    meaning: 'The sealed value does not open: made for another secret name, time or key, or altered.',
  },
  'admin.seal_replayed': { code: 'ERR_TOKEN_REPLAYED', meaning: 'The sealed value was already used once: every put needs a fresh seal.' },
  'admin.secret_name': { code: 'ERR_REQUEST_INVALID', meaning: 'The secret name is not a valid secret name.' },
  'admin.secret_reserved': { code: 'ERR_REQUEST_INVALID', meaning: "The secret name (broker.*) is reserved for the broker's own keys." },
  'admin.secret_missing': { code: 'ERR_NOT_FOUND', meaning: 'A rotate named a secret that does not exist (use put).' },
  'admin.secret_value': { code: 'ERR_REQUEST_INVALID', meaning: 'The opened value is empty, over 64 KiB, or not UTF-8 text.' },
  'admin.store_failed': { code: 'ERR_UNAVAILABLE', meaning: 'The secret or key store could not be read or written.' },
  'admin.max_age': {
    code: 'ERR_REQUEST_INVALID',
    meaning: "`max_age` (a secret's rotation policy) is not a positive whole number of seconds, nor null to remove it.",
  },
  'admin.activate_in': { code: 'ERR_REQUEST_INVALID', meaning: '`activate_in` is not a number of seconds from 0 to 30 days.' },
  'admin.audit_broken': {
    code: 'ERR_UNAVAILABLE',
    meaning: 'An export was asked for, and the stored chain does not verify: nothing is signed.',
  },
  'admin.checkpoint_refused': {
    code: 'ERR_UNAVAILABLE',
    meaning: 'A checkpoint was asked for, and there is nothing to sign or signing is refused.',
  },
  'audit_query.unknown_parameter': { code: 'ERR_REQUEST_INVALID', meaning: 'An unknown query parameter.' },
  'audit_query.repeated_parameter': { code: 'ERR_REQUEST_INVALID', meaning: 'A query parameter given twice.' },
  'audit_query.value_too_long': { code: 'ERR_REQUEST_INVALID', meaning: 'A query value over 256 characters.' },
  'audit_query.claim': {
    code: 'ERR_REQUEST_INVALID',
    meaning:
      '`claim` is not KEY=PATTERN with KEY a key the audit identity records (a claim name such as ref, or a JSON Pointer such as /kubernetes.io/namespace).',
  },
  'audit_query.since': { code: 'ERR_REQUEST_INVALID', meaning: '`since` is neither a duration (24h, 7d) nor an ISO time.' },
  'audit_query.until': { code: 'ERR_REQUEST_INVALID', meaning: '`until` is neither a duration (24h, 7d) nor an ISO time.' },
  'audit_query.decision': { code: 'ERR_REQUEST_INVALID', meaning: '`decision` is not allow, deny or error.' },
  'audit_query.action': { code: 'ERR_REQUEST_INVALID', meaning: '`action` names an unknown action.' },
  'audit_query.reason': {
    code: 'ERR_REQUEST_INVALID',
    meaning: '`reason` is neither a code (ERR_*, OK) nor a reason of this table or a prefix of one.',
  },
  'audit_query.cursor': { code: 'ERR_REQUEST_INVALID', meaning: '`cursor` is not one this API handed out.' },
  'audit_query.limit': { code: 'ERR_REQUEST_INVALID', meaning: '`limit` is not 1 to 500.' },
  'audit_query.summary': { code: 'ERR_REQUEST_INVALID', meaning: '`summary` is not 1, 0, true or false.' },
  'audit_query.type': { code: 'ERR_REQUEST_INVALID', meaning: '`type` is not a credential type (aws, azure, gcp, github, secret).' },

  // The broker as an issuer (not audited: public routes).
  'issuer.not_configured': { code: 'ERR_NOT_FOUND', meaning: 'The broker has no signing key: the issuer routes do not exist.' },
  'issuer.jwks_failed': { code: 'ERR_UNAVAILABLE', meaning: "The broker's JWKS could not be built." },

  // Operations routes (not audited: logged only).
  'metrics.not_configured': { code: 'ERR_NOT_FOUND', meaning: 'This runtime keeps no metrics (Workers): GET /metrics does not exist.' },
  'metrics.token_wrong': {
    code: 'ERR_TOKEN_INVALID',
    meaning: 'GET /metrics without `Authorization: Bearer <BROKER_METRICS_TOKEN>`, or with another token.',
  },
  'shutdown.grace_expired': {
    code: 'ERR_UNAVAILABLE',
    meaning:
      'The broker was shutting down and the request was still running when BROKER_SHUTDOWN_GRACE ran out: answered 503 (the record of the request, if it finished, is its own).',
  },

  // Bugs.
  unfinished: { code: 'ERR_INTERNAL', meaning: 'A record that was never finished (a bug).' },
  bug: { code: 'ERR_INTERNAL', meaning: 'A request failed with something other than a BrokerError (a bug).' },
  unhandled: { code: 'ERR_INTERNAL', meaning: 'An error outside any audited route (logged, not audited).' },
} as const satisfies Record<string, ReasonInfo>;

/**
 * Reasons with a variable part. Longest prefix wins (`secret.store_failed:` over `secret.`); the broker's
 * own variable parts are names (an issuer, a secret), an upstream's are its error codes and messages.
 */
export const FAMILIES = {
  'request.grants_unmatched:': {
    code: 'ERR_REQUEST_INVALID',
    suffix: '<entries, comma-separated>',
    meaning: "`grants` entries that select none of the role's grants (the exchange only narrows).",
  },
  'token.unknown_kid:': { code: 'ERR_TOKEN_INVALID', suffix: '<issuer>', meaning: "The token's `kid` is not in the issuer's JWKS." },
  'token.ERR_': { code: 'ERR_TOKEN_INVALID', suffix: '<jose error code>', meaning: 'jose refused the token (e.g. token.ERR_JWT_INVALID).' },
  'jwks.unavailable:': {
    code: 'ERR_UNAVAILABLE',
    suffix: '<issuer>',
    meaning: "The issuer's JWKS could not be fetched, and none is cached.",
  },
  'mint.': {
    code: 'ERR_UPSTREAM',
    suffix: '<type>_failed:<error message>',
    meaning: 'A minter threw instead of answering (a bug in the minter).',
  },
  'secret.': {
    code: 'ERR_UPSTREAM',
    suffix: '<not_found|tampered|reserved_name>:<secret name>',
    meaning: "A secret grant found no secret, a tampered one, or a name reserved for the broker's own keys.",
  },
  'secret.store_failed:': { code: 'ERR_UNAVAILABLE', suffix: '<secret name>', meaning: 'The secret store could not be read.' },
  'secret.kek_unknown:': {
    code: 'ERR_INTERNAL',
    suffix: '<secret name>',
    meaning: 'The secret is sealed under a key the broker does not have.',
  },
  'secret.decrypt_failed:': { code: 'ERR_INTERNAL', suffix: '<secret name>', meaning: 'The secret does not decrypt under its key.' },
  'aws.': {
    code: 'ERR_UPSTREAM',
    suffix: '<problem>[:<detail>]',
    meaning:
      'AWS STS refused or failed: http_<status>:<AWS error code>, timeout, network, redirect, too_large, malformed_response:<what>, session tag and duration checks.',
  },
  'azure.': {
    code: 'ERR_UPSTREAM',
    suffix: '<problem>[:<detail>]',
    meaning:
      'Entra ID refused or failed: token_http_<status>:<AADSTS code>, token_<timeout|network|redirect|too_large>:<detail>, token_malformed, tenant_id_invalid.',
  },
  'gcp.': {
    code: 'ERR_UPSTREAM',
    suffix: '<sts|impersonation|downscope>.<problem>[:<detail>] or <problem>[:<detail>]',
    meaning:
      'Google STS or IAM Credentials refused or failed: http_<status>:<Google error>, timeout, malformed_response:<field>, token_outlives_max_ttl; or subject_token_with_access_boundary (a grant the policy schema refuses reached the minter).',
  },
  'aws_secret.': {
    code: 'ERR_UPSTREAM',
    suffix: '<problem>[:<detail>]',
    meaning:
      'Secrets Manager refused or failed (after STS, whose failures are aws.*): http_<status>:<__type>, timeout, network, malformed_response:<what>, binary_not_utf8, then the value checks (json_keys.*).',
  },
  'aws_parameter.': {
    code: 'ERR_UPSTREAM',
    suffix: '<problem>[:<detail>]',
    meaning:
      'SSM Parameter Store refused or failed (after STS, whose failures are aws.*): http_<status>:<__type>, timeout, network, malformed_response:<what>, then the value checks (json_keys.*).',
  },
  'gcp_secret.': {
    code: 'ERR_UPSTREAM',
    suffix: '<problem>[:<detail>]',
    meaning:
      'Secret Manager refused or failed (after Google STS and IAM, whose failures are gcp.*): http_<status>:<Google status>, timeout, malformed_response:<what>, crc32c_mismatch, then the value checks (json_keys.*).',
  },
  'github.': {
    code: 'ERR_UPSTREAM',
    suffix: '<problem>[:<detail>]',
    meaning:
      'GitHub refused or failed: access_tokens_http_<status>:<message>, access_tokens_<timeout|network|...>, grant_widened:<what>, app key checks.',
  },
  'azure_secret.': {
    code: 'ERR_UPSTREAM',
    suffix: '<token|challenge|get>.<problem>[:<detail>] or <problem>[:<detail>]',
    meaning:
      'Entra ID or Key Vault refused or failed: token.http_<status>:<AADSTS code>, get.http_<status>:<Key Vault error code>, <step>.<timeout|network|redirect|too_large>, challenge.<what>, malformed_response:<what>, json_keys checks. Never the value.',
  },
  'vault_secret.': {
    code: 'ERR_UPSTREAM',
    suffix: '<login|read>.<problem>[:<detail>] or <problem>[:<detail>]',
    meaning:
      'Vault refused or failed: login.http_<status>, read.http_<status>, read.deleted:<version>, read.destroyed:<version>, <step>.<timeout|network|redirect|too_large>, malformed_response:<what>, key_missing:<field>. Never the value.',
  },
  'postgres.': {
    code: 'ERR_UPSTREAM',
    suffix: '<problem>[:<detail>]',
    meaning:
      'Creating the login failed: connection_secret_missing:<name>, dsn_invalid:<name>, create_failed:<SQLSTATE>, lease_failed; never the DSN or a password.',
  },
  'postgres.unavailable:': {
    code: 'ERR_UNAVAILABLE',
    suffix: '<connect|secret_store|lease_store>',
    meaning: 'The manager connection, the secret store or the lease store could not be reached.',
  },
  'github.app_key_unavailable:': {
    code: 'ERR_UNAVAILABLE',
    suffix: '<secret name>',
    meaning: 'The GitHub App key could not be read from the secret store.',
  },
} as const satisfies Record<string, FamilyInfo>;

export type FixedReason = keyof typeof REASONS;
export type ReasonFamily = keyof typeof FAMILIES;
export type FamilyReason = { [P in ReasonFamily]: `${P}${string}` }[ReasonFamily];
export type Reason = FixedReason | FamilyReason;

/** The clouds a minter talks to: what a minter names its upstream call by (`aws`, `gcp.sts`). */
export type UpstreamName =
  | 'aws'
  | 'azure'
  | 'gcp'
  | 'github'
  | 'azure_secret'
  | 'vault_secret'
  | 'aws_secret'
  | 'aws_parameter'
  | 'gcp_secret'
  | 'postgres';
export type UpstreamStep = UpstreamName | `${UpstreamName}.${string}`;

const CODES: ReadonlySet<string> = new Set<string>(['OK', ...Object.keys(ERROR_STATUS)]);

/** The family a reason belongs to (longest prefix), if it is not a fixed one. */
export function familyOf(reason: string): ReasonFamily | undefined {
  let best: ReasonFamily | undefined;
  for (const prefix of Object.keys(FAMILIES) as ReasonFamily[]) {
    if (reason.startsWith(prefix) && reason.length > prefix.length && (!best || prefix.length > best.length)) best = prefix;
  }
  return best;
}

/** The code and meaning of a reason, or undefined for one not in the table (an older broker's). */
export function describeReason(reason: string): { code: ReasonCode; meaning: string } | undefined {
  if (Object.hasOwn(REASONS, reason)) return REASONS[reason as FixedReason];
  const family = familyOf(reason);
  return family ? FAMILIES[family] : undefined;
}

/**
 * Whether `value` can select anything as the query's `reason` filter (a code, or a reason or its prefix):
 * a code, a prefix of a fixed reason or of a family's prefix, or a reason inside a family.
 */
export function isReasonFilter(value: string): boolean {
  if (value === '') return false;
  if (CODES.has(value)) return true;
  if (Object.keys(REASONS).some((r) => r.startsWith(value))) return true;
  return Object.keys(FAMILIES).some((p) => p.startsWith(value) || value.startsWith(p));
}

/**
 * Codes that mean "the broker or an upstream failed", not "the caller was refused": an upstream that refused
 * or timed out, a store that could not be read, a bug. Review counts them as errors, whatever an older
 * writer put in the record's `decision` (records are hash-chained and never rewritten).
 */
const ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>(['ERR_UPSTREAM', 'ERR_UNAVAILABLE', 'ERR_INTERNAL']);

/** The decision a reviewer sees: allow, deny (the caller was refused), or error (a failure on our side). */
export function reviewDecision(record: { decision: 'allow' | 'deny' | 'error'; code: string }): 'allow' | 'deny' | 'error' {
  if (record.decision === 'allow') return 'allow';
  return ERROR_CODES.has(record.code) ? 'error' : record.decision;
}
