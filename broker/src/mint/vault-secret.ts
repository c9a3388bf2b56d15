// vault_secret: fields of one KV v2 secret from HashiCorp Vault or OpenBao. The broker logs in to the JWT
// auth method with a broker token (sub role:<role>, aud the role's bound audience, five minutes at most;
// Vault checks it against the broker's JWKS, found through jwks_url or oidc_discovery_url), reads the
// secret with the Vault token it gets, and revokes that token straight away, so no Vault token outlives the
// exchange. The broker holds no Vault credential.
import type { Reason } from '../audit/reasons.ts';
import type { GrantOf } from '../policy/schema.ts';
import type { Fetched } from '../util/http.ts';
import { signBrokerToken, type CloudMintDeps } from './broker-token.ts';
import { pickFields, storeCredentials } from './store-exports.ts';
import { budgetFrom, fetchRetrying } from './store-retry.ts';
import type { Minter, MultiMintResult } from './types.ts';
import { parseJsonObject, safeText, trimSlashes } from './upstream-json.ts';

/** KV v2 secrets are bounded by Vault's 32 MiB request limit; what a job exports is far smaller. */
const MAX_RESPONSE_BYTES = 512 * 1024;
/** The same rule as the schema: no wildcard, no "." or ".." segment, nothing to escape in a URL path. */
const PATH = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;
/** How long revoking the Vault token may take; the read already succeeded or failed, so this is best effort. */
const REVOKE_TIMEOUT_MS = 2_000;

type Failure = Extract<MultiMintResult, { ok: false }>;

/** The secret's identifier as the audit record and `policy diff` name it. */
export function vaultSecretId(grant: GrantOf<'vault_secret'>): string {
  const ns = grant.namespace ? `${trimSlashes(grant.namespace)}/` : '';
  return `${trimSlashes(grant.address)}/v1/${ns}${grant.mount}/data/${grant.path}`;
}

export function createVaultSecretMinter(deps: CloudMintDeps): Minter<GrantOf<'vault_secret'>, MultiMintResult> {
  return {
    async mint(grant, ctx): Promise<MultiMintResult> {
      if (![grant.auth_mount, grant.mount, grant.path].every((p) => PATH.test(p))) return fail('vault_secret.path_invalid');
      const budget = budgetFrom(deps.timeoutMs, MAX_RESPONSE_BYTES);
      const address = trimSlashes(grant.address);
      const namespace: Record<string, string> = grant.namespace ? { 'x-vault-namespace': grant.namespace } : {};

      let jwt: string;
      try {
        jwt = (await signBrokerToken(deps.issuer, ctx, grant.audience ?? address)).token;
      } catch {
        return { ok: false, code: 'ERR_UNAVAILABLE', detail: 'vault_secret.broker_token_unavailable' };
      }

      // 1. Login: POST /v1/auth/<mount>/login {role, jwt} -> auth.client_token.
      const login = await fetchRetrying(
        deps.fetch,
        `${address}/v1/auth/${grant.auth_mount}/login`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', ...namespace },
          body: JSON.stringify({ role: grant.auth_role, jwt }),
        },
        budget,
      );
      if (!login.ok) return transport('login', login);
      if (login.status !== 200) return vaultError('login', login.status, login.body);
      const auth = parseJsonObject(login.body)?.auth as Record<string, unknown> | undefined;
      const token = auth?.client_token;
      if (typeof token !== 'string' || !/^[\x21-\x7e]{1,4096}$/.test(token)) return fail('vault_secret.login.malformed_response');

      try {
        // 2. Read: GET /v1/<mount>/data/<path>[?version=N] -> data.data, data.metadata.
        const query = grant.version > 0 ? `?version=${grant.version}` : '';
        const read = await fetchRetrying(
          deps.fetch,
          `${address}/v1/${grant.mount}/data/${grant.path}${query}`,
          { method: 'GET', headers: { accept: 'application/json', 'x-vault-token': token, ...namespace } },
          budget,
        );
        if (!read.ok) return transport('read', read);
        const body = parseJsonObject(read.body);
        const data = body?.data as Record<string, unknown> | undefined;
        const metadata = (typeof data?.metadata === 'object' && data.metadata !== null ? data.metadata : undefined) as
          | Record<string, unknown>
          | undefined;
        const version = metadata?.version;
        // KV v2 answers a deleted or destroyed version with 404 and its metadata (data.data null).
        if (metadata && (metadata.destroyed === true || (typeof metadata.deletion_time === 'string' && metadata.deletion_time !== ''))) {
          const what = metadata.destroyed === true ? 'destroyed' : 'deleted';
          return fail(
            `vault_secret.read.${what}:${typeof version === 'number' ? version : 'unknown'}`,
            what === 'destroyed' ? 'Destroyed' : 'Deleted',
          );
        }
        if (read.status !== 200) return vaultError('read', read.status, read.body);
        const values = data?.data;
        if (typeof values !== 'object' || values === null || Array.isArray(values)) return fail('vault_secret.malformed_response:data');
        if (
          typeof version !== 'number' ||
          !Number.isSafeInteger(version) ||
          version < 1 ||
          (grant.version > 0 && version !== grant.version)
        )
          return fail('vault_secret.malformed_response:version');

        const picked = pickFields(values as Record<string, unknown>, grant.keys);
        if (!picked.ok) return fail(`vault_secret.${picked.problem}`, 'KeyMissing');
        const id = vaultSecretId(grant);
        return {
          ok: true,
          credentials: storeCredentials(picked.pairs, version, `vault_secret:${id}`),
          summary: { type: 'vault_secret', target: `${id}@${version}` },
        };
      } finally {
        await revokeSelf(deps, address, token, namespace);
      }
    },
  };
}

