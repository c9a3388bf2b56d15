// Remote administration (/v1/admin/...): secrets (put, rotate, list; a value is never read back), signing
// keys (list, rotate), the audit log (export as JSON lines with a signed checkpoint, checkpoint now), and the
// seal key a value is sealed to. Every call, refused ones included, is one audit record (action admin, the
// operation and its target in `query`, never a value), through the same audited() as an exchange.
import { readAll, toExported } from '../audit/chain.ts';
import { signCheckpoint } from '../audit/checkpoint-format.ts';
import type { Checkpointer } from '../audit/checkpointer.ts';
import { listAll } from '../audit/retention.ts';
import { verifyAudit } from '../audit/verify-audit.ts';
import { BrokerError } from '../errors.ts';
import type { BrokerIssuer } from '../issuer/issuer.ts';
import { audited, limitClient, type Draft, type PipelineDeps, type RequestMeta } from '../pipeline.ts';
import type { CheckpointStore } from '../store/ports.ts';
import { MAX_SECRET_BYTES, SECRET_NAME, type SecretVault } from '../store/secrets.ts';
import { readCapped } from '../util/http.ts';
import { sha256Hex } from '../util/encoding.ts';
import type { AdminAuthenticator } from './auth.ts';
import { isSealedShape, openSealed } from './seal.ts';
import type { SealKeyring } from './seal-key.ts';

export interface ManageDeps {
  auth: AdminAuthenticator;
  vault: SecretVault;
  issuer: BrokerIssuer;
  checkpoints: CheckpointStore;
  checkpointer: Checkpointer;
  sealKeys: SealKeyring;
}

type Deps = Pick<PipelineDeps, 'auditor' | 'now' | 'policy' | 'rateLimiter' | 'replay'>;

export type AdminOp =
  | 'seal_key'
  | 'secret_list'
  | 'secret_put'
  | 'secret_rotate'
  | 'keys_list'
  | 'keys_rotate'
  | 'audit_export'
  | 'audit_checkpoint';

/** A sealed value is taken this long after it was sealed (and a little before, for clock skew), once. */
export const SEAL_MAX_AGE_S = 300;
const SEAL_SKEW_S = 60;
/** The largest sealed value's body: 64 KiB of value in base64 plus the envelope. */
const MAX_PUT_BODY = 96 * 1024;
/** Names the broker keeps for itself: not written over the API (the seal key among them). */
const BROKER_OWN = /^broker\./;
const MAX_ACTIVATE_IN_S = 30 * 86400;

/** Authenticates, then runs `body` with the operation named in the record. */
function adminCall<T>(
  deps: Deps,
  manage: ManageDeps | undefined,
  req: Request,
  meta: RequestMeta,
  op: AdminOp,
  body: (draft: Draft, m: ManageDeps, nowMs: number) => Promise<T>,
): Promise<T> {
  if (!manage) return Promise.reject(new BrokerError('ERR_NOT_FOUND', 'admin.not_configured'));
  return audited(deps, meta, 'admin', async (draft, _policy, nowMs) => {
    draft.record.query = { op };
    // Every guess at the token counts against the per-client limit (as for GET /v1/audit).
    await limitClient(deps, meta, nowMs);
    const auth = await manage.auth.authenticate(req);
    if (!auth.ok) throw new BrokerError('ERR_TOKEN_INVALID', auth.detail);
    draft.record.issuer = auth.identity.issuer;
    draft.record.subject = auth.identity.subject;
    return body(draft, manage, nowMs);
  });
}

function secretName(draft: Draft, name: string): string {
  if (!SECRET_NAME.test(name)) throw new BrokerError('ERR_REQUEST_INVALID', 'admin.secret_name');
  draft.record.query = { ...draft.record.query, name };
  if (BROKER_OWN.test(name)) throw new BrokerError('ERR_REQUEST_INVALID', 'admin.secret_reserved');
  return name;
}

