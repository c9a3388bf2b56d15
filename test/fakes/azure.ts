// A fake Microsoft Entra ID token endpoint for the client credentials flow with a federated credential,
// checking what Entra checks: the tenant and app exist, the scope is `<resource>/.default`, and the client
// assertion is a JWT from a trusted federated issuer (exact issuer, subject and audience) whose signature
// verifies against the keys found through the issuer's OIDC discovery, fetched at request time. Answers in
// Entra's exact JSON shapes, errors included, and serves the tenant's OpenID metadata that MSAL
// (@azure/identity) fetches before the token request.
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import { hangUntilAborted, serveFake, type FakeHandler, type ServedFake } from './tls.ts';

export const ENTRA_FEDERATED_AUDIENCE = 'api://AzureADTokenExchange';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface FederatedCredential {
  issuer: string;
  subject: string;
  /** [api://AzureADTokenExchange] */
  audience?: string;
}

export interface EntraApp {
  tenant_id: string;
  client_id: string;
  federated: FederatedCredential[];
}

/** Entra's errors as it sends them (status, OAuth error, AADSTS number, description). */
export const ENTRA_ERRORS = {
  tenantNotFound: {
    status: 400,
    error: 'invalid_request',
    code: 90002,
    text: (c: Ctx) =>
      `Tenant '${c.tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
  },
  missingParameter: {
    status: 400,
    error: 'invalid_request',
    code: 900144,
    text: (c: Ctx) => `The request body must contain the following parameter: '${c.param ?? 'client_id'}'.`,
  },
  unsupportedGrant: {
    status: 400,
    error: 'unsupported_grant_type',
    code: 70003,
    text: () => 'The app requested an unsupported grant type.',
  },
  appNotFound: {
    status: 400,
    error: 'unauthorized_client',
    code: 700016,
    text: (c: Ctx) =>
      `Application with identifier '${c.client}' was not found in the directory '${c.tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  },
  missingAssertion: {
    status: 401,
    error: 'invalid_client',
    code: 7000218,
    text: () => "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  },
  invalidScope: {
    status: 400,
    error: 'invalid_scope',
    code: 1002012,
    text: (c: Ctx) =>
      `The provided value for scope ${c.scope ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  },
  malformedAssertion: { status: 400, error: 'invalid_request', code: 50027, text: () => 'JWT token is invalid or malformed.' },
  noFederatedRecord: {
    status: 400,
    error: 'invalid_request',
    code: 70021,
    text: (c: Ctx) =>
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${c.iss ?? ''}'. Assertion Subject: '${c.sub ?? ''}'. Assertion Audience: '${c.aud ?? ''}'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
  },
  issuerMismatch: {
    status: 401,
    error: 'invalid_client',
    code: 700211,
    text: (c: Ctx) =>
      `No matching federated identity record found for presented assertion issuer '${c.iss ?? ''}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.`,
  },
  audienceMismatch: {
    status: 401,
    error: 'invalid_client',
    code: 700212,
    text: (c: Ctx) =>
      `No matching federated identity record found for presented assertion audience '${c.aud ?? ''}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.`,
  },
  subjectMismatch: {
    status: 401,
    error: 'invalid_client',
    code: 700213,
    text: (c: Ctx) =>
      `No matching federated identity record found for presented assertion subject '${c.sub ?? ''}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.`,
  },
  assertionExpired: {
    status: 400,
    error: 'invalid_client',
    code: 700024,
    text: () => 'Client assertion is not within its valid time range.',
  },
  badSignature: { status: 401, error: 'invalid_client', code: 700027, text: () => 'Client assertion failed signature validation.' },
  oidcUnreachable: { status: 400, error: 'invalid_request', code: 50166, text: () => 'Request to External OIDC endpoint failed.' },
  conditionalAccess: {
    status: 400,
    error: 'invalid_grant',
    code: 53003,
    text: () => 'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.',
  },
} as const;
export type EntraErrorName = keyof typeof ENTRA_ERRORS;

interface Ctx {
  tenant: string;
  client?: string;
  scope?: string;
  param?: string;
  iss?: string;
  sub?: string;
  aud?: string;
}

/** How the fake answers token requests: normally, or one of the ways an upstream goes wrong. */
export type EntraMode = 'ok' | 'hang' | 'malformed' | { error: EntraErrorName; status?: number };

export interface FakeEntraOptions {
  apps: EntraApp[];
  /** Epoch milliseconds (share the broker's frozen clock). */
  now?: () => number;
  /** Used to fetch the federated issuer's discovery and JWKS. */
  fetch?: typeof fetch;
  /** Seconds; Entra's default access tokens live 60-90 minutes. */
  expiresIn?: number;
  /** The origin the fake is served at, for the OpenID metadata it publishes (set by startFakeEntra). */
  baseUrl?: string;
}

export interface AcceptedAssertion {
  token: string;
  header: ProtectedHeaderParameters;
  payload: JWTPayload;
}

export interface IssuedEntraToken {
  tenant_id: string;
  client_id: string;
  scope: string;
  /** Epoch seconds. */
  expires_at: number;
}

export interface FakeEntra {
  handler: FakeHandler;
  mode: EntraMode;
  baseUrl: string;
  /** Client assertions that verified, in order. */
  assertions: AcceptedAssertion[];
  /** Access tokens handed out. */
  issued: Map<string, IssuedEntraToken>;
  /** Every token request's AADSTS code (0 for success), in order. */
  outcomes: number[];
}

export function createFakeEntra(opts: FakeEntraOptions): FakeEntra {
  const now = opts.now ?? Date.now;
  const fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
  const fake: FakeEntra = {
    mode: 'ok',
    baseUrl: opts.baseUrl ?? 'https://login.microsoftonline.com',
    assertions: [],
    issued: new Map(),
    outcomes: [],
    handler: async (req) => {
      const url = new URL(req.url);
      const parts = url.pathname.split('/').filter(Boolean);
      // /{tenant}/v2.0/.well-known/openid-configuration: the tenant's metadata, fetched by MSAL first.
      if (
        req.method === 'GET' &&
        parts.length === 4 &&
        parts[1] === 'v2.0' &&
        parts[2] === '.well-known' &&
        parts[3] === 'openid-configuration'
      ) {
        const tenant = parts[0] as string;
        if (!opts.apps.some((a) => a.tenant_id === tenant)) return entraError(now, 'tenantNotFound', { tenant });
        return Response.json(openIdConfiguration(fake.baseUrl, tenant));
      }
      if (req.method === 'POST' && parts.length === 4 && parts[1] === 'oauth2' && parts[2] === 'v2.0' && parts[3] === 'token') {
        return token(req, parts[0] as string);
      }
      return Response.json({ error: 'not_found' }, { status: 404 });
    },
  };

  async function token(req: Request, tenant: string): Promise<Response> {
    const mode = fake.mode;
    if (mode === 'hang') return hangUntilAborted(req);
    if (mode === 'malformed')
      return new Response('{"token_type":"Bearer","access_token":', {
        status: 200,
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
    const fail = (name: EntraErrorName, ctx: Omit<Ctx, 'tenant'> = {}, status?: number) => {
      fake.outcomes.push(ENTRA_ERRORS[name].code);
      return entraError(now, name, { tenant, ...ctx }, status);
    };
    if (typeof mode === 'object') return fail(mode.error, {}, mode.status);

    if (!(req.headers.get('content-type') ?? '').startsWith('application/x-www-form-urlencoded'))
      return fail('missingParameter', { param: 'grant_type' });
    const form = new URLSearchParams(await req.text());
    const tenantApps = opts.apps.filter((a) => a.tenant_id === tenant);
    if (tenantApps.length === 0) return fail('tenantNotFound');
    const grantType = form.get('grant_type');
    if (!grantType) return fail('missingParameter', { param: 'grant_type' });
    if (grantType !== 'client_credentials') return fail('unsupportedGrant');
    const clientId = form.get('client_id');
    if (!clientId) return fail('missingParameter', { param: 'client_id' });
    const app = tenantApps.find((a) => a.client_id === clientId);
    if (!app) return fail('appNotFound', { client: clientId });
    const assertion = form.get('client_assertion');
    if (!assertion || form.get('client_assertion_type') !== ASSERTION_TYPE) return fail('missingAssertion');
    const scope = form.get('scope');
    if (!scope) return fail('missingParameter', { param: 'scope' });
    if (!scope.endsWith('/.default') || scope.trim().includes(' ')) return fail('invalidScope', { scope });

    let header: ProtectedHeaderParameters;
    let claims: JWTPayload;
    try {
      header = decodeProtectedHeader(assertion);
      claims = decodeJwt(assertion);
    } catch {
      return fail('malformedAssertion');
    }
    const iss = typeof claims.iss === 'string' ? claims.iss : '';
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    const aud = typeof claims.aud === 'string' ? claims.aud : Array.isArray(claims.aud) ? claims.aud.join(',') : '';
    const seen = { iss, sub, aud };
    if (app.federated.length === 0) return fail('noFederatedRecord', seen);
    const byIssuer = app.federated.filter((f) => f.issuer === iss);
    if (byIssuer.length === 0) return fail('issuerMismatch', seen);

    // Keys come from the issuer's own discovery document, as Entra finds them.
    let keys: ReturnType<typeof createLocalJWKSet>;
    try {
      keys = await issuerKeys(iss);
    } catch {
      return fail('oidcUnreachable', seen);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(assertion, keys, {
        issuer: iss,
        algorithms: ['RS256'],
        currentDate: new Date(now()),
        requiredClaims: ['exp', 'sub', 'aud'],
      }));
    } catch (err) {
      if (
        err instanceof errors.JWTExpired ||
        (err instanceof errors.JWTClaimValidationFailed && (err.claim === 'nbf' || err.claim === 'iat'))
      )
        return fail('assertionExpired', seen);
      if (
        err instanceof errors.JWSSignatureVerificationFailed ||
        err instanceof errors.JWKSNoMatchingKey ||
        err instanceof errors.JOSEAlgNotAllowed
      )
        return fail('badSignature', seen);
      return fail('malformedAssertion', seen);
    }
    const audiences = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
    const byAudience = byIssuer.filter((f) => audiences.includes(f.audience ?? ENTRA_FEDERATED_AUDIENCE));
    if (byAudience.length === 0) return fail('audienceMismatch', seen);
    if (!byAudience.some((f) => f.subject === payload.sub)) return fail('subjectMismatch', seen);

    fake.assertions.push({ token: assertion, header, payload });
    fake.outcomes.push(0);
    const expiresIn = opts.expiresIn ?? 3599;
    const accessToken = `eyJ0eXAiOiJKV1QifQ.${crypto.getRandomValues(new Uint8Array(32)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '')}.fake-entra`;
    fake.issued.set(accessToken, { tenant_id: tenant, client_id: clientId, scope, expires_at: Math.floor(now() / 1000) + expiresIn });
    return Response.json(
      { token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: accessToken },
      { headers: { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' } },
    );
  }

  async function issuerKeys(iss: string): Promise<ReturnType<typeof createLocalJWKSet>> {
    const get = async (url: string) => {
      const res = await fetchFn(url, { redirect: 'manual', signal: AbortSignal.timeout(5_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return (await res.json()) as Record<string, unknown>;
    };
    const discovery = await get(`${iss}/.well-known/openid-configuration`);
    if (discovery.issuer !== iss || typeof discovery.jwks_uri !== 'string') throw new Error('discovery mismatch');
    return createLocalJWKSet((await get(discovery.jwks_uri)) as { keys: [] });
  }

  return fake;
}

/** Entra's error body: error, error_description (with trace and correlation ids), error_codes, and the rest. */
function entraError(now: () => number, name: EntraErrorName, ctx: Ctx, status?: number): Response {
  const e = ENTRA_ERRORS[name];
  const traceId = crypto.randomUUID();
  const correlationId = crypto.randomUUID();
  const timestamp = new Date(now())
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
  return Response.json(
    {
      error: e.error,
      error_description: `AADSTS${e.code}: ${e.text(ctx)} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [e.code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${e.code}`,
    },
    { status: status ?? e.status, headers: { 'cache-control': 'no-store, no-cache' } },
  );
}

function openIdConfiguration(base: string, tenant: string): Record<string, unknown> {
  return {
    token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/${tenant}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/${tenant}/v2.0`,
    request_uri_parameter_supported: false,
    authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/${tenant}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid'],
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
  };
}

export type ServedFakeEntra = FakeEntra & ServedFake;

/**
 * Starts the fake on 127.0.0.1. `tls: true` serves HTTPS with a self-signed certificate (`ca`, `agent`), which
 * @azure/identity needs; the broker's own minter is happy with plain http on loopback.
 */
export async function startFakeEntra(opts: FakeEntraOptions & { tls?: boolean }): Promise<ServedFakeEntra> {
  const fake = createFakeEntra(opts);
  const served = await serveFake((req) => fake.handler(req), opts.tls ? { tls: true } : {});
  fake.baseUrl = served.url;
  return Object.assign(fake, served);
}
