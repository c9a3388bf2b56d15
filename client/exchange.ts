// Calling the broker from a pipeline: one POST with a deadline, retried only when retrying can help
// (network errors, 429, 5xx) with jittered exponential backoff. Web-standard and pure: the HTTP transport,
// the token source, the clock and the randomness are passed in (the action uses @actions/http-client for
// its proxy support, the CLI uses fetch).
import { parseExchangeResponse, type ExchangeResponse } from './credentials.ts';

export interface TransportResponse {
  status: number;
  header(name: string): string | null;
  text(): Promise<string>;
}

/** Sends one JSON POST; rejects on network errors and when `timeoutMs` passes. Must not follow redirects. */
export type Transport = (url: string, body: string, timeoutMs: number) => Promise<TransportResponse>;

export interface CallOptions {
  brokerUrl: string;
  /**
   * Called before every attempt. An ID token is single use (the broker remembers its jti), so a retry
   * after a failure that reached the broker needs a fresh one wherever the platform can issue it.
   */
  getToken: () => Promise<string>;
  transport: Transport;
  /** The deadline for the whole call, retries and waits included. */
  timeoutMs: number;
  /** Retries after the first attempt. */
  retries: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  /** Told about each retry, for a log line (no values are passed). */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

/** A failed call, described with what is safe to print: never a body, never a token. */
export interface CallFailure {
  ok: false;
  /** refused: the broker said no (4xx); unavailable: unreachable or kept failing; invalid: not a broker answer; token: no ID token. */
  kind: 'refused' | 'unavailable' | 'invalid' | 'token';
  status?: number;
  /** The broker's ERR_* code, only when it looks like one. */
  code?: string;
  requestId?: string;
  /** A short, value-free reason: a network error code, "timeout", or which field of the answer is wrong. */
  reason?: string;
  attempts: number;
}

export type ExchangeResult = { ok: true; response: ExchangeResponse; body: unknown } | CallFailure;
/** `revoked`: the credential types the broker reports as revoked (empty when nothing was revocable). */
export type RevokeResult = { ok: true; status: number; revoked: string[] } | CallFailure;

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;
/** A broker answer bigger than this is not a credential response; reading it all would only cost memory. */
const MAX_RESPONSE_CHARS = 1024 * 1024;
const CODE = /^ERR_[A-Z_]{1,40}$/;
const REQUEST_ID = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * `POST /v1/exchange`: trade an ID token for the role's credentials, or for the subset `grants` names (grant
 * types or env names; the broker refuses an entry that selects nothing). Without `grants`, every grant.
 */
export async function exchangeToken(role: string, options: CallOptions & { grants?: readonly string[] }): Promise<ExchangeResult> {
  const grants = options.grants?.length ? { grants: [...options.grants] } : {};
  const result = await callBroker('v1/exchange', (token) => ({ token, role, ...grants }), options);
  if (!result.ok) return result;
  const parsed = parseExchangeResponse(result.body);
  if (!parsed.ok)
    return {
      ok: false,
      kind: 'invalid',
      status: result.status,
      reason: parsed.reason,
      attempts: result.attempts,
      ...requestIdOf(result.body, result.headerRequestId),
    };
  return { ok: true, response: parsed.response, body: result.body };
}

/** `POST /v1/revoke`: revoke what can be revoked of an earlier exchange, proven by a fresh ID token. */
export async function revokeRequest(requestId: string, options: CallOptions): Promise<RevokeResult> {
  const result = await callBroker('v1/revoke', (token) => ({ token, request_id: requestId }), options);
  if (!result.ok) return result;
  // {"revoked": [{"type": "github", "ok": true}]}; anything else counts as nothing reported.
  const list = (result.body as { revoked?: unknown } | null)?.revoked;
  const revoked = Array.isArray(list)
    ? list.flatMap((r: unknown) => {
        const { type, ok } = (r ?? {}) as { type?: unknown; ok?: unknown };
        return typeof type === 'string' && /^[a-z0-9_-]{1,32}$/.test(type) && ok === true ? [type] : [];
      })
    : [];
  return { ok: true, status: result.status, revoked };
}

