// The `gcp` grant: a Google Cloud access token through workload identity federation, spoken directly with
// fetch (google-auth-library's clients would pull gaxios into the edge bundle for three HTTP calls).
//
// 1. STS token exchange (RFC 8693, https://sts.googleapis.com/v1/token): the broker token, with audience
//    https://iam.googleapis.com/<provider resource> (a workload identity provider's default allowed
//    audience), for a federated access token.
// 2. With service_account: generateAccessToken (IAM Credentials) with the federated token as bearer, for the
//    grant's scopes and a lifetime of min(lifetime, max_ttl).
// 3. With access_boundary: a credential access boundary (downscoping). Without impersonation it rides on the
//    first exchange (`options`). With impersonation a boundary on the federated token would not carry over to
//    the service account's token, so the service account token is downscoped by a second exchange
//    (subject_token_type access_token), which is what is handed out.
//
// Expiry: a federated token's lifetime is Google's to choose (it cannot be requested), so without
// impersonation the mint is refused (`gcp.token_outlives_max_ttl`) when Google reports one that outlives
// min(lifetime, max_ttl): use service_account impersonation for credentials shorter than Google's default.
//
// hand_out: subject_token: none of the above. The broker token itself is the credential (with the audience
// google-auth-library needs), and the caller's library does step 1 and 2 at Google, re-running
// `exchange --format gcp-executable` for a new one. The lint refuses access_boundary with it (the caller
// would do the exchange and could leave the boundary out); the minter refuses it too, in case a grant
// reaches it without the lint.
//
// Any failure at any step hands out nothing. Google's error codes (OAuth `error`, or the API error `status`)
// are kept as upstream_code.
import type { GrantOf } from '../policy/schema.ts';
import { isoSeconds, parseDuration } from '../util/duration.ts';
import { fetchLimited } from '../util/http.ts';
import { signBrokerToken, type CloudMintDeps } from './broker-token.ts';
import type { Minter } from './types.ts';
import {
  boundedExpiry,
  cleanUpstreamCode,
  parseUtcTimestamp,
  transportFailure,
  upstreamFailure,
  UPSTREAM_MAX_BYTES,
  type MintFailure,
} from './upstream.ts';

