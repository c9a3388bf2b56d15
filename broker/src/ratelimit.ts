// Optional request limits (ERR_RATE_LIMITED): per client address before anything is parsed, and per
// verified identity (issuer + subject) before the token's jti is claimed, so a limited request does not
// use up its token. Fixed windows: simple, cheap, and exact enough for flood protection. Configured with
// BROKER_RATE_LIMITS, e.g. "client=600/1m,subject=60/1m"; unset means no limits.
import type { RateCounter } from './store/ports.ts';
import { parseDuration } from './util/duration.ts';

export interface RateLimitRule {
  limit: number;
  windowS: number;
}

export type RateLimitKind = 'client' | 'subject';
export type RateLimits = Partial<Record<RateLimitKind, RateLimitRule>>;

export function parseRateLimits(text: string | undefined): RateLimits {
  const limits: RateLimits = {};
  if (!text || text.trim() === '') return limits;
  for (const part of text.split(',')) {
    const m = /^\s*(client|subject)\s*=\s*(\d+)\s*\/\s*(\w+)\s*$/.exec(part);
    const windowS = m ? parseDuration(m[3]!) : undefined;
    if (!m || windowS === undefined || Number(m[2]) < 1) {
      throw new Error(`BROKER_RATE_LIMITS: "${part.trim()}" is not kind=N/duration (kinds: client, subject), e.g. client=600/1m`);
    }
    limits[m[1] as RateLimitKind] = { limit: Number(m[2]), windowS };
  }
  return limits;
}

export class RateLimiter {
  readonly limits: RateLimits;
  readonly #counter: RateCounter;
  readonly #onError: (err: unknown) => void;

  constructor(limits: RateLimits, counter: RateCounter, onError: (err: unknown) => void = () => {}) {
    this.limits = limits;
    this.#counter = counter;
    this.#onError = onError;
  }

  /** True when the request may proceed. A failing counter lets requests through: limits protect capacity, not access. */
  async allow(kind: RateLimitKind, key: string, nowS: number): Promise<boolean> {
    const rule = this.limits[kind];
    if (!rule) return true;
    const windowStart = nowS - (nowS % rule.windowS);
    try {
      return (await this.#counter.hit(`${kind}\u0000${key}`, windowStart, rule.windowS)) <= rule.limit;
    } catch (err) {
      this.#onError(err);
      return true;
    }
  }
}

/** One process's counters (the Node broker); entries of past windows are dropped as time moves on. */
export class MemoryRateCounter implements RateCounter {
  readonly #counts = new Map<string, { windowStart: number; count: number; until: number }>();
  #sweepAt = 0;

  async hit(key: string, windowStart: number, windowS: number): Promise<number> {
    if (windowStart >= this.#sweepAt) {
      for (const [k, v] of this.#counts) if (v.until <= windowStart) this.#counts.delete(k);
      this.#sweepAt = windowStart + 60;
    }
    const entry = this.#counts.get(key);
    if (!entry || entry.windowStart !== windowStart) {
      this.#counts.set(key, { windowStart, count: 1, until: windowStart + windowS });
      return 1;
    }
    return ++entry.count;
  }
}