async function jsonBody(req: Request, max: number): Promise<Record<string, unknown>> {
  let text: string | undefined;
  try {
    text = await readCapped(req, max);
  } catch (err) {
    throw new BrokerError('ERR_REQUEST_INVALID', 'request.body_incomplete', { cause: err });
  }
  if (text === undefined) throw new BrokerError('ERR_PAYLOAD_TOO_LARGE', 'request.body_too_large');
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new BrokerError('ERR_REQUEST_INVALID', 'request.body_not_json');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new BrokerError('ERR_REQUEST_INVALID', 'request.body_not_object');
  return parsed as Record<string, unknown>;
}

export function sealKey(deps: Deps, manage: ManageDeps | undefined, req: Request, meta: RequestMeta) {
  return adminCall(deps, manage, req, meta, 'seal_key', async (_draft, m) => {
    const key = await m.sealKeys.current().catch((err: unknown) => {
      throw new BrokerError('ERR_UNAVAILABLE', 'admin.store_failed', { cause: err });
    });
    return { request_id: meta.requestId, ...key.published };
  });
}

export function listSecrets(deps: Deps, manage: ManageDeps | undefined, req: Request, meta: RequestMeta) {
  return adminCall(deps, manage, req, meta, 'secret_list', async (draft, m) => {
    const params = new URL(req.url).searchParams;
    if ([...params.keys()].some((k) => k !== 'history')) throw new BrokerError('ERR_REQUEST_INVALID', 'request.unknown_field');
    // ?history=1: every version's metadata and the current KEK id as well (`audit report --broker`).
    const history = params.get('history') === '1';
    if (history) draft.record.query = { ...draft.record.query, history: '1' };
    const [rows, versions] = await Promise.all([m.vault.list(), history ? m.vault.versions() : undefined]).catch((err: unknown) => {
      throw new BrokerError('ERR_UNAVAILABLE', 'admin.store_failed', { cause: err });
    });
    // Names, versions and dates only: what `secret list` prints locally.
    const secrets = rows
      .filter((r) => !BROKER_OWN.test(r.name))
      .map((r) => ({
        name: r.name,
        version: r.version,
        versions: r.versions,
        created_at: r.created_at,
        ...(r.max_age === undefined ? {} : { max_age: r.max_age }),
      }));
    if (!versions) return { request_id: meta.requestId, secrets };
    return {
      request_id: meta.requestId,
      secrets,
      // The broker's own (the seal key) too, as metadata: the KEK section must count every wrapped row.
      versions,
      current_kek_id: m.vault.currentKekId,
    };
  });
}

/**
 * PUT /v1/admin/secrets/NAME (put) and POST /v1/admin/secrets/NAME/rotate (rotate: the name must exist).
 * The body is {"sealed": SealedValue} and optionally "max_age" (seconds, or null to remove the rotation
 * policy; absent keeps the previous version's), nothing else: a value in clear is refused, never stored.
 */
