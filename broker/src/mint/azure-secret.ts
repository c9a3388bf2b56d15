// azure_secret: one secret from Azure Key Vault, read with an Entra access token that the broker gets the
// way the azure grant does (client credentials, a broker token for api://AzureADTokenExchange as the
// federated assertion), so the broker holds no Azure secret.
//
// Key Vault says which token it wants: an unauthenticated request gets a 401 whose WWW-Authenticate names the
// `resource` (https://vault.azure.net, or a sovereign cloud's). As the Azure SDK does, the broker asks for
// that resource only when its host is the parent domain of the vault's own host, so a vault URL cannot make
// the broker fetch (and send it) a token for another resource such as Azure Resource Manager.
import type { Reason } from '../audit/reasons.ts';
import type { GrantOf } from '../policy/schema.ts';
import type { Fetched } from '../util/http.ts';
import { AZURE_FEDERATED_AUDIENCE, TENANT_ID } from './azure.ts';
import { signBrokerToken, type CloudMintDeps } from './broker-token.ts';
import { pickFields, parseJsonValue, storeCredentials } from './store-exports.ts';
import { budgetFrom, fetchRetrying, type RetryBudget } from './store-retry.ts';
import type { Minter, MultiMintResult } from './types.ts';
import { cleanUpstreamCode } from './upstream.ts';
import { parseJsonObject, safeText, trimSlashes } from './upstream-json.ts';

/** The Key Vault REST API version the broker speaks (GA since 2023; every cloud serves it). */
export const KEY_VAULT_API_VERSION = '7.5';
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** A secret value is at most 25 KiB; the JSON around it and the token responses fit in 64 KiB. */
const MAX_RESPONSE_BYTES = 64 * 1024;

type Failure = Extract<MultiMintResult, { ok: false }>;

export function createAzureSecretMinter(deps: CloudMintDeps): Minter<GrantOf<'azure_secret'>, MultiMintResult> {
  return {
    async mint(grant, ctx): Promise<MultiMintResult> {
      if (!TENANT_ID.test(grant.tenant_id) || grant.tenant_id.includes('..')) return fail('azure_secret.tenant_id_invalid');
      if (!/^[0-9A-Za-z-]{1,127}$/.test(grant.name) || !/^(?:[0-9a-f]{32})?$/.test(grant.version))
        return fail('azure_secret.secret_id_invalid');
      const budget = budgetFrom(deps.timeoutMs, MAX_RESPONSE_BYTES);
      const vault = trimSlashes(grant.vault_url);
      const secretId = `${vault}/secrets/${grant.name}`;
      const url = `${secretId}${grant.version ? `/${grant.version}` : ''}?api-version=${KEY_VAULT_API_VERSION}`;
      const get = (headers: Record<string, string>) => fetchRetrying(deps.fetch, url, { method: 'GET', headers }, budget);

      // 1. The challenge: which resource this vault wants a token for.
      const challenge = await get({ accept: 'application/json' });
      if (!challenge.ok) return transport('challenge', challenge);
      if (challenge.status !== 401) return keyVaultError('challenge', challenge.status, challenge.body);
      const scope = challengeScope(challenge.headers.get('www-authenticate'), new URL(vault));
      if (typeof scope !== 'string') return fail(`azure_secret.challenge.${scope.problem}`);

      // 2. An Entra token for that resource, with the broker's federated assertion.
      const token = await entraToken(deps, grant, ctx, scope, budget);
      if (!token.ok) return token;

      // 3. The secret itself.
      const res = await get({ accept: 'application/json', authorization: `Bearer ${token.accessToken}` });
      if (!res.ok) return transport('get', res);
      if (res.status !== 200) return keyVaultError('get', res.status, res.body);
      const bundle = parseJsonObject(res.body);
      const value = bundle?.value;
      const id = bundle?.id;
      if (typeof value !== 'string') return fail('azure_secret.malformed_response:value');
      if (typeof id !== 'string' || !id.startsWith(`${secretId}/`)) return fail('azure_secret.malformed_response:id');
      const version = id.slice(secretId.length + 1);
      if (!/^[0-9a-f]{32}$/.test(version) || (grant.version && version !== grant.version))
        return fail('azure_secret.malformed_response:version');
      const attributes = bundle?.attributes;
      if (typeof attributes === 'object' && attributes !== null && (attributes as Record<string, unknown>).enabled === false)
        return fail('azure_secret.get.disabled', 'SecretDisabled');

      let picked: ReturnType<typeof pickFields>;
      if (grant.json_keys) {
        const json = parseJsonValue(value);
        if (!json) return fail('azure_secret.not_json', 'NotJson');
        picked = pickFields(json, grant.json_keys);
      } else {
        picked = { ok: true, pairs: [[grant.env ?? grant.name, value]] };
      }
      if (!picked.ok) return fail(`azure_secret.${picked.problem}`, 'KeyMissing');
      return {
        ok: true,
        credentials: storeCredentials(picked.pairs, version, `azure_secret:${secretId}`),
        summary: { type: 'azure_secret', target: `${secretId}@${version}` },
      };
    },
  };
}

