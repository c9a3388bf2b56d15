// The transport for runtimes with fetch (the CLI on Node 24). Node's fetch honours HTTPS_PROXY / NO_PROXY
// when NODE_USE_ENV_PROXY=1 is set, and NODE_EXTRA_CA_CERTS for a private CA.
import type { Transport } from './exchange.ts';

export function fetchTransport(fetchFn: typeof fetch = fetch, userAgent = 'secret-broker-cli'): Transport {
  return async (url, body, timeoutMs) => {
    const signal = AbortSignal.timeout(timeoutMs);
    // Redirects are not followed: the body carries the ID token, which belongs to the broker alone.
    const res = await fetchFn(url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal,
      headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': userAgent },
    });
    return { status: res.status, header: (name) => res.headers.get(name), text: () => res.text() };
  };
}
