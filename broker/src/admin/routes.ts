// GET /v1/audit, GET /v1/audit/summary and GET /admin/. Every query is itself audited (action admin_query: who, which filters),
// refused ones included, through the same audited() as an exchange: no record, no answer.
import { latestCheckpoints } from '../audit/checkpointer.ts';
import { parseAuditQuery, queryAudit, type AuditPage, type AuditSummary } from '../audit/query.ts';
import { BrokerError } from '../errors.ts';
import type { BrokerIssuer } from '../issuer/issuer.ts';
import { audited, limitClient, type PipelineDeps, type RequestMeta } from '../pipeline.ts';
import type { CheckpointStore } from '../store/ports.ts';
import { toBase64 } from '../util/encoding.ts';
import type { AdminAuthenticator } from './auth.ts';
import type { ManageDeps } from './manage.ts';
import { renderAdminPage } from './page.ts';

export interface AdminDeps {
  auth: AdminAuthenticator;
  /** Where signed checkpoints are kept; the response names the latest one that verifies. */
  checkpoints?: CheckpointStore;
  /** Remote administration (/v1/admin/...): secrets, signing keys, audit export. */
  manage?: ManageDeps;
}

export interface AdminAuditResponse extends AuditPage {
  request_id: string;
  head: { seq: number; hash: string } | null;
  checkpoint: { seq: number; hash: string; time: string; kid: string } | null;
}

/** GET /v1/audit/summary: the same filters, the aggregates only (what the page draws, what a report reads). */
export interface AdminSummaryResponse {
  request_id: string;
  summary: AuditSummary;
  scanned: number;
  head: { seq: number; hash: string } | null;
  checkpoint: AdminAuditResponse['checkpoint'];
}

type Deps = Pick<PipelineDeps, 'auditor' | 'now' | 'policy' | 'rateLimiter'> & {
  admin?: AdminDeps | undefined;
  issuer?: BrokerIssuer | undefined;
};

export async function adminSummary(deps: Deps, req: Request, meta: RequestMeta): Promise<AdminSummaryResponse> {
  const { request_id, summary, scanned, head, checkpoint } = await adminQuery(deps, req, meta, { summaryOnly: true });
  return { request_id, summary: summary!, scanned, head, checkpoint };
}

export function adminQuery(deps: Deps, req: Request, meta: RequestMeta, opts: { summaryOnly?: boolean } = {}): Promise<AdminAuditResponse> {
  const admin = deps.admin;
  // No admin credential configured: the route does not exist (and there is nothing to audit).
  if (!admin) return Promise.reject(new BrokerError('ERR_NOT_FOUND', 'admin.not_configured'));
  return audited(deps, meta, 'admin_query', async (draft, _policy, nowMs) => {
    // The per-client limit (BROKER_RATE_LIMITS client=...) before the token is looked at, so that every
    // guess counts and the admin token cannot be tried faster than the limit.
    await limitClient(deps, meta, nowMs);
    // Authenticate before looking at the query: an anonymous caller learns nothing about it.
    const auth = await admin.auth.authenticate(req);
    if (!auth.ok) throw new BrokerError('ERR_TOKEN_INVALID', auth.detail);
    draft.record.issuer = auth.identity.issuer;
    draft.record.subject = auth.identity.subject;
    const params = new URL(req.url).searchParams;
    const parsed = parseAuditQuery(params, nowMs);
    if (!parsed.ok) throw new BrokerError('ERR_REQUEST_INVALID', parsed.detail);
    draft.record.query = opts.summaryOnly ? { ...parsed.echo, summary_only: '1' } : parsed.echo;
    const query = opts.summaryOnly ? { ...parsed.query, summary: true, limit: 1 } : parsed.query;
    const store = deps.auditor.store;
    const [page, head] = await Promise.all([queryAudit(store, query, nowMs), store.head()]).catch((err: unknown) => {
      throw new BrokerError('ERR_UNAVAILABLE', 'audit.read_failed', { cause: err });
    });
    let checkpoint: AdminAuditResponse['checkpoint'] = null;
    if (admin.checkpoints && deps.issuer) {
      const { latest } = await latestCheckpoints(admin.checkpoints, await deps.issuer.verificationKeys());
      if (latest)
        checkpoint = { seq: latest.payload.seq, hash: latest.payload.hash, time: latest.payload.time, kid: latest.checkpoint.kid };
    }
    if (opts.summaryOnly) return { request_id: meta.requestId, ...page, records: [], next_cursor: null, head, checkpoint };
    return { request_id: meta.requestId, ...page, head, checkpoint };
  });
}

/**
 * The review page. It holds no data (it asks for the admin token and calls /v1/audit with it), so it is
 * served to anyone who can reach the broker; everything it shows comes from authenticated API calls.
 * Strict CSP: no external anything, inline script and style only with this response's nonce.
 */
export function adminPage(deps: Deps): Response {
  if (!deps.admin) throw new BrokerError('ERR_NOT_FOUND', 'admin.not_configured');
  const nonce = toBase64(crypto.getRandomValues(new Uint8Array(18)));
  return new Response(renderAdminPage(nonce), {
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': [
        "default-src 'none'",
        `script-src 'nonce-${nonce}'`,
        `style-src 'nonce-${nonce}'`,
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
      ].join('; '),
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cross-origin-opener-policy': 'same-origin',
    },
  });
}
