// Azure: an Entra ID access token through the client credentials flow with a federated credential. The
// broker signs a token for `api://AzureADTokenExchange` (Entra's default federated audience) and presents
// it as the client assertion; the app registration (or managed identity) trusts the broker's issuer with
// subject `role:<role>`, so the broker holds no Azure secret.
//
// Lifetime: Entra decides how long an access token lives (60-90 minutes by default; token lifetime policies
// cannot go below 10 minutes) and Entra access tokens cannot be revoked. Refusing roles whose max_ttl is
// shorter would make Azure unusable with the short max_ttl we recommend, so the credential reports
// min(Entra's expiry, now + max_ttl): clients drop it then, and the audit summary keeps Entra's real expiry
// so a reviewer knows how long a leaked token would stay usable.
import type { GrantOf } from '../policy/schema.ts';
import { isoSeconds } from '../util/duration.ts';
import { fetchLimited } from '../util/http.ts';
import { signBrokerToken, type CloudMintDeps } from './broker-token.ts';
import type { Minter, MintResult } from './types.ts';
import { boundedExpiry, parseJsonObject, safeText, transportFailure, trimSlashes, type MintFailure } from './upstream-json.ts';

/** The audience Entra expects in a federated client assertion unless the credential says otherwise. */
export const AZURE_FEDERATED_AUDIENCE = 'api://AzureADTokenExchange';
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** A token response is a few KiB. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** A tenant GUID or a verified domain: it goes into the URL path, so nothing that could change the path. */
export const TENANT_ID = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$/;

export function createAzureMinter(deps: CloudMintDeps): Minter<GrantOf<'azure'>> {
  return {
    async mint(grant, ctx): Promise<MintResult> {
      if (!TENANT_ID.test(grant.tenant_id) || grant.tenant_id.includes('..')) return fail('azure.tenant_id_invalid');

      let assertion: string;
      try {
        assertion = (await signBrokerToken(deps.issuer, ctx, AZURE_FEDERATED_AUDIENCE)).token;
      } catch {
        return { ok: false, code: 'ERR_UNAVAILABLE', detail: 'azure.broker_token_unavailable' };
      }

      const url = `${trimSlashes(grant.authority_host)}/${grant.tenant_id}/oauth2/v2.0/token`;
      const form = new URLSearchParams({
        client_id: grant.client_id,
        scope: grant.scope,
        grant_type: 'client_credentials',
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: assertion,
      });
      const res = await fetchLimited(
        deps.fetch,
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: form.toString(),
        },
        { timeoutMs: deps.timeoutMs, maxBytes: MAX_RESPONSE_BYTES },
      );
      if (!res.ok) return transportFailure('azure.token', res);
      if (res.status !== 200) return entraError(res.status, res.body);

      const token = parseTokenResponse(res.body);
      if (!token) return fail('azure.token_malformed');
      const entraExpiry = ctx.now + token.expiresIn;
      return {
        ok: true,
        credential: {
          type: 'azure',
          access_token: token.accessToken,
          expires_at: isoSeconds(boundedExpiry(entraExpiry, ctx)),
          tenant_id: grant.tenant_id,
          client_id: grant.client_id,
          scope: grant.scope,
        },
        // Entra's own expiry: the token cannot be revoked, so this is how long it really lives.
        summary: { type: 'azure', target: `${grant.tenant_id}/${grant.client_id}`, expires_at: isoSeconds(entraExpiry) },
      };
    },
  };
}

/** Entra's success shape: token_type Bearer, a non-empty access_token, expires_in in seconds. */
function parseTokenResponse(body: string): { accessToken: string; expiresIn: number } | undefined {
  const json = parseJsonObject(body);
  if (!json) return undefined;
  const { token_type, access_token, expires_in } = json;
  if (token_type !== 'Bearer') return undefined;
  if (typeof access_token !== 'string' || !/^[\x21-\x7e]{1,16384}$/.test(access_token)) return undefined;
  // A number, as the v2.0 endpoint sends it (the v1 endpoint's strings are not accepted here).
  if (typeof expires_in !== 'number' || !Number.isFinite(expires_in) || expires_in <= 0 || expires_in > 7 * 86400) return undefined;
  return { accessToken: access_token, expiresIn: Math.floor(expires_in) };
}

/**
 * Entra answers errors with `error`, `error_description` ("AADSTS700016: ...") and `error_codes` ([700016]);
 * the AADSTS code is what an operator searches for, so it becomes the upstream code.
 */
function entraError(status: number, body: string): MintFailure {
  const json = parseJsonObject(body);
  const codes = json?.error_codes;
  let code: string | undefined;
  if (Array.isArray(codes) && Number.isSafeInteger(codes[0])) code = `AADSTS${codes[0] as number}`;
  else code = /^AADSTS\d{1,10}\b/.exec(safeText(json?.error_description))?.[0];
  const error = /^[a-z_]{1,64}$/.test(safeText(json?.error)) ? (json?.error as string) : undefined;
  const upstream = code ?? error ?? `HTTP_${status}`;
  return {
    ok: false,
    code: 'ERR_UPSTREAM',
    detail: `azure.token_http_${status}:${[code, error].filter(Boolean).join(' ') || 'no error body'}`,
    upstream_code: upstream,
  };
}

function fail(detail: `azure.${string}`): MintFailure {
  return { ok: false, code: 'ERR_UPSTREAM', detail };
}
