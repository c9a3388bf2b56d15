// The request pipeline every audited route shares (exchange, revoke, the admin query): one audit record per
// request, written before the answer; the per-client limit; the strict body; ID token verification with the
// per-identity limit and the one-time jti claim. The routes themselves say what a request does, not how it
// is checked and recorded.
import type { Auditor } from './audit/auditor.ts';
import type { Reason } from './audit/reasons.ts';
import { type AuditRecord, identityOf } from './audit/record.ts';
import { BrokerError, ERROR_STATUS, type ErrorCode } from './errors.ts';
import { type BrokerMetrics, roleLabel, type StageTimes } from './metrics.ts';
import type { JwksRegistry } from './oidc/jwks.ts';
import { CLOCK_TOLERANCE_S, type VerifiedToken, verifyIdToken } from './oidc/verify.ts';
import type { CompiledPolicy } from './policy/compile.ts';
import type { RateLimiter } from './ratelimit.ts';
import type { ReplayGuard } from './store/ports.ts';
import { type Sha256Hex, webSha256Hex } from './util/digest.ts';

export const MAX_BODY_BYTES = 16 * 1024;
/** A used jti is remembered this long past the token's exp (beyond the clock tolerance). */
export const REPLAY_LEEWAY_S = CLOCK_TOLERANCE_S + 60;

export interface PipelineDeps {
  policy: () => CompiledPolicy;
  jwks: JwksRegistry;
  replay: ReplayGuard;
  auditor: Auditor;
  /** Optional per-client and per-identity limits (BROKER_RATE_LIMITS). */
  rateLimiter?: RateLimiter;
  /** Epoch milliseconds. */
  now: () => number;
  /** Counts and times exchanges (Node: GET /metrics). */
  metrics?: BrokerMetrics;
  /** The token hash (util/digest.ts); WebCrypto's by default. */
  sha256Hex?: Sha256Hex;
}

/** What the caller was answered, with the record behind it (for the request log line and the metrics). */
export interface Answered {
  record: AuditRecord;
  decision: AuditRecord['decision'];
  code: ErrorCode | 'OK';
}

export interface RequestMeta {
  requestId: string;
  clientIp: string | null;
  userAgent: string | null;
  /** Told once the request is answered (the request log line). */
  observe?: (answered: Answered) => void;
}

export interface RequestInput {
  /** The raw body text (already size-capped by the caller) or undefined when it was too large. */
  body: string | undefined;
  authorization: string | null;
}

/** Builds the record as a request proceeds, so that a refusal at any step is audited with what is known. */
export class Draft {
  readonly record: AuditRecord;
  /** Set by a route whose success has more than one meaning for the audit (what the caller sees is one). */
  outcome: { reason: Reason; decision: AuditRecord['decision'] } | undefined;
  /** Where the request's time went (seconds, by stage), for the metrics and `npm run bench`. */
  readonly stages: StageTimes = {};

  constructor(meta: RequestMeta, nowMs: number, policyHash: string, action: AuditRecord['action']) {
    this.record = {
      time: new Date(nowMs).toISOString(),
      request_id: meta.requestId,
      action,
      decision: 'deny',
      code: 'ERR_INTERNAL',
      reason: 'unfinished' satisfies Reason,
      status: 500,
      role: null,
      issuer: null,
      subject: null,
      identity: {},
      jti: null,
      token_sha256: null,
      client_ip: meta.clientIp,
      user_agent: meta.userAgent ? meta.userAgent.slice(0, 256) : null,
      credentials: [],
      policy_hash: policyHash,
    };
  }

  finish(code: ErrorCode | 'OK', reason: Reason): AuditRecord {
    this.record.code = code;
    this.record.reason = reason;
    this.record.status = code === 'OK' ? 200 : ERROR_STATUS[code];
    this.record.decision = code === 'OK' ? 'allow' : code === 'ERR_INTERNAL' || code === 'ERR_UNAVAILABLE' ? 'error' : 'deny';
    return this.record;
  }
}

/**
 * Runs `body` and writes exactly one audit record for it, allow or refusal, before anything is returned.
 * A record that cannot be written turns the outcome into 503: nothing leaves unaudited.
 */
export async function audited<T>(
  deps: Pick<PipelineDeps, 'auditor' | 'now' | 'policy' | 'metrics'>,
  meta: RequestMeta,
  action: AuditRecord['action'],
  body: (draft: Draft, policy: CompiledPolicy, nowMs: number) => Promise<T>,
  onUnaudited?: (result: T) => Promise<void>,
): Promise<T> {
  const started = performance.now();
  const nowMs = deps.now();
  // Read once: a policy reload while this request runs does not change the set it is decided on.
  const policy = deps.policy();
  const draft = new Draft(meta, nowMs, policy.hash, action);
  const answered = (code: ErrorCode | 'OK', decision: AuditRecord['decision']) => {
    meta.observe?.({ record: draft.record, decision, code });
    if (action === 'exchange')
      deps.metrics?.exchange(
        { decision, code, role: roleLabel(draft.record.role, policy) },
        (performance.now() - started) / 1000,
        draft.stages,
      );
  };
  try {
    const result = await recorded(deps, draft, action, () => body(draft, policy, nowMs), onUnaudited);
    answered('OK', draft.record.decision);
    return result;
  } catch (err) {
    const code = err instanceof BrokerError ? err.code : 'ERR_INTERNAL';
    answered(code, code === 'ERR_INTERNAL' || code === 'ERR_UNAVAILABLE' ? 'error' : 'deny');
    throw err;
  }
}