/** The broker's endpoint for `path`, under whatever path prefix the broker URL carries. */
export function brokerEndpoint(brokerUrl: string, path: string): string {
  const base = new URL(brokerUrl);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return new URL(path, base).toString();
}

type Success = { ok: true; status: number; body: unknown; attempts: number; headerRequestId: string | null };

async function callBroker(path: string, makeBody: (token: string) => unknown, o: CallOptions): Promise<Success | CallFailure> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = o.random ?? Math.random;
  const now = o.now ?? Date.now;
  const url = brokerEndpoint(o.brokerUrl, path);
  const deadline = now() + o.timeoutMs;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    let token: string;
    try {
      token = await o.getToken();
    } catch (err) {
      return { ok: false, kind: 'token', reason: (err as Error).message, attempts };
    }
    const outcome = await attempt(o.transport, url, JSON.stringify(makeBody(token)), Math.max(1, deadline - now()));
    if (outcome.ok) return { ...outcome, attempts };
    const failure: CallFailure = { ...outcome.failure, attempts };
    if (!outcome.retryable || attempts > o.retries) return failure;
    const delay = backoff(attempts, random, outcome.retryAfterMs);
    if (now() + delay >= deadline) return { ...failure, reason: failure.reason ?? 'deadline' };
    o.onRetry?.({ attempt: attempts, delayMs: delay, reason: failure.code ?? failure.reason ?? `HTTP ${failure.status}` });
    await sleep(delay);
  }
}

type Attempt =
  | { ok: true; status: number; body: unknown; headerRequestId: string | null }
  | { ok: false; retryable: boolean; retryAfterMs?: number; failure: Omit<CallFailure, 'attempts'> };

async function attempt(transport: Transport, url: string, body: string, timeoutMs: number): Promise<Attempt> {
  let res: TransportResponse;
  let text: string;
  try {
    res = await transport(url, body, timeoutMs);
    text = await res.text();
  } catch (err) {
    return { ok: false, retryable: true, failure: { ok: false, kind: 'unavailable', reason: networkReason(err) } };
  }
  const headerRequestId = res.header('x-request-id');
  let json: unknown;
  try {
    json = text.length > MAX_RESPONSE_CHARS ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.status >= 200 && res.status < 300) {
    if (json === undefined)
      return {
        ok: false,
        retryable: false,
        failure: {
          ok: false,
          kind: 'invalid',
          status: res.status,
          reason: 'the answer is not JSON',
          ...requestIdOf(undefined, headerRequestId),
        },
      };
    return { ok: true, status: res.status, body: json, headerRequestId };
  }
  const code = (json as { error?: unknown } | undefined)?.error;
  const failure: Omit<CallFailure, 'attempts'> = {
    ok: false,
    kind: res.status === 429 || res.status >= 500 ? 'unavailable' : res.status >= 300 && res.status < 400 ? 'invalid' : 'refused',
    status: res.status,
    ...(typeof code === 'string' && CODE.test(code) ? { code } : {}),
    ...requestIdOf(json, headerRequestId),
  };
  if (res.status >= 300 && res.status < 400) failure.reason = 'redirects are not followed';
  const retryable = res.status === 429 || res.status >= 500;
  const retryAfter = Number(res.header('retry-after'));
  return { ok: false, retryable, failure, ...(retryable && retryAfter > 0 ? { retryAfterMs: Math.min(retryAfter, 30) * 1000 } : {}) };
}

/** Exponential backoff with "equal jitter": half fixed, half random, so concurrent jobs spread out but never retry at once. */
export function backoff(attempt: number, random: () => number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const cap = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  return Math.round(cap / 2 + random() * (cap / 2));
}

function requestIdOf(json: unknown, header: string | null): { requestId?: string } {
  const fromBody = (json as { request_id?: unknown } | undefined)?.request_id;
  const id =
    typeof fromBody === 'string' && REQUEST_ID.test(fromBody) ? fromBody : header !== null && REQUEST_ID.test(header) ? header : undefined;
  return id === undefined ? {} : { requestId: id };
}

/** A network error as a code ("ECONNREFUSED", "timeout"), not its message, which may quote anything. */
function networkReason(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } } | null;
  const code = e?.code ?? e?.cause?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{2,60}$/.test(code)) return code;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  return 'network error';
}
