// POST /v1/revoke: the post step, with a fresh ID token from the same job, revokes what the exchange
// handed out that can be revoked (GitHub installation tokens). Verified and audited like an exchange.
// "Not yours" and "nothing there" answer alike: 200 with an empty `revoked`.
import { BrokerError } from './errors.ts';
import type { ExchangeDeps } from './exchange.ts';
import { revokeAll } from './mint/revoke-all.ts';
import { audited, authenticate, limitClient, parseRequest, type RequestInput, type RequestMeta } from './pipeline.ts';
import { revocationOwner } from './store/revocations.ts';

const REQUEST_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export interface RevokeResponse {
  request_id: string;
  revoked_request_id: string;
  revoked: { type: string; ok: boolean }[];
}

export function revoke(deps: ExchangeDeps, input: RequestInput, meta: RequestMeta): Promise<RevokeResponse> {
  return audited(deps, meta, 'revoke', async (draft, policy, nowMs) => {
    await limitClient(deps, meta, nowMs);
    const fields = parseRequest(input, ['token', 'request_id']);
    const target = fields.request_id;
    if (typeof target !== 'string' || !REQUEST_ID.test(target)) throw new BrokerError('ERR_REQUEST_INVALID', 'request.request_id');
    draft.record.target_request_id = target;
    const { claims } = await authenticate(deps, policy, fields.token, draft, nowMs);

    const found = deps.revocations ? await deps.revocations.take(target, await revocationOwner(claims)) : { status: 'none' as const };
    if (found.status !== 'ok') {
      // Only the identity that made the request may revoke its credentials. Another identity gets exactly
      // the answer of "nothing to revoke", so the route does not tell which request ids hold credentials;
      // the audit record tells the two apart.
      if (found.status === 'not_owner') draft.outcome = { reason: 'revoke.not_owner', decision: 'deny' };
      return { request_id: meta.requestId, revoked_request_id: target, revoked: [] };
    }

    const results = await revokeAll(deps.minters, found.items);
    draft.record.credentials = results.map((r) => ({
      type: r.type,
      target: r.ok ? 'revoked' : `revoke_failed:${r.detail ?? ''}`.slice(0, 200),
    }));
    const failed = results.find((r) => !r.ok);
    if (failed) {
      draft.record.upstream = { type: failed.type, code: failed.detail ?? 'revoke_failed' };
      throw new BrokerError('ERR_UPSTREAM', `revoke.${failed.type}_failed`);
    }
    return { request_id: meta.requestId, revoked_request_id: target, revoked: results.map(({ type, ok }) => ({ type, ok })) };
  });
}
