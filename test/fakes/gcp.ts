// A fake Google Cloud for workload identity federation, speaking the real wire formats:
// - STS (`POST /v1/token`, RFC 8693, form-encoded snake_case as google-auth-library sends it, or the REST
//   API's JSON camelCase): a JWT subject token is checked against the workload identity provider named by
//   `audience` (its issuer's discovery and JWKS over HTTP: signature, issuer, expiry, and an audience among
//   the provider's allowed audiences, by default https://iam.googleapis.com/<provider resource>), then the
//   provider's attribute condition; an access_token subject token (downscoping) must be one this fake issued,
//   and comes with a credential access boundary in `options`. Errors are OAuth-style `{error,
//   error_description}`.
// - IAM Credentials (`POST /v1/projects/-/serviceAccounts/<email>:generateAccessToken`): the bearer must be a
//   live token this fake issued with cloud-platform scope, the service account must admit the federated
//   subject, scope is required, lifetime at most 3600s unless configured. Errors are Google API errors
//   `{error: {code, message, status}}`.
// Modes make each endpoint misbehave on demand; `calls` records what arrived and what was decided.
// The oracle test (test/unit/mint/gcp-fake-oracle.test.ts) points google-auth-library at it.
import type { JWTPayload } from 'jose';
import { hang, randomChars, TrustedIssuerVerifier, type FetchLike } from './oidc.ts';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TYPES = new Set(['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token']);
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export interface FakeGcpProvider {
  /** The provider's issuer URI. */
  issuer: string;
  /** Allowed audiences; default: https://iam.googleapis.com/<provider resource>. */
  allowedAudiences?: string[];
  /** The attribute condition, over the verified claims. */
  attributeCondition?: (claims: JWTPayload) => boolean;
}

export interface FakeGcpServiceAccount {
  /** Federated subjects (the broker token's `sub`) granted roles/iam.workloadIdentityUser; default: any. */
  allowedSubjects?: string[];
  /** Maximum lifetime in seconds; 3600 unless the lifetime extension policy is set. */
  maxLifetime?: number;
}

export interface FakeGcpOptions {
  /** `projects/N/locations/global/workloadIdentityPools/P/providers/X` -> provider. */
  providers: Record<string, FakeGcpProvider>;
  serviceAccounts?: Record<string, FakeGcpServiceAccount>;
  /** expires_in of federated tokens; Google's is one hour. */
  federatedTokenLifetime?: number;
  /** Epoch milliseconds. */
  now?: () => number;
  /** For the providers' discovery and JWKS; defaults to the global fetch. */
  fetch?: FetchLike;
  hangMs?: number;
}

export type FakeGcpMode = 'ok' | 'hang' | 'deny' | 'server_error' | 'malformed' | 'missing_field' | 'long_expiry';

export interface IssuedGcpToken {
  token: string;
  kind: 'federated' | 'service_account' | 'downscoped';
  /** Federated: the broker token's sub; service account: its email. */
  principal: string;
  scopes: string[];
  /** Epoch seconds. */
  expiresAt: number;
  accessBoundary?: unknown;
  /** Service account tokens: the federated subject behind them. */
  federatedSubject?: string;
}

export interface GcpCall {
  endpoint: 'sts' | 'iam';
  fields: Record<string, string>;
  /** IAM: the path's service account and the JSON body. */
  serviceAccount?: string;
  body?: unknown;
  claims?: JWTPayload;
  status: number;
  error?: string;
  issued?: IssuedGcpToken;
}

class GcpError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown) {
    super(JSON.stringify(body));
    this.status = status;
    this.body = body;
  }
}

const STATUS_CODES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  500: 'INTERNAL',
};

function oauthError(status: number, error: string, description: string): GcpError {
  return new GcpError(status, { error, error_description: description });
}

function apiError(status: number, message: string, reason?: string): GcpError {
  const status_ = STATUS_CODES[status] ?? 'UNKNOWN';
  return new GcpError(status, {
    error: {
      code: status,
      message,
      status: status_,
      ...(reason ? { details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: 'iam.googleapis.com' }] } : {}),
    },
  });
}

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });

