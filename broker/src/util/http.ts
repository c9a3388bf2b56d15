// Outbound HTTP with the limits every upstream call needs: a deadline, a size cap, and no redirects.
export type FetchLike = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

export type Fetched =
  | { ok: true; status: number; headers: Headers; body: string }
  | { ok: false; reason: 'timeout' | 'network' | 'redirect' | 'too_large'; detail: string };

export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
}

/** Fetches without following redirects and reads at most `maxBytes` of the body, all within the deadline. */
export async function fetchLimited(fetchFn: FetchLike, url: string, init: RequestInit, limits: FetchLimits): Promise<Fetched> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let res: Response;
  try {
    res = await fetchFn(url, { ...init, redirect: 'manual', signal });
  } catch (err) {
    return failure(err, signal);
  }
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel().catch(() => {});
    return { ok: false, reason: 'redirect', detail: `HTTP ${res.status} redirect refused` };
  }
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > limits.maxBytes) {
    await res.body?.cancel().catch(() => {});
    return { ok: false, reason: 'too_large', detail: `content-length ${declared} over ${limits.maxBytes}` };
  }
  try {
    const body = await readCapped(res, limits.maxBytes);
    if (body === undefined) return { ok: false, reason: 'too_large', detail: `body over ${limits.maxBytes} bytes` };
    return { ok: true, status: res.status, headers: res.headers, body };
  } catch (err) {
    return failure(err, signal);
  }
}

function failure(err: unknown, signal: AbortSignal): Fetched {
  if (signal.aborted) return { ok: false, reason: 'timeout', detail: 'deadline exceeded' };
  return { ok: false, reason: 'network', detail: (err as Error)?.message?.slice(0, 200) ?? 'network error' };
}

/** Reads a body as UTF-8 text, giving up (and cancelling) once it exceeds `maxBytes`. */
export async function readCapped(res: Response | Request, maxBytes: number): Promise<string | undefined> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(all);
}
