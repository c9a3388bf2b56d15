// What the cloud minters share about talking to an upstream: how a failed call becomes a tagged result, how
// an upstream's own error code is kept for the audit (sanitised: it is the cloud's text, not ours), and how an
// expiry the cloud reports is checked against what was asked for.
import type { Reason, UpstreamStep } from '../audit/reasons.ts';
import type { Fetched } from '../util/http.ts';
import type { MintResult } from './types.ts';

export type MintFailure = Extract<MintResult, { ok: false }>;

/** Bounds every upstream response body; token responses are a few KiB. */
export const UPSTREAM_MAX_BYTES = 64 * 1024;

/** How far a cloud's clock may run ahead of ours before an expiry it reports counts as wrong. */
export const MAX_CLOCK_SKEW = 300;

export function upstreamFailure(detail: Reason, upstreamCode?: string): MintFailure {
  return upstreamCode === undefined
    ? { ok: false, code: 'ERR_UPSTREAM', detail }
    : { ok: false, code: 'ERR_UPSTREAM', detail, upstream_code: upstreamCode };
}

/** A call that produced no HTTP answer (deadline, network, redirect, oversized body). */
export function transportFailure(prefix: UpstreamStep, fetched: Extract<Fetched, { ok: false }>): MintFailure {
  return upstreamFailure(`${prefix}.${fetched.reason}`);
}

/** An error code as the cloud spelled it, if it looks like one; otherwise nothing (never free text). */
export function cleanUpstreamCode(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/.test(value) ? value : undefined;
}

/** RFC 3339 UTC timestamps as AWS and Google write them, to epoch seconds (fractions dropped). */
export function parseUtcTimestamp(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/.test(text)) return undefined;
  const ms = Date.parse(text.replace(/(\.\d{3})\d+Z$/, '$1Z'));
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/**
 * The expiry to report for a credential requested to live `requested` seconds from `now`: the cloud's own
 * expiry, never later than what was asked for. An expiry far beyond the request (more than clock skew
 * explains) means the upstream did not honour the request, and the credential is refused.
 */
export function boundedExpiry(upstream: number, now: number, requested: number): number | undefined {
  if (upstream > now + requested + MAX_CLOCK_SKEW) return undefined;
  if (upstream <= now - MAX_CLOCK_SKEW) return undefined;
  return Math.min(upstream, now + requested);
}