/** POST /v1/auth/token/revoke-self: the Vault token was for this one read. Failures change nothing. */
async function revokeSelf(deps: CloudMintDeps, address: string, token: string, namespace: Record<string, string>): Promise<void> {
  try {
    const res = await deps.fetch(`${address}/v1/auth/token/revoke-self`, {
      method: 'POST',
      headers: { 'x-vault-token': token, ...namespace },
      redirect: 'manual',
      signal: AbortSignal.timeout(Math.min(REVOKE_TIMEOUT_MS, deps.timeoutMs)),
    });
    await res.body?.cancel().catch(() => {});
  } catch {
    // The token lives as long as the auth role's token_ttl says; nothing else to do.
  }
}

/**
 * Vault's `{"errors": ["..."]}`. The upstream code is the status (Vault has no error codes); for a login the
 * first message goes into the detail, printable and with anything token-shaped cut out, since it says why
 * the role refused (audience, bound claims, unknown role). Read errors keep only the status.
 */
function vaultError(step: 'login' | 'read', status: number, body: string): Failure {
  const detail = `vault_secret.${step}.http_${status}` as const;
  if (step === 'login') {
    const errors = parseJsonObject(body)?.errors;
    const first = Array.isArray(errors)
      ? safeText(errors[0], 160).replace(/[A-Za-z0-9_-]{16,}(?:\.[A-Za-z0-9_-]+){1,2}/g, '<redacted>')
      : '';
    if (first) return fail(`${detail}:${first}`, `HTTP_${status}`);
  }
  return fail(detail, `HTTP_${status}`);
}

function transport(step: 'login' | 'read', fetched: Extract<Fetched, { ok: false }>): Failure {
  return fail(`vault_secret.${step}.${fetched.reason}`, fetched.reason === 'timeout' ? 'Timeout' : undefined);
}

function fail(detail: Reason & `vault_secret.${string}`, upstreamCode?: string): Failure {
  return upstreamCode === undefined
    ? { ok: false, code: 'ERR_UPSTREAM', detail }
    : { ok: false, code: 'ERR_UPSTREAM', detail, upstream_code: upstreamCode };
}
