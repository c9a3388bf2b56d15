// Calls to secret stores (Key Vault, Vault, Secrets Manager, SSM, Secret Manager): a deadline, and retries
// only where the store says "later" (429, 5xx, or what the caller's `retryable` reads as such, like AWS's
// 400 ThrottlingException), never past that deadline. A refusal (4xx) is an answer, and a timeout or a
// network failure already used its share of the deadline, so neither is retried.
import { fetchLimited, type FetchLike, type Fetched } from '../util/http.ts';

export interface RetryBudget {
  /** Epoch milliseconds after which no attempt starts and no attempt runs on. */
  deadlineAt: number;
  /** Cap on one attempt (BROKER_UPSTREAM_TIMEOUT_MS). */
  attemptMs: number;
  maxBytes: number;
  /** Attempts in all (default 3). */
  attempts?: number;
  /** Which answers say "try again" (default: 429 and 5xx); AWS, for one, throttles with a 400. */
  retryable?: (answer: Answered) => boolean;
  /** The first backoff (default 100); each further one doubles, with jitter. */
  baseDelayMs?: number;
  /** Injectable for tests, like `now`. */
  sleep?: (ms: number) => Promise<void>;
  /** Milliseconds clock; injectable for tests. */
  now?: () => number;
}

type Answered = Extract<Fetched, { ok: true }>;

/** What a minter's caller (tests) may tune of its retries. */
export type RetryOptions = Pick<RetryBudget, 'attempts' | 'baseDelayMs' | 'sleep'>;

/** A grant's calls together get this many times the per-call timeout: a token, a challenge and a read. */
export const STORE_DEADLINE_CALLS = 2;

const BASE_BACKOFF_MS = 100;
/** A retry is not started with less than this left before the deadline: it could not finish. */
const MIN_ATTEMPT_MS = 50;

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function budgetFrom(timeoutMs: number, maxBytes: number, now: () => number = Date.now): RetryBudget {
  return { deadlineAt: now() + timeoutMs * STORE_DEADLINE_CALLS, attemptMs: timeoutMs, maxBytes, now };
}

export function isRetryable(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/**
 * `fetchLimited` with retries for the answers `budget.retryable` calls worth another try, waiting as
 * Retry-After asks when that fits the deadline; the last answer is returned as it is.
 */
export async function fetchRetrying(fetchFn: FetchLike, url: string, init: RequestInit, budget: RetryBudget): Promise<Fetched> {
  const now = budget.now ?? Date.now;
  const attempts = budget.attempts ?? 3;
  const retryable = budget.retryable ?? ((answer: Answered) => isRetryable(answer.status));
  const base = budget.baseDelayMs ?? BASE_BACKOFF_MS;
  const sleep = budget.sleep ?? sleepFor;
  let last: Fetched | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const remaining = budget.deadlineAt - now();
    if (remaining <= 0) break;
    last = await fetchLimited(fetchFn, url, init, { timeoutMs: Math.min(budget.attemptMs, remaining), maxBytes: budget.maxBytes });
    if (!last.ok || !retryable(last) || attempt === attempts - 1) return last;
    const wait = retryAfterMs(last.headers.get('retry-after'), now()) ?? base * 2 ** attempt * (0.5 + Math.random() / 2);
    // Waiting past the deadline only to give up then (or to try with no time left): report the answer now.
    if (now() + wait + MIN_ATTEMPT_MS >= budget.deadlineAt) return last;
    await sleep(wait);
  }
  return last ?? { ok: false, reason: 'timeout', detail: 'deadline exceeded' };
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d{1,6}$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined;
}
