// The broker token a minter presents to a cloud: sub = role:<role>, one audience per grant, at most five
// minutes, and the caller's verified identity as claims so that cloud-side conditions (trust policies,
// attribute conditions, AWS session tags) can use them.
import { identityOf } from '../audit/record.ts';
import type { BrokerIssuer, SignedBrokerToken } from '../issuer/issuer.ts';
import type { MintContext } from './types.ts';

export function brokerTokenClaims(ctx: MintContext): Record<string, unknown> {
  return {
    ...identityOf(ctx.claims),
    role: ctx.role.name,
    request_id: ctx.requestId,
    caller_iss: typeof ctx.claims.iss === 'string' ? ctx.claims.iss : ctx.issuer,
    caller_sub: typeof ctx.claims.sub === 'string' ? ctx.claims.sub : null,
  };
}

export function signBrokerToken(issuer: BrokerIssuer, ctx: MintContext, audience: string): Promise<SignedBrokerToken> {
  return issuer.sign({
    subject: `role:${ctx.role.name}`,
    audience,
    ttl: Math.min(300, ctx.maxTtl),
    claims: brokerTokenClaims(ctx),
  });
}

/** Dependencies every cloud minter takes (injected so the same code runs on workerd and Node). */
export interface CloudMintDeps {
  fetch: (input: Request | string | URL, init?: RequestInit) => Promise<Response>;
  issuer: BrokerIssuer;
  /** Per upstream call. */
  timeoutMs: number;
  /** Reads stored secrets (AWS access keys in access_key mode, the GitHub App private key). */
  secrets: { get(name: string): Promise<{ name: string; version: number; value: string } | null> };
}