type GcpGrant = GrantOf<'gcp'>;

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** `projects/N/locations/global/workloadIdentityPools/P/providers/X`, however the grant spells it. */
export function providerResource(workloadIdentityProvider: string): string {
  return workloadIdentityProvider.replace(/^\/\/iam\.googleapis\.com\//, '');
}

/** The audience a workload identity provider accepts by default, which the broker token carries. */
export function providerAudience(workloadIdentityProvider: string): string {
  return `https://iam.googleapis.com/${providerResource(workloadIdentityProvider)}`;
}

/** The project id for the credential: the grant's, else the one in the service account's email. */
function projectIdOf(grant: GcpGrant): string | null {
  if (grant.project_id) return grant.project_id;
  const m = /@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$/.exec(grant.service_account ?? '');
  return m?.[1] ?? null;
}

interface Token {
  token: string;
  /** Epoch seconds; undefined when the upstream did not say. */
  expiresAt: number | undefined;
}

export function createGcpMinter(deps: CloudMintDeps): Minter<GcpGrant> {
  const limits = { timeoutMs: deps.timeoutMs, maxBytes: UPSTREAM_MAX_BYTES };

  /** One RFC 8693 exchange at the grant's STS endpoint. */
  async function exchange(grant: GcpGrant, fields: Record<string, string>, now: number, step: string): Promise<Token | MintFailure> {
    const fetched = await fetchLimited(
      deps.fetch,
      grant.sts_url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, requested_token_type: ACCESS_TOKEN_TYPE, ...fields }).toString(),
      },
      limits,
    );
    if (!fetched.ok) return transportFailure(`gcp.${step}`, fetched);
    const json = parseJsonObject(fetched.body);
    if (fetched.status !== 200) return httpFailure(`gcp.${step}`, fetched.status, json);
    if (!json) return upstreamFailure(`gcp.${step}.malformed_response:json`);
    const token = json.access_token;
    if (typeof token !== 'string' || !/^[\x21-\x7e]{1,4096}$/.test(token))
      return upstreamFailure(`gcp.${step}.malformed_response:access_token`);
    if (json.issued_token_type !== undefined && json.issued_token_type !== ACCESS_TOKEN_TYPE) {
      return upstreamFailure(`gcp.${step}.malformed_response:issued_token_type`);
    }
    if (typeof json.token_type === 'string' && json.token_type.toLowerCase() !== 'bearer')
      return upstreamFailure(`gcp.${step}.malformed_response:token_type`);
    const expiresIn = json.expires_in;
    if (expiresIn === undefined) return { token, expiresAt: undefined };
    if (typeof expiresIn !== 'number' || !Number.isSafeInteger(expiresIn) || expiresIn <= 0)
      return upstreamFailure(`gcp.${step}.malformed_response:expires_in`);
    return { token, expiresAt: now + expiresIn };
  }

  async function impersonate(grant: GcpGrant, serviceAccount: string, bearer: string, lifetime: number): Promise<Token | MintFailure> {
    const base = grant.iam_credentials_url.replace(/\/+$/, '');
    const url = `${base}/v1/projects/-/serviceAccounts/${encodeURIComponent(serviceAccount)}:generateAccessToken`;
    const fetched = await fetchLimited(
      deps.fetch,
      url,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ scope: grant.scopes, lifetime: `${lifetime}s` }),
      },
      limits,
    );
    if (!fetched.ok) return transportFailure('gcp.impersonation', fetched);
    const json = parseJsonObject(fetched.body);
    if (fetched.status !== 200) return httpFailure('gcp.impersonation', fetched.status, json);
    if (!json) return upstreamFailure('gcp.impersonation.malformed_response:json');
    const token = json.accessToken;
    if (typeof token !== 'string' || !/^[\x21-\x7e]{1,4096}$/.test(token))
      return upstreamFailure('gcp.impersonation.malformed_response:accessToken');
    const expiresAt = typeof json.expireTime === 'string' ? parseUtcTimestamp(json.expireTime) : undefined;
    if (expiresAt === undefined) return upstreamFailure('gcp.impersonation.malformed_response:expireTime');
    return { token, expiresAt };
  }

  return {
    async mint(grant, ctx) {
      const wanted = grant.lifetime === undefined ? ctx.maxTtl : (parseDuration(grant.lifetime) ?? ctx.maxTtl);
      const lifetime = Math.min(wanted, ctx.maxTtl);
      const resource = providerResource(grant.workload_identity_provider);
      const boundary = grant.access_boundary && grant.access_boundary.length > 0 ? accessBoundaryOptions(grant.access_boundary) : undefined;

      if (grant.hand_out === 'subject_token') {
        if (grant.access_boundary !== undefined)
          return { ok: false, code: 'ERR_UPSTREAM', detail: 'gcp.subject_token_with_access_boundary' };
        const signed = await signBrokerToken(deps.issuer, ctx, providerAudience(resource));
        const expires = isoSeconds(signed.expiresAt);
        return {
          ok: true,
          credential: {
            type: 'gcp',
            subject_token: signed.token,
            subject_token_type: JWT_TOKEN_TYPE,
            audience: `//iam.googleapis.com/${resource}`,
            expires_at: expires,
            service_account: grant.service_account ?? null,
            project_id: projectIdOf(grant),
          },
          summary: {
            type: 'gcp',
            target: `subject_token:${grant.service_account ?? `//iam.googleapis.com/${resource}`}`,
            expires_at: expires,
          },
        };
      }

      const subject = await signBrokerToken(deps.issuer, ctx, providerAudience(resource));
      const federated = await exchange(
        grant,
        {
          audience: `//iam.googleapis.com/${resource}`,
          subject_token_type: JWT_TOKEN_TYPE,
          subject_token: subject.token,
          // Impersonation needs cloud-platform on the federated token; the grant's scopes go to the SA token.
          scope: grant.service_account ? CLOUD_PLATFORM_SCOPE : grant.scopes.join(' '),
          ...(boundary && !grant.service_account ? { options: boundary } : {}),
        },
        ctx.now,
        'sts',
      );
      if ('ok' in federated) return federated;

      let final: Token = federated;
      if (grant.service_account) {
        const impersonated = await impersonate(grant, grant.service_account, federated.token, lifetime);
        if ('ok' in impersonated) return impersonated;
        final = impersonated;
        if (boundary) {
          const downscoped = await exchange(
            grant,
            { subject_token_type: ACCESS_TOKEN_TYPE, subject_token: impersonated.token, options: boundary },
            ctx.now,
            'downscope',
          );
          if ('ok' in downscoped) return downscoped;
          // A downscoped token lives as long as its source; STS may leave expires_in out.
          final = { token: downscoped.token, expiresAt: Math.min(impersonated.expiresAt ?? Infinity, downscoped.expiresAt ?? Infinity) };
        }
      }

      if (final.expiresAt === undefined || !Number.isFinite(final.expiresAt)) return upstreamFailure('gcp.malformed_response:no_expiry');
      let expiresAt: number | undefined;
      if (grant.service_account) {
        expiresAt = boundedExpiry(final.expiresAt, ctx.now, lifetime);
        if (expiresAt === undefined) return upstreamFailure('gcp.expiration_out_of_range');
      } else {
        // Relative to our own clock (expires_in), so no skew allowance: it fits or it does not.
        if (final.expiresAt > ctx.now + lifetime)
          return upstreamFailure(`gcp.token_outlives_max_ttl:${final.expiresAt - ctx.now}s>${lifetime}s`);
        expiresAt = final.expiresAt;
      }
      const expires = isoSeconds(expiresAt);
      return {
        ok: true,
        credential: {
          type: 'gcp',
          access_token: final.token,
          expires_at: expires,
          service_account: grant.service_account ?? null,
          project_id: projectIdOf(grant),
        },
        summary: { type: 'gcp', target: grant.service_account ?? `//iam.googleapis.com/${resource}`, expires_at: expires },
      };
    },
  };
}

/** The STS `options` for a credential access boundary, in Google's JSON shape. */
function accessBoundaryOptions(rules: NonNullable<GcpGrant['access_boundary']>): string {
  return JSON.stringify({
    accessBoundary: {
      accessBoundaryRules: rules.map((r) => ({
        availableResource: r.available_resource,
        availablePermissions: r.available_permissions,
        ...(r.availability_condition
          ? {
              availabilityCondition: {
                expression: r.availability_condition.expression,
                ...(r.availability_condition.title !== undefined ? { title: r.availability_condition.title } : {}),
              },
            }
          : {}),
      })),
    },
  });
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Google's two error shapes: OAuth `{error, error_description}` (STS) and API `{error: {code, status}}`. */
function httpFailure(prefix: `gcp.${string}`, status: number, json: Record<string, unknown> | undefined): MintFailure {
  const error = json?.error;
  const code =
    typeof error === 'string'
      ? cleanUpstreamCode(error)
      : typeof error === 'object' && error !== null
        ? cleanUpstreamCode((error as Record<string, unknown>).status)
        : undefined;
  return upstreamFailure(`${prefix}.http_${status}${code ? `:${code}` : ''}`, code ?? `HTTP_${status}`);
}