async function recorded<T>(
  deps: Pick<PipelineDeps, 'auditor'>,
  draft: Draft,
  action: AuditRecord['action'],
  run: () => Promise<T>,
  onUnaudited?: (result: T) => Promise<void>,
): Promise<T> {
  let result: T;
  try {
    result = await run();
  } catch (err) {
    const e = err instanceof BrokerError ? err : new BrokerError('ERR_INTERNAL', 'bug', { cause: err });
    await deps.auditor.append(draft.finish(e.code, e.detail), draft.stages);
    throw e;
  }
  try {
    const record = draft.finish('OK', draft.outcome?.reason ?? (action === 'exchange' ? 'allowed' : 'done'));
    if (draft.outcome) record.decision = draft.outcome.decision;
    await deps.auditor.append(record, draft.stages);
  } catch (err) {
    // Fail closed, and take back what can be taken back.
    await onUnaudited?.(result).catch(() => {});
    throw err;
  }
  return result;
}

/** The per-client limit, checked before anything of the request is parsed. */
export async function limitClient(deps: Pick<PipelineDeps, 'rateLimiter'>, meta: RequestMeta, nowMs: number): Promise<void> {
  if (deps.rateLimiter && !(await deps.rateLimiter.allow('client', meta.clientIp ?? 'unknown', Math.floor(nowMs / 1000)))) {
    throw new BrokerError('ERR_RATE_LIMITED', 'rate_limit.client');
  }
}

/** Verify the ID token and claim its jti, filling in the record (steps 2-4 of exchange and revoke). */
export async function authenticate(
  deps: Pick<PipelineDeps, 'jwks' | 'replay' | 'rateLimiter' | 'sha256Hex'>,
  policy: CompiledPolicy,
  token: unknown,
  draft: Draft,
  nowMs: number,
): Promise<VerifiedToken> {
  if (typeof token !== 'string') throw new BrokerError('ERR_REQUEST_INVALID', 'request.token_missing');
  const verifying = performance.now();
  const tokenSha256 = await (deps.sha256Hex ?? webSha256Hex)(token);
  draft.record.token_sha256 = tokenSha256;
  const verified = await verifyIdToken(token, policy, deps.jwks, nowMs);
  draft.stages.verify = (performance.now() - verifying) / 1000;
  if (!verified.ok) {
    draft.record.issuer = verified.issuer ?? null;
    throw new BrokerError(verified.code, verified.detail);
  }
  const { claims, issuer } = verified.token;
  draft.record.issuer = issuer.name;
  draft.record.subject = claims.sub;
  draft.record.jti = claims.jti;
  draft.record.identity = identityOf(claims);

  // Before the jti is claimed, so that a limited request can be retried with the same token.
  if (deps.rateLimiter && !(await deps.rateLimiter.allow('subject', `${issuer.name}\u0000${claims.sub}`, Math.floor(nowMs / 1000)))) {
    throw new BrokerError('ERR_RATE_LIMITED', 'rate_limit.subject');
  }

  // Replay: one atomic claim per (issuer, jti), kept until exp plus leeway. An issuer with `replay: reuse`
  // lets the token that first claimed the jti (by its hash) claim it again, and each use is counted; the
  // token's age and lifetime were bounded by verification above either way.
  const key = `${issuer.name}\u0000${claims.jti}`;
  const expiresAt = claims.exp + REPLAY_LEEWAY_S;
  const nowS = Math.floor(nowMs / 1000);
  let accepted: boolean;
  const claiming = performance.now();
  try {
    if (issuer.replay === 'reuse') {
      const uses = await deps.replay.claimReuse(key, tokenSha256, expiresAt, nowS);
      accepted = uses > 0;
      if (accepted) draft.record.token_uses = uses;
    } else {
      accepted = await deps.replay.claim(key, expiresAt, nowS);
    }
  } catch (err) {
    throw new BrokerError('ERR_UNAVAILABLE', 'replay.store_failed', { cause: err });
  }
  draft.stages.replay = (performance.now() - claiming) / 1000;
  if (!accepted) throw new BrokerError('ERR_TOKEN_REPLAYED', 'token.replayed');
  return verified.token;
}

/**
 * A JSON object body with only the named fields; the token may come as `Authorization: Bearer` instead
 * (never both). Anything else in the body is refused: nothing in the request can widen a grant.
 */
export function parseRequest<K extends string>(input: RequestInput, allowed: readonly K[]): Record<K, unknown> & { token: unknown } {
  if (input.body === undefined) throw new BrokerError('ERR_PAYLOAD_TOO_LARGE', 'request.body_too_large');
  let body: unknown;
  try {
    body = JSON.parse(input.body);
  } catch {
    throw new BrokerError('ERR_REQUEST_INVALID', 'request.body_not_json');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BrokerError('ERR_REQUEST_INVALID', 'request.body_not_object');
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!(allowed as readonly string[]).includes(key)) throw new BrokerError('ERR_REQUEST_INVALID', 'request.unknown_field');
  }
  const bearer = parseBearer(input.authorization);
  if (bearer === null) throw new BrokerError('ERR_REQUEST_INVALID', 'request.authorization_malformed');
  const fromBody = fields.token;
  if (fromBody !== undefined && typeof fromBody !== 'string') throw new BrokerError('ERR_REQUEST_INVALID', 'request.token_type');
  if (fromBody !== undefined && bearer !== undefined) throw new BrokerError('ERR_REQUEST_INVALID', 'request.token_twice');
  const token = fromBody ?? bearer;
  if (token === undefined) throw new BrokerError('ERR_REQUEST_INVALID', 'request.token_missing');
  return { ...(fields as Record<K, unknown>), token };
}

/** undefined: no Authorization header; null: present but not a Bearer token. */
function parseBearer(header: string | null): string | undefined | null {
  if (header === null) return undefined;
  const m = /^Bearer ([^\s]+)$/.exec(header);
  return m ? m[1]! : null;
}