/**
 * The scope to ask Entra for, from Key Vault's `WWW-Authenticate: Bearer authorization="...",
 * resource="..."` (or `scope="..."`). The resource must be https and its host the vault's host or its
 * parent domain; a loopback vault (a local fake) accepts any https resource.
 */
export function challengeScope(header: string | null, vault: URL): string | { problem: string } {
  if (!header || !/^Bearer\s/i.test(header)) return { problem: 'missing' };
  const params = new Map<string, string>();
  for (const m of header.slice(7).matchAll(/([A-Za-z_]+)="([^"]*)"/g)) params.set(m[1]!.toLowerCase(), m[2]!);
  const scope = params.get('scope');
  const resource = params.get('resource') ?? (scope?.endsWith('/.default') ? scope.slice(0, -'/.default'.length) : undefined);
  if (!resource) return { problem: 'no_resource' };
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    return { problem: 'resource_invalid' };
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.search || url.hash) return { problem: 'resource_invalid' };
  const loopback = vault.hostname === 'localhost' || vault.hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(vault.hostname);
  const host = url.hostname.toLowerCase();
  const vaultHost = vault.hostname.toLowerCase();
  // The vault's own host or its parent domain exactly (myvault.vault.azure.net -> vault.azure.net): a
  // suffix check alone would accept a bare TLD ("https://net") or a higher domain shared with other services.
  const parent = vaultHost.slice(vaultHost.indexOf('.') + 1);
  if (!loopback && host !== vaultHost && (host !== parent || !host.includes('.'))) return { problem: 'resource_mismatch' };
  return `${trimSlashes(url.href)}/.default`;
}

async function entraToken(
  deps: CloudMintDeps,
  grant: GrantOf<'azure_secret'>,
  ctx: Parameters<Minter['mint']>[1],
  scope: string,
  budget: RetryBudget,
): Promise<{ ok: true; accessToken: string } | Failure> {
  let assertion: string;
  try {
    assertion = (await signBrokerToken(deps.issuer, ctx, AZURE_FEDERATED_AUDIENCE)).token;
  } catch {
    return { ok: false, code: 'ERR_UNAVAILABLE', detail: 'azure_secret.broker_token_unavailable' };
  }
  const form = new URLSearchParams({
    client_id: grant.client_id,
    scope,
    grant_type: 'client_credentials',
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: assertion,
  });
  const res = await fetchRetrying(
    deps.fetch,
    `${trimSlashes(grant.authority_host)}/${grant.tenant_id}/oauth2/v2.0/token`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
    },
    budget,
  );
  if (!res.ok) return transport('token', res);
  const json = parseJsonObject(res.body);
  if (res.status !== 200) {
    // Entra's AADSTS number is what an operator searches for.
    const codes = json?.error_codes;
    const aadsts = Array.isArray(codes) && Number.isSafeInteger(codes[0]) ? `AADSTS${codes[0] as number}` : undefined;
    const code = aadsts ?? /^AADSTS\d{1,10}\b/.exec(safeText(json?.error_description))?.[0] ?? cleanUpstreamCode(json?.error);
    return fail(`azure_secret.token.http_${res.status}${code ? `:${code}` : ''}`, code ?? `HTTP_${res.status}`);
  }
  const accessToken = json?.access_token;
  if (json?.token_type !== 'Bearer' || typeof accessToken !== 'string' || !/^[\x21-\x7e]{1,16384}$/.test(accessToken))
    return fail('azure_secret.token.malformed_response');
  return { ok: true, accessToken };
}

/** Key Vault's `{"error": {"code", "message", "innererror": {"code"}}}`: the most precise code is kept. */
function keyVaultError(step: 'challenge' | 'get', status: number, body: string): Failure {
  const error = parseJsonObject(body)?.error as Record<string, unknown> | undefined;
  const inner =
    typeof error?.innererror === 'object' && error.innererror !== null ? (error.innererror as Record<string, unknown>) : undefined;
  const code = cleanUpstreamCode(inner?.code) ?? cleanUpstreamCode(error?.code);
  const detail = step === 'challenge' && status === 200 ? 'challenge.no_challenge' : `${step}.http_${status}${code ? `:${code}` : ''}`;
  return fail(`azure_secret.${detail}`, code ?? `HTTP_${status}`);
}

function transport(step: 'challenge' | 'token' | 'get', fetched: Extract<Fetched, { ok: false }>): Failure {
  return fail(`azure_secret.${step}.${fetched.reason}`, fetched.reason === 'timeout' ? 'Timeout' : undefined);
}

function fail(detail: Reason & `azure_secret.${string}`, upstreamCode?: string): Failure {
  return upstreamCode === undefined
    ? { ok: false, code: 'ERR_UPSTREAM', detail }
    : { ok: false, code: 'ERR_UPSTREAM', detail, upstream_code: upstreamCode };
}