export function putSecret(deps: Deps, manage: ManageDeps | undefined, req: Request, meta: RequestMeta, rawName: string, rotate: boolean) {
  return adminCall(deps, manage, req, meta, rotate ? 'secret_rotate' : 'secret_put', async (draft, m, nowMs) => {
    const name = secretName(draft, rawName);
    const body = await jsonBody(req, MAX_PUT_BODY);
    const keys = Object.keys(body);
    if (keys.some((k) => k !== 'sealed' && k !== 'max_age')) {
      throw new BrokerError('ERR_REQUEST_INVALID', keys.includes('value') ? 'admin.value_unsealed' : 'request.unknown_field');
    }
    const maxAge = body.max_age;
    if (maxAge !== undefined && maxAge !== null && !(typeof maxAge === 'number' && Number.isSafeInteger(maxAge) && maxAge > 0))
      throw new BrokerError('ERR_REQUEST_INVALID', 'admin.max_age');
    const sealed = body.sealed;
    if (!isSealedShape(sealed))
      throw new BrokerError('ERR_REQUEST_INVALID', typeof sealed === 'string' ? 'admin.value_unsealed' : 'admin.seal_malformed');
    const now = Math.floor(nowMs / 1000);
    if (sealed.iat > now + SEAL_SKEW_S || sealed.iat < now - SEAL_MAX_AGE_S)
      throw new BrokerError('ERR_REQUEST_INVALID', 'admin.seal_expired');
    let key = await m.sealKeys.current().catch((err: unknown) => {
      throw new BrokerError('ERR_UNAVAILABLE', 'admin.store_failed', { cause: err });
    });
    // Another replica may have made the key the sender saw: read the store once more before refusing.
    if (sealed.kid !== key.published.kid) key = await m.sealKeys.current(true);
    const opened = await openSealed(key.privateKey, key.publicKey, key.published.kid, name, sealed);
    if (!opened.ok) {
      throw new BrokerError(
        'ERR_REQUEST_INVALID',
        opened.problem === 'kid'
          ? 'admin.seal_key_unknown'
          : opened.problem === 'malformed'
            ? 'admin.seal_malformed'
            : 'admin.seal_open_failed',
      );
    }
    // Once only: a captured seal (from a proxy's log, a shell history) cannot put an old value back.
    let first: boolean;
    try {
      first = await deps.replay.claim(`seal:${await sha256Hex(sealed.epk)}`, sealed.iat + SEAL_MAX_AGE_S + SEAL_SKEW_S, now);
    } catch (err) {
      throw new BrokerError('ERR_UNAVAILABLE', 'replay.store_failed', { cause: err });
    }
    if (!first) throw new BrokerError('ERR_TOKEN_REPLAYED', 'admin.seal_replayed');
    const value = opened.value;
    if (value.length === 0 || value.length > MAX_SECRET_BYTES) throw new BrokerError('ERR_REQUEST_INVALID', 'admin.secret_value');
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(value);
    } catch {
      throw new BrokerError('ERR_REQUEST_INVALID', 'admin.secret_value');
    }
    try {
      if (rotate && !(await m.vault.get(name))) throw new BrokerError('ERR_NOT_FOUND', 'admin.secret_missing');
      const stored = await m.vault.put(name, value, now, maxAge === undefined ? {} : { maxAge });
      const { version } = stored;
      draft.record.query = {
        ...draft.record.query,
        version: String(version),
        ...(stored.max_age === undefined ? {} : { max_age: String(stored.max_age) }),
      };
      draft.record.credentials = [{ type: 'secret', target: `${name}@${version}` }];
      return { request_id: meta.requestId, name, version, ...(stored.max_age === undefined ? {} : { max_age: stored.max_age }) };
    } catch (err) {
      if (err instanceof BrokerError) throw err;
      throw new BrokerError('ERR_UNAVAILABLE', 'admin.store_failed', { cause: err });
    } finally {
      value.fill(0);
    }
  });
}

export function listKeys(deps: Deps, manage: ManageDeps | undefined, req: Request, meta: RequestMeta) {
  return adminCall(deps, manage, req, meta, 'keys_list', async (_draft, m, nowMs) => {
    const now = Math.floor(nowMs / 1000);
    const [rows, jwks, health] = await Promise.all([m.issuer.listKeys(), m.issuer.jwks(), m.issuer.keyHealth()]).catch((err: unknown) => {
      throw new BrokerError('ERR_UNAVAILABLE', 'admin.store_failed', { cause: err });
    });
    const published = new Set(jwks.keys.map((k) => k.kid));
    const signing = rows.filter((r) => r.activates_at <= now).at(-1)?.kid;
    const keys = rows.map((r) => ({
      kid: r.kid,
      state: r.kid === signing ? 'signing' : r.activates_at > now ? 'next' : published.has(r.kid) ? 'previous' : 'retired',
      created_at: r.created_at,
      activates_at: r.activates_at,
      kek_id: r.kek_id,
    }));
    return { request_id: meta.requestId, keys, problems: health.problems.map((p) => ({ kid: p.kid, reason: p.reason })) };
  });
}

