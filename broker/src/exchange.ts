// The exchange, top to bottom: parse, verify, replay, policy, mint, audit, respond. Every request leaves
// exactly one audit record, written before the response; a deny never calls an upstream or mints anything.
import type { Auditor } from './audit/auditor.ts';
import type { AuditRecord, CredentialSummary } from './audit/record.ts';
import { identityOf } from './audit/record.ts';
import { BrokerError, ERROR_STATUS, type ErrorCode } from './errors.ts';
import type { Credential, Minters, MintResult } from './mint/types.ts';
import type { JwksRegistry } from './oidc/jwks.ts';
import { CLOCK_TOLERANCE_S, verifyIdToken, type VerifiedToken } from './oidc/verify.ts';
import type { CompiledPolicy, CompiledRole } from './policy/compile.ts';
import { decide } from './policy/match.ts';
import { ROLE_NAME, type Grant } from './policy/schema.ts';
import { parseGrantSelectors, selectGrants } from './policy/select-grants.ts';
import type { RateLimiter } from './ratelimit.ts';
import type { ReplayGuard } from './store/ports.ts';
import { revocationOwner, type RevocationItem, type RevocationVault } from './store/revocations.ts';
import { isoSeconds } from './util/duration.ts';
import { sha256Hex } from './util/encoding.ts';

export const MAX_BODY_BYTES = 16 * 1024;
/** A used jti is remembered this long past the token's exp (beyond the clock tolerance). */
export const REPLAY_LEEWAY_S = CLOCK_TOLERANCE_S + 60;

export interface ExchangeDeps {
  policy: () => CompiledPolicy;
  jwks: JwksRegistry;
  replay: ReplayGuard;
  auditor: Auditor;
  minters: Minters;
  /** Where revocable credentials (GitHub tokens) are kept, sealed, for the post step. */
  revocations?: RevocationVault;
  /** Optional per-client and per-identity limits (BROKER_RATE_LIMITS). */
  rateLimiter?: RateLimiter;
  /** Epoch milliseconds. */
  now: () => number;
  log?: (line: Record<string, unknown>) => void;
}

export interface RequestMeta {
  requestId: string;
  clientIp: string | null;
  userAgent: string | null;
}

export interface ExchangeInput {
  /** The raw body text (already size-capped by the caller) or undefined when it was too large. */
  body: string | undefined;
  authorization: string | null;
}

export interface ExchangeResponse {
  request_id: string;
  role: string;
  expires_at: string;
  credentials: Credential[];
}

/** Builds the record as a request proceeds, so that a refusal at any step is audited with what is known. */
export class Draft {
  readonly record: AuditRecord;
  /** Set by a route whose success has more than one meaning for the audit (what the caller sees is one). */
  outcome: { reason: string; decision: AuditRecord['decision'] } | undefined;

