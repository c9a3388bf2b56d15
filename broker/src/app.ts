// createApp(deps) -> the Hono app, identical on workerd and Node. Routes are thin: read the request,
// call the exchange, write the response. One onError turns every failure into the wire format.
import { Hono, type Context } from 'hono';
import { checkpointAudit, exportAudit, listKeys, listSecrets, putSecret, rotateKeys, sealKey } from './admin/manage.ts';
import { adminPage, adminQuery, adminSummary, type AdminDeps } from './admin/routes.ts';
import { BrokerError, errorBody } from './errors.ts';
import type { BrokerIssuer } from './issuer/issuer.ts';
import { exchange, type ExchangeDeps } from './exchange.ts';
import { type Answered, MAX_BODY_BYTES, type RequestInput, type RequestMeta } from './pipeline.ts';
import type { Readiness } from './readiness.ts';
import { revoke } from './revoke.ts';
import { newRequestId } from './util/ids.ts';
import { sha256Hex, timingSafeEqual } from './util/encoding.ts';
import { readCapped } from './util/http.ts';

export interface AppDeps extends ExchangeDeps {
  version: string;
  /** The caller's address as the platform reports it (socket address on Node, CF-Connecting-IP on Workers). */
  clientIp: (req: Request, env: unknown) => string | null;
  log?: (line: Record<string, unknown>) => void;
  /** The broker's own OIDC issuer (discovery and JWKS for the clouds that trust it). */
  issuer?: BrokerIssuer;
  /** Audit review (GET /v1/audit, /admin/). Absent when no admin credential is configured: those routes are 404. */
  admin?: AdminDeps;
  /** GET /readyz: whether the broker can serve (readiness.ts). Absent: /readyz answers like /healthz. */
  readiness?: () => Promise<Readiness>;
  /** BROKER_METRICS_TOKEN: when set, GET /metrics wants it as a bearer token. */
  metricsToken?: string | undefined;
}

type Env = { Variables: { requestId: string; answered: Answered | undefined; errorCode: string | undefined } };

/** The request line's path: what was asked for, capped (it is the caller's text). */
const MAX_LOGGED_PATH = 200;

