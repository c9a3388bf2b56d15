// Load generation. `runLoad` drives autocannon with one distinct token per request (a pool signed
// beforehand), records every response time itself (autocannon's histogram has 1 ms resolution; exchanges
// take less) and counts statuses. `fetchAll` is for the resilience runs, which need each request's answer.
import autocannon from 'autocannon';

export interface LoadResult {
  requests: number;
  connections: number;
  seconds: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Every response time in milliseconds, sorted (for pooling runs). */
  latencies: number[];
}

export interface LoadOptions {
  url: string;
  path?: string;
  /** One request per token; the run sends exactly tokens.length - connections requests (see below). */
  tokens: string[];
  role: string;
  connections: number;
  /** Seconds before autocannon gives up on a response. */
  timeoutS?: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * autocannon builds each connection's first request when the connection is set up, so a pool of N tokens
 * serves N - connections measured requests without ever reusing a token. This is how many to sign.
 */
export const poolSize = (requests: number, connections: number) => requests + connections;

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const amount = opts.tokens.length - opts.connections;
  if (amount <= 0) throw new Error('runLoad: the token pool must be larger than the number of connections');
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  let lastResponse = started;
  const instance = autocannon({
    url: opts.url,
    connections: opts.connections,
    amount,
    timeout: opts.timeoutS ?? 30,
    excludeErrorStats: false,
    requests: [
      {
        method: 'POST',
        path: opts.path ?? '/v1/exchange',
        headers: { 'content-type': 'application/json' },
        // A token is never sent twice: when the pool runs out the body is the last token, which would show up
        // as a 401 in the statuses rather than pass unnoticed.
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({ token: opts.tokens[Math.min(next++, opts.tokens.length - 1)], role: opts.role }),
        }),
      },
    ],
  });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    latencies.push(responseTime);
    lastResponse = performance.now();
  });
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    instance.once('done', resolve);
    instance.once('error', reject);
  });
  // From the start to the last response: autocannon itself only notices the end on its next 1 s sample.
  const seconds = (lastResponse - started) / 1000;
  latencies.sort((a, b) => a - b);
  const statuses: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = Number(count);
  return {
    requests: latencies.length,
    connections: opts.connections,
    seconds: round(seconds, 3),
    rps: round(latencies.length / seconds, 1),
    p50_ms: round(percentile(latencies, 50), 3),
    p99_ms: round(percentile(latencies, 99), 3),
    mean_ms: round(latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length), 3),
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    latencies,
  };
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export interface Answer {
  index: number;
  status: number;
  /** The parsed JSON body, or null when there was none (a connection error: status 0). */
  body: Record<string, unknown> | null;
  error?: string;
  ms: number;
}

/** Sends `bodies` with at most `concurrency` in flight; every request gets an answer or an error. */
export async function fetchAll(url: string, bodies: unknown[], concurrency: number, opts: { timeoutMs?: number } = {}): Promise<Answer[]> {
  const answers: Answer[] = new Array(bodies.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < bodies.length; i = next++) {
      const t0 = performance.now();
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(bodies[i]),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
        });
        const text = await res.text();
        let body: Record<string, unknown> | null = null;
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          body = { raw: text.slice(0, 200) };
        }
        answers[i] = { index: i, status: res.status, body, ms: performance.now() - t0 };
      } catch (err) {
        answers[i] = { index: i, status: 0, body: null, error: String((err as Error)?.message ?? err), ms: performance.now() - t0 };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, bodies.length) }, worker));
  return answers;
}
