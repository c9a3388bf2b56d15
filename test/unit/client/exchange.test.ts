import { describe, expect, it } from 'vitest';
import {
  backoff,
  brokerEndpoint,
  exchangeToken,
  revokeRequest,
  type CallOptions,
  type Transport,
  type TransportResponse,
} from '../../../client/exchange.ts';

const OK_BODY = {
  request_id: 'r1',
  role: 'deploy',
  expires_at: '2030-01-01T00:00:00Z',
  credentials: [{ type: 'secret', name: 'K', value: 'v' }],
};

type Step = { status: number; body?: unknown; headers?: Record<string, string> } | { throws: unknown };

/** A transport that plays `steps` in order and records what was sent; a frozen clock advanced by sleep. */
function scripted(steps: Step[], timeoutMs = 60_000) {
  const sent: Array<{ url: string; body: Record<string, unknown>; timeoutMs: number }> = [];
  const sleeps: number[] = [];
  let clock = 0;
  let n = 0;
  const transport: Transport = async (url, body, t) => {
    sent.push({ url, body: JSON.parse(body) as Record<string, unknown>, timeoutMs: t });
    const step = steps[Math.min(n++, steps.length - 1)]!;
    if ('throws' in step) throw step.throws;
    const headers = new Map(Object.entries(step.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const res: TransportResponse = {
      status: step.status,
      header: (name) => headers.get(name.toLowerCase()) ?? null,
      text: async () => (typeof step.body === 'string' ? step.body : JSON.stringify(step.body ?? '')),
    };
    return res;
  };
  let tokenCount = 0;
  const options: CallOptions = {
    brokerUrl: 'https://broker.test',
    getToken: async () => `token-${++tokenCount}`,
    transport,
    timeoutMs,
    retries: 3,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    random: () => 0.5,
    now: () => clock,
  };
  return { options, sent, sleeps };
}

describe('exchangeToken', () => {
  it('posts the token and role to /v1/exchange and returns the parsed response and the raw body', async () => {
    const { options, sent } = scripted([{ status: 200, body: OK_BODY }]);
    const r = await exchangeToken('deploy', options);
    expect(r.ok && r.response.credentials).toEqual([{ type: 'secret', name: 'K', env: 'K', value: 'v' }]);
    expect(r.ok && r.body).toEqual(OK_BODY);
    expect(sent).toEqual([{ url: 'https://broker.test/v1/exchange', body: { token: 'token-1', role: 'deploy' }, timeoutMs: 60_000 }]);
  });

  it('sends grants as a list when given, and no grants field when empty or absent', async () => {
    const { options, sent } = scripted([{ status: 200, body: OK_BODY }]);
    await exchangeToken('deploy', { ...options, grants: ['aws', 'DATABASE_URL'] });
    await exchangeToken('deploy', { ...options, grants: [] });
    expect(sent.map((s) => s.body)).toEqual([
      { token: 'token-1', role: 'deploy', grants: ['aws', 'DATABASE_URL'] },
      { token: 'token-2', role: 'deploy' },
    ]);
  });

  it('retries network errors, 429 and 5xx with a fresh token each time and growing, jittered waits', async () => {
    const { options, sent, sleeps } = scripted([
      { throws: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }) },
      { status: 429, body: { error: 'ERR_RATE_LIMITED' } },
      { status: 503, body: { error: 'ERR_UNAVAILABLE' } },
      { status: 200, body: OK_BODY },
    ]);
    const retries: string[] = [];
    const r = await exchangeToken('deploy', { ...options, onRetry: (i) => retries.push(`${i.attempt}:${i.reason}`) });
    expect(r.ok).toBe(true);
    expect(sent.map((s) => s.body.token)).toEqual(['token-1', 'token-2', 'token-3', 'token-4']);
    expect(sleeps).toEqual([375, 750, 1500]);
    expect(retries).toEqual(['1:ECONNREFUSED', '2:ERR_RATE_LIMITED', '3:ERR_UNAVAILABLE']);
  });

  it.each([400, 401, 403, 404, 413])('does not retry %i', async (status) => {
    const { options, sent } = scripted([{ status, body: { error: 'ERR_ACCESS_DENIED', message: 'secret detail', request_id: 'req-1' } }]);
    const r = await exchangeToken('deploy', options);
    expect(sent).toHaveLength(1);
    expect(r).toEqual({ ok: false, kind: 'refused', status, code: 'ERR_ACCESS_DENIED', requestId: 'req-1', attempts: 1 });
  });

  it('gives up after the retries, reporting the last failure', async () => {
    const { options, sent } = scripted([{ status: 502, body: { error: 'ERR_UPSTREAM', request_id: 'r9' } }]);
    const r = await exchangeToken('deploy', { ...options, retries: 2 });
    expect(sent).toHaveLength(3);
    expect(r).toEqual({ ok: false, kind: 'unavailable', status: 502, code: 'ERR_UPSTREAM', requestId: 'r9', attempts: 3 });
  });

  it('keeps to the deadline: no wait that would end after it, and each attempt gets what is left', async () => {
    const { options, sent, sleeps } = scripted([{ status: 503 }], 1_000);
    const r = await exchangeToken('deploy', { ...options, retries: 10 });
    expect(sleeps).toEqual([375]);
    expect(sent.map((s) => s.timeoutMs)).toEqual([1000, 625]);
    expect(r.ok || r.attempts).toBe(2);
  });

  it('honours Retry-After (capped at 30 s)', async () => {
    const { options, sleeps } = scripted(
      [
        { status: 429, headers: { 'Retry-After': '2' } },
        { status: 429, headers: { 'retry-after': '999' } },
        { status: 200, body: OK_BODY },
      ],
      600_000,
    );
    await exchangeToken('deploy', options);
    expect(sleeps).toEqual([2000, 30_000]);
  });

  it('takes only a well-formed code and request id from an error body, else the X-Request-Id header', async () => {
    const { options } = scripted([
      { status: 403, body: { error: 'evil\n::error::forged', request_id: 'a b\nc' }, headers: { 'X-Request-Id': 'hdr-1' } },
    ]);
    expect(await exchangeToken('deploy', options)).toEqual({ ok: false, kind: 'refused', status: 403, requestId: 'hdr-1', attempts: 1 });
    const html = scripted([{ status: 502, body: '<html>proxy</html>' }]);
    expect(await exchangeToken('deploy', { ...html.options, retries: 0 })).toEqual({
      ok: false,
      kind: 'unavailable',
      status: 502,
      attempts: 1,
    });
  });

  it('a 200 that is not a broker response is "invalid", naming the field but not the value', async () => {
    const { options } = scripted([{ status: 200, body: { ...OK_BODY, credentials: [{ type: 'aws', access_key_id: 'AKID-SECRET' }] } }]);
    const r = await exchangeToken('deploy', options);
    expect(r).toEqual({
      ok: false,
      kind: 'invalid',
      status: 200,
      requestId: 'r1',
      reason: 'credentials[0] (aws): "secret_access_key" is missing or not a string',
      attempts: 1,
    });
    const notJson = scripted([{ status: 200, body: 'AKID-SECRET' }]);
    expect(await exchangeToken('deploy', notJson.options)).toMatchObject({ ok: false, kind: 'invalid', reason: 'the answer is not JSON' });
  });

  it('a redirect is not followed and not retried', async () => {
    const { options, sent } = scripted([{ status: 302, headers: { location: 'https://elsewhere' } }]);
    expect(await exchangeToken('deploy', options)).toMatchObject({
      ok: false,
      kind: 'invalid',
      status: 302,
      reason: 'redirects are not followed',
    });
    expect(sent).toHaveLength(1);
  });

  it('a failing token source stops at once', async () => {
    const { options, sent } = scripted([{ status: 200, body: OK_BODY }]);
    const r = await exchangeToken('deploy', { ...options, getToken: async () => Promise.reject(new Error('no permission')) });
    expect(r).toEqual({ ok: false, kind: 'token', reason: 'no permission', attempts: 1 });
    expect(sent).toHaveLength(0);
  });

  it('reports timeouts and TLS failures by code, never by message', async () => {
    const timeout = scripted([{ throws: Object.assign(new Error('x'), { name: 'TimeoutError' }) }]);
    expect(await exchangeToken('deploy', { ...timeout.options, retries: 0 })).toMatchObject({ kind: 'unavailable', reason: 'timeout' });
    const tls = scripted([{ throws: Object.assign(new TypeError('fetch failed'), { cause: { code: 'SELF_SIGNED_CERT_IN_CHAIN' } }) }]);
    expect(await exchangeToken('deploy', { ...tls.options, retries: 0 })).toMatchObject({
      kind: 'unavailable',
      reason: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    const odd = scripted([{ throws: new Error('token=abc leaked in a message') }]);
    expect(await exchangeToken('deploy', { ...odd.options, retries: 0 })).toMatchObject({ reason: 'network error' });
  });
});

describe('revokeRequest', () => {
  it('posts a fresh token and the request id to /v1/revoke', async () => {
    const { options, sent } = scripted([
      {
        status: 200,
        body: {
          revoked: [
            { type: 'github', ok: true },
            { type: 'aws', ok: false },
            { type: 'x\ny', ok: true },
          ],
        },
      },
    ]);
    expect(await revokeRequest('r1', { ...options, brokerUrl: 'https://broker.test/sb/' })).toEqual({
      ok: true,
      status: 200,
      revoked: ['github'],
    });
    expect(sent).toEqual([{ url: 'https://broker.test/sb/v1/revoke', body: { token: 'token-1', request_id: 'r1' }, timeoutMs: 60_000 }]);
  });
});

describe('brokerEndpoint and backoff', () => {
  it('keeps a path prefix', () => {
    expect(brokerEndpoint('https://b.test', 'v1/exchange')).toBe('https://b.test/v1/exchange');
    expect(brokerEndpoint('https://b.test/prefix', 'v1/exchange')).toBe('https://b.test/prefix/v1/exchange');
    expect(brokerEndpoint('http://127.0.0.1:8787/', 'v1/revoke')).toBe('http://127.0.0.1:8787/v1/revoke');
  });

  it('doubles from 500 ms to 8 s, between half and all of it', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoff(a, () => 0))).toEqual([250, 500, 1000, 2000, 4000, 4000, 4000]);
    expect([1, 2, 5, 9].map((a) => backoff(a, () => 1))).toEqual([500, 1000, 8000, 8000]);
  });
});
