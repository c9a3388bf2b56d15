// GET /v1/audit under BROKER_RATE_LIMITS: the per-client limit counts every admin request before the token
// is looked at (wrong, malformed and missing tokens included), so the admin token cannot be guessed faster
// than the limit; the budget is the one the client's exchanges use; refusals are audited.
import { beforeEach, describe, expect, it } from 'vitest';
import { createAdminAuth } from '../../../broker/src/admin/auth.ts';
import { createApp } from '../../../broker/src/app.ts';
import { MemoryRateCounter, parseRateLimits, RateLimiter } from '../../../broker/src/ratelimit.ts';
import { AUDIENCE, buildTestBroker, ISSUER_URL, type TestBroker } from '../../helpers/broker.ts';
import { baseClaims, sign } from '../../helpers/issuer.ts';

const TOKEN = 'admin-token-0123456789abcdefghij';

let b: TestBroker;
let app: ReturnType<typeof createApp>;

beforeEach(async () => {
  b = await buildTestBroker();
  app = createApp({
    ...b.deps,
    admin: { auth: createAdminAuth({ token: TOKEN })! },
    rateLimiter: new RateLimiter(parseRateLimits('client=3/1m'), new MemoryRateCounter()),
    // The test names the client address in a header of its own.
    clientIp: (req) => req.headers.get('x-test-client') ?? '192.0.2.1',
  });
});

const audit = (headers: Record<string, string>, client = '192.0.2.1') =>
  Promise.resolve(app.request('/v1/audit?limit=1', { headers: { 'x-test-client': client, ...headers } }));
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const records = () => b.audit.entries.map((e) => JSON.parse(e.record) as { action: string; code: string; reason: string });

describe('/v1/audit is rate-limited per client address, wrong admin tokens included', () => {
  it('counts wrong admin tokens against the client limit, then refuses even the right token until the window ends', async () => {
    for (const guess of ['admin-token-0123456789abcdefghiX', 'admin-token-0123456789abcdefghiY', 'nope']) {
      expect((await audit(bearer(guess))).status).toBe(401);
    }
    const limited = await audit(bearer(TOKEN));
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: string }).error).toBe('ERR_RATE_LIMITED');
    // Every request, the refused ones too, left one admin_query record; the limited one says why.
    expect(records().map((r) => [r.action, r.code])).toEqual([
      ['admin_query', 'ERR_TOKEN_INVALID'],
      ['admin_query', 'ERR_TOKEN_INVALID'],
      ['admin_query', 'ERR_TOKEN_INVALID'],
      ['admin_query', 'ERR_RATE_LIMITED'],
    ]);
    expect(records().at(-1)!.reason).toBe('rate_limit.client');
    // The next window: the right token works again.
    b.clock.now += 60_000;
    expect((await audit(bearer(TOKEN))).status).toBe(200);
  });

  it.each([
    ['no credentials', {}],
    ['a malformed Authorization header', { authorization: 'Basic YWRtaW46YWRtaW4=' }],
    ['an overlong bearer token', bearer('x'.repeat(600))],
    ['a Cloudflare Access assertion with no Access configured', { 'cf-access-jwt-assertion': 'a.b.c' }],
  ])('counts requests with %s', async (_name, headers) => {
    for (let i = 0; i < 3; i++) expect((await audit(headers)).status).toBe(401);
    expect((await audit(bearer(TOKEN))).status).toBe(429);
  });

  it('counts successful admin queries too, and shares the budget with the same client’s exchanges', async () => {
    expect((await audit(bearer(TOKEN))).status).toBe(200);
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, b.clock.now / 1000, { repository_id: '123', ref: 'refs/heads/main' }));
    const res = await app.request('/v1/exchange', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-client': '192.0.2.1' },
      body: JSON.stringify({ token, role: 'app' }),
    });
    expect(res.status).toBe(200);
    expect((await audit(bearer(TOKEN))).status).toBe(200);
    expect((await audit(bearer(TOKEN))).status).toBe(429);
  });

  it('limits each client address on its own', async () => {
    for (let i = 0; i < 3; i++) await audit(bearer('wrong-token-0123456789abcdefghij'), '198.51.100.7');
    expect((await audit(bearer(TOKEN), '198.51.100.7')).status).toBe(429);
    expect((await audit(bearer(TOKEN), '203.0.113.9')).status).toBe(200);
  });

  it('is not limited when BROKER_RATE_LIMITS sets no client limit', async () => {
    app = createApp({
      ...b.deps,
      admin: { auth: createAdminAuth({ token: TOKEN })! },
      rateLimiter: new RateLimiter(parseRateLimits('subject=1/1m'), new MemoryRateCounter()),
    });
    for (let i = 0; i < 5; i++) expect((await audit(bearer('wrong'))).status).toBe(401);
    expect((await audit(bearer(TOKEN))).status).toBe(200);
  });
});