  constructor(meta: RequestMeta, nowMs: number, policyHash: string, action: AuditRecord['action']) {
    this.record = {
      time: new Date(nowMs).toISOString(),
      request_id: meta.requestId,
      action,
      decision: 'deny',
      code: 'ERR_INTERNAL',
      reason: 'unfinished',
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

  finish(code: ErrorCode | 'OK', reason: string): AuditRecord {
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
  deps: Pick<ExchangeDeps, 'auditor' | 'now' | 'policy'>,
  meta: RequestMeta,
  action: AuditRecord['action'],
  body: (draft: Draft, policy: CompiledPolicy, nowMs: number) => Promise<T>,
  onUnaudited?: (result: T) => Promise<void>,
): Promise<T> {
  const nowMs = deps.now();
  const policy = deps.policy();
  const draft = new Draft(meta, nowMs, policy.hash, action);
  let result: T;
  try {
    result = await body(draft, policy, nowMs);
  } catch (err) {
    const e = err instanceof BrokerError ? err : new BrokerError('ERR_INTERNAL', 'bug', { cause: err });
    await deps.auditor.append(draft.finish(e.code, e.detail));
    throw e;
  }
  try {
    const record = draft.finish('OK', draft.outcome?.reason ?? (action === 'exchange' ? 'allowed' : 'done'));
    if (draft.outcome) record.decision = draft.outcome.decision;
    await deps.auditor.append(record);
  } catch (err) {
    // Fail closed, and take back what can be taken back.
    await onUnaudited?.(result).catch(() => {});
    throw err;
  }
  return result;
}

export function exchange(deps: ExchangeDeps, input: ExchangeInput, meta: RequestMeta): Promise<ExchangeResponse> {
  let minted: { credentials: Credential[]; revocations: RevocationItem[] } | undefined;
  return audited(
    deps,
    meta,
    'exchange',
    async (draft, policy, nowMs) => {
      await limitClient(deps, meta, nowMs);
      // 1. Parse: size and shape before anything else.
      const fields = parseRequest(input, ['token', 'role', 'grants']);
      const roleName = fields.role;
      if (typeof roleName !== 'string' || !ROLE_NAME.test(roleName)) throw new BrokerError('ERR_REQUEST_INVALID', 'request.role_name');
      draft.record.role = roleName;
      // An optional subset of the role's grants: it can only narrow (policy/select-grants.ts).
      const selection = parseGrantSelectors(fields.grants);
      if (!selection.ok) throw new BrokerError('ERR_REQUEST_INVALID', selection.reason);
      if (selection.selectors) draft.record.requested_grants = selection.selectors;

      // 2-4. Verify against the allowlisted issuer named by iss; claim the jti once.
      const { claims, issuer } = await authenticate(deps, policy, fields.token, draft, nowMs);

      // 5. Policy: a missing role, a role for another issuer and a denied match all answer the same 403.
      const role = policy.roles.get(roleName);
      if (!role) throw new BrokerError('ERR_ACCESS_DENIED', 'policy.no_such_role');
      if (role.issuer !== issuer.name) throw new BrokerError('ERR_ACCESS_DENIED', 'policy.issuer_mismatch');
      // The decision pass only (no trace): each set stops at its first failing condition, which is recorded.
      const decision = decide(claims, role);
      draft.record.policy_trace = {
        matched: decision.matched ?? null,
        failed: decision.failing.slice(0, 32),
      };
      if (decision.effect === 'deny') throw new BrokerError('ERR_ACCESS_DENIED', `policy.${decision.reason}`);
      // Checked only once the identity is allowed, so a refused caller learns nothing of the role's grants.
      const selected = selectGrants(role.role.grants, selection.selectors);
      if (!selected.ok) throw new BrokerError('ERR_REQUEST_INVALID', `request.grants_unmatched:${selected.unmatched.join(',')}`);

      // 6. Mint every grant in order; the first failure stops the rest and nothing is returned. Nothing is
      //    minted while the audit log is failing: the record of what was minted could not be kept.
      await deps.auditor.ensureAvailable();
      const now = Math.floor(nowMs / 1000);
      minted = { credentials: [], revocations: [] };
      const summaries: CredentialSummary[] = [];
      draft.record.credentials = summaries;
      for (const grant of selected.grants) {
        const result = await mintOne(deps.minters, grant, {
          role,
          claims,
          issuer: issuer.name,
          requestId: meta.requestId,
          now,
          maxTtl: role.maxTtl,
        });
        if (!result.ok) {
          draft.record.upstream = { type: grant.type, code: result.upstream_code ?? result.detail };
          await revokeAll(deps.minters, minted.revocations);
          throw new BrokerError(result.code, result.detail);
        }
        minted.credentials.push(result.credential);
        summaries.push(result.summary);
        if (result.revocation) minted.revocations.push({ type: grant.type, data: result.revocation });
      }
      const expiresAt = expiryOf(summaries, now, role);
      if (minted.revocations.length > 0 && deps.revocations) {
        try {
          await deps.revocations.save(meta.requestId, await revocationOwner(claims), expiresAt, minted.revocations, now);
        } catch (err) {
          // The credentials still expire on their own; the post step's revoke will find nothing.
          deps.log?.({ level: 'warn', request_id: meta.requestId, event: 'revocation.save_failed', detail: String(err) });
        }
      }
      return { request_id: meta.requestId, role: role.name, expires_at: isoSeconds(expiresAt), credentials: minted.credentials };
    },
    async () => {
      await revokeAll(deps.minters, minted?.revocations ?? []);
    },
  );
}

/** Steps 2-4, shared by exchange and revoke: verify the ID token and claim its jti, filling in the record. */
/** The per-client limit, checked before anything of the request is parsed. */
export async function limitClient(deps: Pick<ExchangeDeps, 'rateLimiter'>, meta: RequestMeta, nowMs: number): Promise<void> {
  if (deps.rateLimiter && !(await deps.rateLimiter.allow('client', meta.clientIp ?? 'unknown', Math.floor(nowMs / 1000)))) {
    throw new BrokerError('ERR_RATE_LIMITED', 'rate_limit.client');
  }
}

export async function authenticate(
  deps: Pick<ExchangeDeps, 'jwks' | 'replay' | 'rateLimiter'>,
  policy: CompiledPolicy,
  token: unknown,
  draft: Draft,
  nowMs: number,
): Promise<VerifiedToken> {
  if (typeof token !== 'string') throw new BrokerError('ERR_REQUEST_INVALID', 'request.token_missing');
  draft.record.token_sha256 = await sha256Hex(token);
  const verified = await verifyIdToken(token, policy, deps.jwks, nowMs);
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

  // Replay: one atomic claim per (issuer, jti), kept until exp plus leeway.
  let first: boolean;
  try {
    first = await deps.replay.claim(`${issuer.name}\u0000${claims.jti}`, claims.exp + REPLAY_LEEWAY_S, Math.floor(nowMs / 1000));
  } catch (err) {
    throw new BrokerError('ERR_UNAVAILABLE', 'replay.store_failed', { cause: err });
  }
  if (!first) throw new BrokerError('ERR_TOKEN_REPLAYED', 'token.replayed');
  return verified.token;
}

function mintOne(minters: Minters, grant: Grant, ctx: Parameters<NonNullable<Minters['secret']>['mint']>[1]): Promise<MintResult> {
  const minter = minters[grant.type] as { mint(g: Grant, c: typeof ctx): Promise<MintResult> } | undefined;
  if (!minter) return Promise.resolve({ ok: false, code: 'ERR_UPSTREAM', detail: `mint.${grant.type}_not_configured` });
  return minter
    .mint(grant, ctx)
    .catch(
      (err: unknown) =>
        ({ ok: false, code: 'ERR_UPSTREAM', detail: `mint.${grant.type}_failed:${(err as Error)?.message ?? 'error'}` }) as const,
    );
}

/** Best effort: revokes what was minted for a request that is not going to return it. */
export async function revokeAll(minters: Minters, items: RevocationItem[]): Promise<{ type: string; ok: boolean; detail?: string }[]> {
  const results = [];
  for (const item of items) {
    const minter = minters[item.type as Grant['type']];
    if (!minter?.revoke) {
      results.push({ type: item.type, ok: false, detail: 'not revocable' });
      continue;
    }
    const r = await minter.revoke(item.data).catch((err: unknown) => ({ ok: false as const, detail: String(err) }));
    results.push(r.ok ? { type: item.type, ok: true } : { type: item.type, ok: false, detail: r.detail });
  }
  return results;
}

/** The response expires with its first credential, and never later than max_ttl. */
function expiryOf(summaries: CredentialSummary[], now: number, role: CompiledRole): number {
  let expiry = now + role.maxTtl;
  for (const s of summaries) {
    if (!s.expires_at) continue;
    const t = Math.floor(Date.parse(s.expires_at) / 1000);
    if (Number.isFinite(t)) expiry = Math.min(expiry, t);
  }
  return expiry;
}

/**
 * A JSON object body with only the named fields; the token may come as `Authorization: Bearer` instead
 * (never both). Anything else in the body is refused: nothing in the request can widen a grant.
 */
export function parseRequest<K extends string>(input: ExchangeInput, allowed: readonly K[]): Record<K, unknown> & { token: unknown } {
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
