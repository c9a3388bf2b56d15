// Graceful shutdown of the Node server. On drain: stop accepting connections, close idle keep-alive
// sockets, let every request in flight finish (each response then closes its socket), and answer 503 to a
// request still running when the grace runs out rather than resetting its connection. The caller closes
// the stores only once `drain()` resolves, so no request is left writing to a closed database.
import type { Server } from 'node:http';
import { errorBody } from '../../src/errors.ts';
import { newRequestId } from '../../src/util/ids.ts';

type Fetch = (req: Request, env: unknown) => Response | Promise<Response>;

/** After the grace, how long answered-503 handlers still get to finish (their audit write) before the stores close. */
const SETTLE_MS = 5_000;

export interface Drainer {
  /** The server's fetch, counting requests in flight and closing connections while draining. */
  fetch: Fetch;
  readonly draining: boolean;
  /** Stops accepting and waits for the requests in flight (at most `graceMs`, then 503s). */
  drain(server: Server, graceMs: number): Promise<{ inFlight: number; cutOff: number }>;
}

interface Running {
  handled: Promise<Response>;
  /** Makes this request answer 503 now. */
  cut: () => void;
}

export function createDrainer(inner: Fetch, now: () => number, log: (line: Record<string, unknown>) => void): Drainer {
  const running = new Set<Running>();
  let draining = false;
  /** The grace ran out: every request still running, and any that arrives, answers 503. */
  let expired = false;
  let cutOff = 0;

  const unavailable = (): Response => {
    cutOff++;
    const requestId = newRequestId(now());
    log({
      level: 'warn',
      event: 'shutdown.grace_expired',
      request_id: requestId,
      code: 'ERR_UNAVAILABLE',
      detail: 'shutdown.grace_expired',
    });
    return new Response(JSON.stringify(errorBody('ERR_UNAVAILABLE', requestId)), {
      status: 503,
      headers: {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        'x-request-id': requestId,
        'x-content-type-options': 'nosniff',
        'retry-after': '1',
        connection: 'close',
      },
    });
  };

  const expire = () => {
    expired = true;
    for (const r of running) r.cut();
  };

  const fetch: Fetch = async (req, env) => {
    const handled = Promise.resolve().then(() => inner(req, env));
    let cut!: () => void;
    const cutNow = new Promise<'cut'>((resolve) => {
      cut = () => resolve('cut');
    });
    const entry: Running = { handled, cut };
    running.add(entry);
    void handled.then(
      () => running.delete(entry),
      () => running.delete(entry),
    );
    if (expired) cut();
    const res = await Promise.race([handled, cutNow]);
    if (res === 'cut') return unavailable();
    if (!draining) return res;
    // Keep-alive connections close after their current response.
    const headers = new Headers(res.headers);
    headers.set('connection', 'close');
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  };

  const settled = async () => {
    while (running.size > 0) await Promise.allSettled([...running].map((r) => r.handled));
  };
  // Waits for `promise`, at most `ms`. The timer holds the process open meanwhile (a drain must not end in
  // an empty event loop while a request still waits for its body) and is cleared as soon as one settles.
  const within = async (promise: Promise<unknown>, ms: number) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  };

  return {
    fetch,
    get draining() {
      return draining;
    },
    async drain(server, graceMs) {
      draining = true;
      const inFlight = running.size;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await within(settled(), graceMs);
      expire();
      // Handlers answered 503 may still be writing their audit record: give them a moment, then move on.
      await within(settled(), SETTLE_MS);
      // Responses are out; sockets still open now are idle or mid-headers of a request that will not be served.
      await within(closed, 1_000);
      server.closeAllConnections();
      return { inFlight, cutOff };
    },
  };
}
