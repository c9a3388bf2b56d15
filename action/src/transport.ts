// The HTTP transport for the action: @actions/http-client, which honours HTTPS_PROXY / HTTP_PROXY / NO_PROXY
// the way every GitHub Action does, on self-hosted runners behind a proxy. Private CAs come from
// NODE_EXTRA_CA_CERTS, which Node reads at start-up (set it in the job's env).
import { HttpClient } from '@actions/http-client';
import type { Transport } from '../../client/exchange.ts';

declare const ACTION_VERSION: string | undefined;
const USER_AGENT = `secret-broker-action/${typeof ACTION_VERSION === 'string' ? ACTION_VERSION : 'dev'}`;

export const httpTransport: Transport = async (url, body, timeoutMs) => {
  // Redirects are refused (the body carries the ID token) and retries are ours, with a fresh token each.
  const client = new HttpClient(USER_AGENT, [], { allowRedirects: false, allowRetries: false, socketTimeout: timeoutMs, keepAlive: false });
  let timer: ReturnType<typeof setTimeout> | undefined;
  // socketTimeout is an idle timeout; this bounds the whole request, including a slowly dripping answer.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { name: 'TimeoutError' })), timeoutMs);
  });
  try {
    const res = await Promise.race([client.post(url, body, { 'content-type': 'application/json', accept: 'application/json' }), deadline]);
    const text = await Promise.race([res.readBody(), deadline]);
    const headers = res.message.headers;
    return {
      status: res.message.statusCode ?? 0,
      header: (name) => {
        const v = headers[name.toLowerCase()];
        return typeof v === 'string' ? v : null;
      },
      text: async () => text,
    };
  } finally {
    clearTimeout(timer);
    client.dispose();
  }
};