/** The REST API's camelCase field names for STS, mapped to RFC 8693's. */
const CAMEL_FIELDS: Record<string, string> = {
  grantType: 'grant_type',
  requestedTokenType: 'requested_token_type',
  subjectToken: 'subject_token',
  subjectTokenType: 'subject_token_type',
  audience: 'audience',
  scope: 'scope',
  options: 'options',
};

export class FakeGcp {
  stsMode: FakeGcpMode = 'ok';
  iamMode: FakeGcpMode = 'ok';
  readonly calls: GcpCall[] = [];
  readonly tokens = new Map<string, IssuedGcpToken>();
  readonly verifier: TrustedIssuerVerifier;
  private readonly opts: FakeGcpOptions;

  constructor(opts: FakeGcpOptions) {
    this.opts = opts;
    this.verifier = new TrustedIssuerVerifier({ ...(opts.fetch ? { fetch: opts.fetch } : {}), ...(opts.now ? { now: opts.now } : {}) });
  }

  private nowS(): number {
    return Math.floor((this.opts.now?.() ?? Date.now()) / 1000);
  }

  readonly handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (req.method === 'POST' && url.pathname === '/v1/token') return this.sts(req);
    const m = /^\/v1\/projects\/-\/serviceAccounts\/([^/]+):generateAccessToken$/.exec(url.pathname);
    if (req.method === 'POST' && m) return this.iam(req, decodeURIComponent(m[1] as string));
    return json(404, { error: { code: 404, message: 'Not Found', status: 'NOT_FOUND' } });
  };

  private async sts(req: Request): Promise<Response> {
    const call: GcpCall = { endpoint: 'sts', fields: {}, status: 0 };
    this.calls.push(call);
    const text = await req.text();
    const type = req.headers.get('content-type') ?? '';
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    try {
      if (type.startsWith('application/json')) {
        const body = JSON.parse(text) as Record<string, unknown>;
        for (const [k, v] of Object.entries(body))
          if (typeof v === 'string' && Object.hasOwn(CAMEL_FIELDS, k)) fields[CAMEL_FIELDS[k] as string] = v;
      } else if (type.startsWith('application/x-www-form-urlencoded')) {
        for (const [k, v] of new URLSearchParams(text)) fields[k] = v;
      } else {
        throw oauthError(400, 'invalid_request', 'Unsupported content type.');
      }
    } catch (err) {
      if (err instanceof GcpError) return this.fail(call, err);
      return this.fail(call, oauthError(400, 'invalid_request', 'Invalid JSON payload received.'));
    }
    call.fields = { ...fields };
    const mode = this.stsMode;
    if (mode === 'hang') return hang(req, this.opts.hangMs ?? 30_000);
    if (mode === 'deny') return this.fail(call, oauthError(403, 'access_denied', 'The caller does not have permission.'));
    if (mode === 'server_error') return this.fail(call, apiError(500, 'Internal error encountered.'));
    try {
      if (fields.grant_type !== TOKEN_EXCHANGE_GRANT) throw oauthError(400, 'unsupported_grant_type', `Invalid value for "grant_type".`);
      if (fields.requested_token_type !== ACCESS_TOKEN_TYPE)
        throw oauthError(400, 'invalid_request', 'Invalid value for "requested_token_type".');
      const subject = fields.subject_token;
      if (!subject) throw oauthError(400, 'invalid_request', 'Missing required parameter: "subject_token".');
      const boundary = this.parseOptions(fields.options);
      const scopes = (fields.scope ?? '').split(' ').filter(Boolean);
      const now = this.nowS();
      let issued: IssuedGcpToken;
      let expiresIn: number | undefined;
      if (JWT_TYPES.has(fields.subject_token_type ?? '')) {
        const resource = (fields.audience ?? '').replace(/^\/\/iam\.googleapis\.com\//, '');
        const provider =
          fields.audience?.startsWith('//iam.googleapis.com/') && Object.hasOwn(this.opts.providers, resource)
            ? this.opts.providers[resource]
            : undefined;
        if (!provider) {
          throw oauthError(
            400,
            'invalid_target',
            'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.',
          );
        }
        const audiences = provider.allowedAudiences ?? [`https://iam.googleapis.com/${resource}`];
        const check = await this.verifier.verify(subject, { issuers: [provider.issuer], audiences });
        if (!check.ok) {
          const description =
            check.kind === 'audience'
              ? 'The audience in ID Token does not match the expected audience.'
              : check.kind === 'expired'
                ? 'ID Token has expired.'
                : check.kind === 'unknown_issuer'
                  ? 'The issuer in ID Token does not match the expected issuer.'
                  : check.kind === 'idp_unreachable'
                    ? 'Unable to fetch the JWKS of the identity provider.'
                    : `Invalid ID Token: ${check.message}`;
          throw oauthError(400, 'invalid_grant', description);
        }
        call.claims = check.claims;
        if (provider.attributeCondition && !provider.attributeCondition(check.claims)) {
          throw oauthError(400, 'unauthorized_client', 'The given credential is rejected by the attribute condition.');
        }
        expiresIn = mode === 'long_expiry' ? 43200 : (this.opts.federatedTokenLifetime ?? 3600);
        issued = {
          token: `ya29.d.fed-${randomChars(120, TOKEN_ALPHABET)}`,
          kind: 'federated',
          principal: String(check.claims.sub),
          scopes,
          expiresAt: now + expiresIn,
          ...(boundary !== undefined ? { accessBoundary: boundary } : {}),
        };
      } else if (fields.subject_token_type === ACCESS_TOKEN_TYPE) {
        const source = this.tokens.get(subject);
        if (!source || source.expiresAt <= now) throw oauthError(400, 'invalid_grant', 'The subject token is invalid or expired.');
        if (boundary === undefined)
          throw oauthError(400, 'invalid_request', 'An access boundary is required to downscope an access token.');
        issued = {
          token: `ya29.d.cab-${randomChars(120, TOKEN_ALPHABET)}`,
          kind: 'downscoped',
          principal: source.principal,
          scopes: source.scopes,
          expiresAt: source.expiresAt,
          accessBoundary: boundary,
        };
        // Google reports expires_in for a downscoped token only when the source is a service account's.
        if (source.kind === 'service_account') expiresIn = source.expiresAt - now;
      } else {
        throw oauthError(400, 'invalid_request', 'Invalid value for "subject_token_type".');
      }
      this.tokens.set(issued.token, issued);
      call.issued = issued;
      call.status = 200;
      const body: Record<string, unknown> = { access_token: issued.token, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer' };
      if (expiresIn !== undefined) body.expires_in = expiresIn;
      if (mode === 'missing_field') delete body.access_token;
      if (mode === 'malformed')
        return new Response(JSON.stringify(body).slice(0, 40), { status: 200, headers: { 'content-type': 'application/json' } });
      return json(200, body);
    } catch (err) {
      if (err instanceof GcpError) return this.fail(call, err);
      throw err;
    }
  }

  /** STS `options`: a JSON object with an optional credential access boundary, validated as Google does. */
  private parseOptions(text: string | undefined): unknown {
    if (text === undefined) return undefined;
    let options: unknown;
    try {
      options = JSON.parse(text);
    } catch {
      throw oauthError(400, 'invalid_request', 'The "options" parameter is not valid JSON.');
    }
    if (typeof options !== 'object' || options === null || Array.isArray(options))
      throw oauthError(400, 'invalid_request', 'Invalid "options".');
    const { accessBoundary, userProject, ...rest } = options as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw oauthError(400, 'invalid_request', `Unknown option: ${Object.keys(rest)[0]}`);
    void userProject;
    if (accessBoundary === undefined) return undefined;
    const rules = (accessBoundary as { accessBoundaryRules?: unknown })?.accessBoundaryRules;
    if (!Array.isArray(rules) || rules.length === 0 || rules.length > 10)
      throw oauthError(400, 'invalid_request', 'An access boundary needs 1 to 10 rules.');
    for (const rule of rules as Record<string, unknown>[]) {
      const { availableResource, availablePermissions, availabilityCondition, ...extra } = rule ?? {};
      if (Object.keys(extra).length > 0) throw oauthError(400, 'invalid_request', 'Unknown field in an access boundary rule.');
      if (typeof availableResource !== 'string' || !availableResource.startsWith('//'))
        throw oauthError(400, 'invalid_request', 'availableResource must be a full resource name.');
      if (
        !Array.isArray(availablePermissions) ||
        availablePermissions.length === 0 ||
        !availablePermissions.every((p) => typeof p === 'string' && p.startsWith('inRole:'))
      ) {
        throw oauthError(400, 'invalid_request', 'availablePermissions must be a list of inRole: entries.');
      }
      if (availabilityCondition !== undefined) {
        const c = availabilityCondition as Record<string, unknown>;
        if (typeof c !== 'object' || c === null || typeof c.expression !== 'string')
          throw oauthError(400, 'invalid_request', 'availabilityCondition needs an expression.');
      }
    }
    return accessBoundary;
  }

  private async iam(req: Request, serviceAccount: string): Promise<Response> {
    const call: GcpCall = { endpoint: 'iam', fields: {}, serviceAccount, status: 0 };
    this.calls.push(call);
    const text = await req.text();
    const mode = this.iamMode;
    if (mode === 'hang') return hang(req, this.opts.hangMs ?? 30_000);
    if (mode === 'deny')
      return this.fail(
        call,
        apiError(403, "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).", 'IAM_PERMISSION_DENIED'),
      );
    if (mode === 'server_error') return this.fail(call, apiError(500, 'Internal error encountered.'));
    try {
      const now = this.nowS();
      const bearer = /^Bearer (\S+)$/.exec(req.headers.get('authorization') ?? '')?.[1];
      const caller = bearer ? this.tokens.get(bearer) : undefined;
      if (!caller || caller.expiresAt <= now) {
        throw apiError(
          401,
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
          'ACCESS_TOKEN_TYPE_UNSUPPORTED',
        );
      }
      if (!caller.scopes.includes(CLOUD_PLATFORM))
        throw apiError(403, 'Request had insufficient authentication scopes.', 'ACCESS_TOKEN_SCOPE_INSUFFICIENT');
      const account =
        this.opts.serviceAccounts && Object.hasOwn(this.opts.serviceAccounts, serviceAccount)
          ? this.opts.serviceAccounts[serviceAccount]
          : undefined;
      const admitted =
        caller.kind === 'federated' &&
        account &&
        (account.allowedSubjects === undefined || account.allowedSubjects.includes(caller.principal));
      if (!account || !admitted)
        throw apiError(
          403,
          "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
          'IAM_PERMISSION_DENIED',
        );
      let body: { scope?: unknown; lifetime?: unknown; delegates?: unknown };
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        throw apiError(400, 'Invalid JSON payload received.');
      }
      call.body = body;
      if (!Array.isArray(body.scope) || body.scope.length === 0 || !body.scope.every((s) => typeof s === 'string'))
        throw apiError(400, 'Scope required.');
      let lifetime = 3600;
      if (body.lifetime !== undefined) {
        const m = typeof body.lifetime === 'string' ? /^(\d+)(?:\.\d{1,9})?s$/.exec(body.lifetime) : null;
        if (!m) throw apiError(400, "Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration)");
        lifetime = Number(m[1]);
      }
      const max = account.maxLifetime ?? 3600;
      if (lifetime <= 0 || lifetime > max) throw apiError(400, `The lifetime must be between 1s and ${max}s.`);
      const expiresAt = now + (mode === 'long_expiry' ? 43200 : lifetime);
      const issued: IssuedGcpToken = {
        token: `ya29.c.sa-${randomChars(160, TOKEN_ALPHABET)}`,
        kind: 'service_account',
        principal: serviceAccount,
        scopes: body.scope as string[],
        expiresAt,
        federatedSubject: caller.principal,
      };
      this.tokens.set(issued.token, issued);
      call.issued = issued;
      call.status = 200;
      const out: Record<string, unknown> = {
        accessToken: issued.token,
        expireTime: new Date(expiresAt * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      };
      if (mode === 'missing_field') delete out.expireTime;
      if (mode === 'malformed')
        return new Response(`{"accessToken": "${issued.token.slice(0, 20)}`, {
          status: 200,
          headers: { 'content-type': 'application/json' },
        });
      return json(200, out);
    } catch (err) {
      if (err instanceof GcpError) return this.fail(call, err);
      throw err;
    }
  }

  private fail(call: GcpCall, err: GcpError): Response {
    call.status = err.status;
    const body = err.body as { error?: unknown };
    call.error = typeof body.error === 'string' ? body.error : ((body.error as { status?: string } | undefined)?.status ?? 'UNKNOWN');
    return json(err.status, err.body);
  }
}
