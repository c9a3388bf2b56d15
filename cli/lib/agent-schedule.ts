// When `secret-broker agent` renews: pure functions of the credentials' lifetime, the failure count and a
// random number, so the schedule is tested without waiting.

/** The part of the renewal delay that is random, so that many pods started together do not renew together. */
export const RENEW_JITTER = 0.1;
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_CAP_MS = 30_000;

/** `--refresh-at`: a fraction strictly between 0 and 1 of the credentials' lifetime, or why not. */
export function parseRefreshAt(text: string | undefined): { ok: true; value: number } | { ok: false; problem: string } {
  if (text === undefined) return { ok: true, value: 0.66 };
  const n = Number(text);
  if (!/^\d*\.?\d+$/.test(text.trim()) || !(n > 0 && n < 1))
    return {
      ok: false,
      problem: `must be a fraction of the credentials' lifetime between 0 and 1 (exclusive), e.g. 0.66 renews after two thirds`,
    };
  return { ok: true, value: n };
}

/**
 * Milliseconds from now until the renewal: refreshAt of the lifetime left, minus up to RENEW_JITTER of that,
 * so jitter only ever makes a renewal earlier, never later than asked.
 */
export function renewDelayMs(issuedMs: number, expiresMs: number, refreshAt: number, random: () => number): number {
  const lifetime = Math.max(0, expiresMs - issuedMs);
  return Math.max(0, Math.round(lifetime * refreshAt * (1 - RENEW_JITTER * random())));
}

/**
 * The wait after the `failures`-th failure in a row: exponential from BACKOFF_BASE_MS up to BACKOFF_CAP_MS,
 * half fixed and half random, and never past `untilMs` (the expiry), so the last try comes before it.
 */
export function failureDelayMs(failures: number, random: () => number, nowMs: number, untilMs: number): number {
  const cap = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures - 1, 20));
  const wait = Math.round(cap / 2 + random() * (cap / 2));
  return Math.max(0, Math.min(wait, untilMs - nowMs));
}
