// Small pieces the JSON-speaking minters (azure, github) share: strict JSON objects, how a failed call is
// reported, and the max_ttl bound on what a credential claims.
import type { UpstreamName } from '../audit/reasons.ts';
import type { Fetched } from '../util/http.ts';
import type { MintContext, MintResult } from './types.ts';

export type MintFailure = Extract<MintResult, { ok: false }>;

/** A JSON object (not an array, not a scalar) or undefined; never throws. */
export function parseJsonObject(body: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A call that never got an HTTP answer (deadline, network, redirect, size cap): the cause is the detail. */
export function transportFailure(what: `${UpstreamName}.${string}`, fetched: Extract<Fetched, { ok: false }>): MintFailure {
  return { ok: false, code: 'ERR_UPSTREAM', detail: `${what}_${fetched.reason}:${fetched.detail}` };
}

/** Text from an upstream that may go into a detail (audit only): printable, one line, bounded. */
export function safeText(value: unknown, max = 160): string {
  return typeof value === 'string'
    ? value
        .replace(/[^\x20-\x7e]+/g, ' ')
        .trim()
        .slice(0, max)
    : '';
}

/**
 * What a credential may claim as its expiry: never later than max_ttl from now, whatever the upstream says.
 * Clients drop the credential at this time; where the upstream token outlives it, the minter says why.
 */
export function boundedExpiry(upstreamExpiry: number, ctx: MintContext): number {
  return Math.min(upstreamExpiry, ctx.now + ctx.maxTtl);
}

export function trimSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}