export function rotateKeys(deps: Deps, manage: ManageDeps | undefined, req: Request, meta: RequestMeta) {
  return adminCall(deps, manage, req, meta, 'keys_rotate', async (draft, m) => {
    const body = await jsonBody(req, 1024);
    if (Object.keys(body).some((k) => k !== 'activate_in')) throw new BrokerError('ERR_REQUEST_INVALID', 'request.unknown_field');
    const activateIn = body.activate_in ?? 3600;
    if (typeof activateIn !== 'number' || !Number.isSafeInteger(activateIn) || activateIn < 0 || activateIn > MAX_ACTIVATE_IN_S)
      throw new BrokerError('ERR_REQUEST_INVALID', 'admin.activate_in');
    try {
      await m.issuer.ensureKey();
      const { added, dropped } = await m.issuer.rotate(activateIn);
      draft.record.query = { ...draft.record.query, kid: added.kid, activate_in: String(activateIn) };
      return { request_id: meta.requestId, added: { kid: added.kid, activates_at: added.activates_at }, dropped };
    } catch (err) {
      throw new BrokerError('ERR_UNAVAILABLE', 'admin.store_failed', { cause: err });
    }
  });
}

/**
 * GET /v1/admin/audit/export[?since=ISO]: the chain as JSON lines from the first record at or after `since`,
 * ending with a checkpoint signed now, when the store verifies (as `audit export` does locally).
 */
export function exportAudit(deps: Deps, manage: ManageDeps | undefined, req: Request, meta: RequestMeta) {
  return adminCall(deps, manage, req, meta, 'audit_export', async (draft, m, nowMs) => {
    const params = new URL(req.url).searchParams;
    if ([...params.keys()].some((k) => k !== 'since')) throw new BrokerError('ERR_REQUEST_INVALID', 'audit_query.unknown_parameter');
    const sinceText = params.get('since');
    const since = sinceText === null ? undefined : Date.parse(sinceText);
    if (since !== undefined && !Number.isFinite(since)) throw new BrokerError('ERR_REQUEST_INVALID', 'audit_query.since');
    if (sinceText !== null) draft.record.query = { ...draft.record.query, since: sinceText.slice(0, 64) };
    const lines: string[] = [];
    let last: { seq: number; hash: string } | undefined;
    try {
      let started = since === undefined;
      async function* exporting() {
        for await (const e of readAll(deps.auditor.store)) {
          if (!started) started = Date.parse((JSON.parse(e.record) as { time: string }).time) >= since!;
          if (started) {
            lines.push(JSON.stringify(toExported(e)));
            last = { seq: e.seq, hash: e.hash };
          }
          yield e;
        }
      }
      const keys = await m.issuer.verificationKeys();
      const located = (await listAll(m.checkpoints)).map((c) => ({ jws: c.jws, source: 'the store' }));
      const verification = await verifyAudit({ entries: exporting(), checkpoints: located, keys, mode: 'store' });
      // A store that does not verify is not signed over: the caller gets a refusal, the log says where.
      if (!verification.ok) throw new BrokerError('ERR_UNAVAILABLE', 'admin.audit_broken');
      if (last) {
        const checkpoint = await signCheckpoint(m.issuer, last, verification.start, nowMs);
        await m.checkpoints.insert(checkpoint);
        lines.push(JSON.stringify({ checkpoint }));
        draft.record.query = { ...draft.record.query, through_seq: String(last.seq) };
      }
    } catch (err) {
      if (err instanceof BrokerError) throw err;
      throw new BrokerError('ERR_UNAVAILABLE', 'audit.read_failed', { cause: err });
    }
    return lines.length ? `${lines.join('\n')}\n` : '';
  });
}

export function checkpointAudit(deps: Deps, manage: ManageDeps | undefined, req: Request, meta: RequestMeta) {
  return adminCall(deps, manage, req, meta, 'audit_checkpoint', async (draft, m) => {
    const checkpoint = await m.checkpointer.checkpointNow().catch((err: unknown) => {
      throw new BrokerError('ERR_UNAVAILABLE', 'audit.read_failed', { cause: err });
    });
    if (!checkpoint) throw new BrokerError('ERR_UNAVAILABLE', 'admin.checkpoint_refused');
    draft.record.query = { ...draft.record.query, seq: String(checkpoint.seq) };
    return { request_id: meta.requestId, checkpoint };
  });
}
