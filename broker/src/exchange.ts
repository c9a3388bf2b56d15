// The exchange, top to bottom: parse, verify, replay, policy, mint, audit, respond. Every request leaves
// exactly one audit record, written before the response (pipeline.ts); a deny never calls an upstream or
// mints anything.
import type { CredentialSummary } from './audit/record.ts';
import { BrokerError } from './errors.ts';
import { revokeAll } from './mint/revoke-all.ts';
import type { Credential, Minters, MintResult, MultiMintResult } from './mint/types.ts';
import type { CompiledRole } from './policy/compile.ts';
import { decide } from './policy/match.ts';
import { type Grant, ROLE_NAME } from './policy/schema.ts';
import { audited, authenticate, limitClient, type PipelineDeps, parseRequest, type RequestInput, type RequestMeta } from './pipeline.ts';
import { type RevocationItem, type RevocationVault, revocationOwner } from './store/revocations.ts';
import { parseGrantSelectors, selectGrants } from './policy/select-grants.ts';
import { isoSeconds } from './util/duration.ts';

export interface ExchangeDeps extends PipelineDeps {
  minters: Minters;
  /** Where revocable credentials (GitHub tokens) are kept, sealed, for the post step. */
  revocations?: RevocationVault;
  log?: (line: Record<string, unknown>) => void;
}

export interface ExchangeResponse {
  request_id: string;
  role: string;
  expires_at: string;
  credentials: Credential[];
}

export function exchange(deps: ExchangeDeps, input: RequestInput, meta: RequestMeta): Promise<ExchangeResponse> {
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
      const deciding = performance.now();
      const role = policy.roles.get(roleName);
      if (!role) throw new BrokerError('ERR_ACCESS_DENIED', 'policy.no_such_role');
      if (role.issuer !== issuer.name) throw new BrokerError('ERR_ACCESS_DENIED', 'policy.issuer_mismatch');
      // The decision pass only (no trace): each set stops at its first failing condition, which is recorded.
      const decision = decide(claims, role);
      draft.stages.policy = (performance.now() - deciding) / 1000;
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
      const minting = performance.now();
      await deps.auditor.ensureAvailable();
      const now = Math.floor(nowMs / 1000);
      minted = { credentials: [], revocations: [] };
      const summaries: CredentialSummary[] = [];
      draft.record.credentials = summaries;
      for (const grant of selected.grants) {
        const mintStarted = performance.now();
        const result = await mintOne(deps.minters, grant, {
          role,
          claims,
          issuer: issuer.name,
          requestId: meta.requestId,
          now,
          maxTtl: role.maxTtl,
        });
        deps.metrics?.mint(grant.type, (performance.now() - mintStarted) / 1000, result.ok);
        if (!result.ok) {
          draft.record.upstream = { type: grant.type, code: result.upstream_code ?? result.detail };
          await revokeAll(deps.minters, minted.revocations);
          throw new BrokerError(result.code, result.detail);
        }
        // A grant that exports several names (a secret store read) yields one credential for each.
        if ('credential' in result) minted.credentials.push(...(result.credentials ?? [result.credential]));
        else minted.credentials.push(...result.credentials);
        summaries.push(result.summary);
        if (result.revocation) minted.revocations.push({ type: grant.type, data: result.revocation });
      }
      draft.stages.mint = (performance.now() - minting) / 1000;
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

function mintOne(
  minters: Minters,
  grant: Grant,
  ctx: Parameters<NonNullable<Minters['secret']>['mint']>[1],
): Promise<MintResult | MultiMintResult> {
  const minter = minters[grant.type] as { mint(g: Grant, c: typeof ctx): Promise<MintResult | MultiMintResult> } | undefined;
  if (!minter) return Promise.resolve({ ok: false, code: 'ERR_UPSTREAM', detail: `mint.${grant.type}_not_configured` });
  return minter
    .mint(grant, ctx)
    .catch(
      (err: unknown) =>
        ({ ok: false, code: 'ERR_UPSTREAM', detail: `mint.${grant.type}_failed:${(err as Error)?.message ?? 'error'}` }) as const,
    );
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