export function createApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>();

  // A request id of our own on every response (never taken from the caller), and nothing cacheable.
  // One log line per request, allowed ones too: what was decided, never a token or a value.
  app.use('*', async (c, next) => {
    const started = performance.now();
    const id = newRequestId(deps.now());
    c.set('requestId', id);
    await next();
    c.res.headers.set('X-Request-Id', id);
    c.res.headers.set('Cache-Control', 'no-store');
    c.res.headers.set('X-Content-Type-Options', 'nosniff');
    const answered = c.get('answered');
    const status = c.res.status;
    deps.log?.({
      level: status >= 500 ? 'warn' : 'info',
      event: 'request',
      request_id: id,
      method: c.req.method,
      path: c.req.path.slice(0, MAX_LOGGED_PATH),
      status,
      decision: answered?.decision ?? null,
      code: answered?.code ?? c.get('errorCode') ?? (status < 400 ? 'OK' : null),
      role: answered?.record.role ?? null,
      issuer: answered?.record.issuer ?? null,
      duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
    });
  });

  app.get('/healthz', (c) => c.json({ status: 'ok', policy_hash: deps.policy().hash, version: deps.version }));

  // Readiness: 200 only when the KEK, the signing keys, the stores, the policy set and the audit
  // checkpoints are all in order; else 503 naming the failing checks (the reasons go to the log).
  app.get('/readyz', async (c) => {
    if (!deps.readiness) return c.json({ status: 'ready', policy_hash: deps.policy().hash, version: deps.version });
    const r = await deps.readiness();
    return c.json(
      {
        status: r.ready ? 'ready' : 'not_ready',
        checks: r.checks,
        failing: r.failing,
        details: r.details,
        policy_hash: deps.policy().hash,
        version: deps.version,
      },
      r.ready ? 200 : 503,
    );
  });

  // Prometheus text; behind BROKER_METRICS_TOKEN when set (compared as digests, in constant time).
  const metricsToken = deps.metricsToken ? sha256Hex(deps.metricsToken) : undefined;
  app.get('/metrics', async (c) => {
    if (!deps.metrics) throw new BrokerError('ERR_NOT_FOUND', 'metrics.not_configured');
    if (metricsToken) {
      const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(c.req.header('authorization') ?? '');
      if (!m || !timingSafeEqual(await metricsToken, await sha256Hex(m[1]!))) {
        c.header('WWW-Authenticate', 'Bearer realm="secret-broker metrics"');
        throw new BrokerError('ERR_TOKEN_INVALID', 'metrics.token_wrong');
      }
    }
    const { contentType, body } = await deps.metrics.render();
    return c.body(body, 200, { 'content-type': contentType });
  });

  // The broker as an OIDC issuer. Public by design: clouds fetch these to verify broker tokens.
  app.get('/.well-known/openid-configuration', (c) => {
    if (!deps.issuer) throw new BrokerError('ERR_NOT_FOUND', 'issuer.not_configured');
    return c.json(deps.issuer.discovery());
  });
  app.get('/.well-known/jwks.json', async (c) => {
    if (!deps.issuer) throw new BrokerError('ERR_NOT_FOUND', 'issuer.not_configured');
    try {
      return c.json(await deps.issuer.jwks());
    } catch (err) {
      throw new BrokerError('ERR_UNAVAILABLE', 'issuer.jwks_failed', { cause: err });
    }
  });

  const requestMeta = (c: Context<Env>): RequestMeta => ({
    requestId: c.get('requestId'),
    clientIp: deps.clientIp(c.req.raw, c.env),
    userAgent: c.req.header('user-agent') ?? null,
    observe: (answered) => c.set('answered', answered),
  });

  // The body cap holds however the body is sent. A declared length frames the body (the server reads no more
  // than it), so within the cap it is read whole, and checked again; without one (chunked) the stream is
  // counted. Reading whole also spares @hono/node-server a full Request with an abort signal per exchange,
  // whose cleanup lagged behind under load (the bench saw the heap grow ~40 MiB per 100,000 exchanges).
  const readInput = async (c: Context<Env>): Promise<[RequestInput, RequestMeta]> => {
    const header = c.req.header('content-length');
    const declared = header === undefined ? Number.NaN : Number(header);
    let body: string | undefined;
    try {
      if (!Number.isSafeInteger(declared)) body = await readCapped(c.req.raw, MAX_BODY_BYTES);
      else if (declared <= MAX_BODY_BYTES) body = await c.req.raw.text();
    } catch (err) {
      // The client went away mid-body, or the server's request deadline cut it off (slow bodies): nothing
      // was asked, so nothing is decided or audited, and it is not an internal error.
      throw new BrokerError('ERR_REQUEST_INVALID', 'request.body_incomplete', { cause: err });
    }
    if (body !== undefined && body.length > MAX_BODY_BYTES) body = undefined;
    return [{ body, authorization: c.req.header('authorization') ?? null }, requestMeta(c)];
  };

  app.post('/v1/exchange', async (c) => c.json(await exchange(deps, ...(await readInput(c)))));
  app.post('/v1/revoke', async (c) => c.json(await revoke(deps, ...(await readInput(c)))));

  // Audit review for admins; each query is audited. Without an admin credential these routes do not exist.
  app.get('/v1/audit', async (c) => {
    try {
      return c.json(await adminQuery(deps, c.req.raw, requestMeta(c)));
    } catch (err) {
      if (err instanceof BrokerError && err.status === 401) c.header('WWW-Authenticate', 'Bearer realm="secret-broker admin"');
      throw err;
    }
  });
  app.get('/v1/audit/summary', async (c) => {
    try {
      return c.json(await adminSummary(deps, c.req.raw, requestMeta(c)));
    } catch (err) {
      if (err instanceof BrokerError && err.status === 401) c.header('WWW-Authenticate', 'Bearer realm="secret-broker admin"');
      throw err;
    }
  });
  // Remote administration (admin/manage.ts): the same admin credential, every call audited.
  const admin = async <T>(c: Context<Env>, run: (req: Request, meta: RequestMeta) => Promise<T>): Promise<T> => {
    try {
      return await run(c.req.raw, requestMeta(c));
    } catch (err) {
      if (err instanceof BrokerError && err.status === 401 && err.code === 'ERR_TOKEN_INVALID')
        c.header('WWW-Authenticate', 'Bearer realm="secret-broker admin"');
      throw err;
    }
  };
  const manage = () => deps.admin?.manage;
  app.get('/v1/admin/seal-key', async (c) => c.json(await admin(c, (r, m) => sealKey(deps, manage(), r, m))));
  app.get('/v1/admin/secrets', async (c) => c.json(await admin(c, (r, m) => listSecrets(deps, manage(), r, m))));
  app.put('/v1/admin/secrets/:name', async (c) =>
    c.json(await admin(c, (r, m) => putSecret(deps, manage(), r, m, c.req.param('name'), false))),
  );
  app.post('/v1/admin/secrets/:name/rotate', async (c) =>
    c.json(await admin(c, (r, m) => putSecret(deps, manage(), r, m, c.req.param('name'), true))),
  );
  app.get('/v1/admin/keys', async (c) => c.json(await admin(c, (r, m) => listKeys(deps, manage(), r, m))));
  app.post('/v1/admin/keys/rotate', async (c) => c.json(await admin(c, (r, m) => rotateKeys(deps, manage(), r, m))));
  app.get('/v1/admin/audit/export', async (c) =>
    c.body(await admin(c, (r, m) => exportAudit(deps, manage(), r, m)), 200, { 'content-type': 'application/x-ndjson' }),
  );
  app.post('/v1/admin/audit/checkpoint', async (c) => c.json(await admin(c, (r, m) => checkpointAudit(deps, manage(), r, m))));
  app.get('/admin', (c) => (deps.admin ? c.redirect('/admin/', 308) : c.notFound()));
  app.get('/admin/', () => adminPage(deps));

  app.notFound((c) => c.json(errorBody('ERR_NOT_FOUND', c.get('requestId')), 404));

  app.onError((err, c) => {
    const e = err instanceof BrokerError ? err : new BrokerError('ERR_INTERNAL', 'unhandled', { cause: err });
    const requestId = c.get('requestId') ?? newRequestId(deps.now());
    c.set('errorCode', e.code);
    deps.log?.({
      level: e.code === 'ERR_INTERNAL' ? 'error' : 'info',
      request_id: requestId,
      code: e.code,
      detail: e.detail,
      ...(e.code === 'ERR_INTERNAL' || e.code === 'ERR_UNAVAILABLE' ? { cause: String((e.cause as Error)?.stack ?? e.cause ?? '') } : {}),
    });
    return c.json(errorBody(e.code, requestId), e.status as 400);
  });

  return app;
}
