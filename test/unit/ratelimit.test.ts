// ERR_RATE_LIMITED: per client before parsing, per identity before the jti is claimed; opt-in.
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryRateCounter, parseRateLimits, RateLimiter } from '../../broker/src/ratelimit.ts';
import { AUDIENCE, buildTestBroker, ISSUER_URL, T0, type TestBroker } from '../helpers/broker.ts';
import { baseClaims, sign } from '../helpers/issuer.ts';

describe('parseRateLimits', () => {
  it('reads kind=N/duration pairs', () => {
    expect(parseRateLimits('client=600/1m, subject=30/10s')).toEqual({
      client: { limit: 600, windowS: 60 },
      subject: { limit: 30, windowS: 10 },
    });
    expect(parseRateLimits(undefined)).toEqual({});
    expect(parseRateLimits(' ')).toEqual({});
  });
  it.each(['client=0/1m', 'user=5/1m', 'client=5', 'client=5/forever', 'client=-1/1m'])('refuses %j', (text) => {
    expect(() => parseRateLimits(text)).toThrow(/BROKER_RATE_LIMITS/);
  });
});

describe('limits on the exchange', () => {
  let b: TestBroker;
  const good = { repository_id: '123', ref: 'refs/heads/main' };
  beforeEach(async () => {
    b = await buildTestBroker();
  });

  it('limits one identity, without using up the refused token', async () => {
    b.deps.rateLimiter = new RateLimiter(parseRateLimits('subject=2/1m'), new MemoryRateCounter());
    const tokens = await Promise.all([0, 1, 2].map(() => sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, T0 / 1000, good))));
    expect((await b.post({ token: tokens[0], role: 'app' })).status).toBe(200);
    expect((await b.post({ token: tokens[1], role: 'app' })).status).toBe(200);
    const limited = await b.post({ token: tokens[2], role: 'app' });
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: string }).error).toBe('ERR_RATE_LIMITED');
    expect(b.mintCalls).toHaveLength(2);
    // Another identity is not affected.
    const other = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, T0 / 1000, { ...good, sub: 'repo:acme/other' }));
    expect((await b.post({ token: other, role: 'app' })).status).toBe(200);
    // The next window: the refused token still works (its jti was not claimed).
    b.clock.now += 60_000;
    expect((await b.post({ token: tokens[2], role: 'app' })).status).toBe(200);
    expect(b.audit.records().map((r) => r.code)).toEqual(['OK', 'OK', 'ERR_RATE_LIMITED', 'OK', 'OK']);
  });

  it('limits one client address before anything is parsed', async () => {
    b.deps.rateLimiter = new RateLimiter(parseRateLimits('client=3/1m'), new MemoryRateCounter());
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await b.post('{not even json')).status);
    expect(statuses).toEqual([400, 400, 400, 429, 429]);
    expect(b.audit.records().at(-1)).toMatchObject({ code: 'ERR_RATE_LIMITED', reason: 'rate_limit.client', client_ip: '192.0.2.1' });
  });

  it('a failing counter lets requests through (limits protect capacity, not access)', async () => {
    const errors: unknown[] = [];
    b.deps.rateLimiter = new RateLimiter(
      parseRateLimits('client=1/1m,subject=1/1m'),
      { hit: () => Promise.reject(new Error('down')) },
      (e) => errors.push(e),
    );
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, T0 / 1000, good));
    expect((await b.post({ token, role: 'app' })).status).toBe(200);
    expect(errors).toHaveLength(2);
  });
});
