// docs/SECURITY.md "Tokens": each rule, attacked through the real HTTP route with a frozen clock and fake issuers.
import { base64url, exportJWK, SignJWT, generateSecret } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { AUDIENCE, buildTestBroker, ISSUER_URL, T0, type TestBroker } from '../../helpers/broker.ts';
import { baseClaims, makeKey, sign } from '../../helpers/issuer.ts';

const NOW_S = T0 / 1000;
const good = { repository_id: '123', ref: 'refs/heads/main' };

let b: TestBroker;
beforeEach(async () => {
  b = await buildTestBroker();
});

async function exchangeCode(token: string, role = 'app') {
  const res = await b.post({ token, role });
  const body = (await res.json()) as { error?: string };
  return { status: res.status, code: body.error ?? 'OK' };
}

describe('allowlisted issuers only', () => {
  it('refuses an unknown issuer without any network call', async () => {
    const token = await sign(b.key, baseClaims('https://evil.example', AUDIENCE, NOW_S, good));
    expect(await exchangeCode(token)).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
    expect(b.fetchCalls).toEqual([]);
  });

  it.each([`${ISSUER_URL}/`, 'https://ISSUER.test', 'https://issuer.test:443', ' https://issuer.test', 'https://issuer.test#'])(
    'compares the issuer exactly: %j is not the configured issuer',
    async (iss) => {
      const token = await sign(b.key, baseClaims(iss, AUDIENCE, NOW_S, good));
      expect(await exchangeCode(token)).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
      expect(b.fetchCalls).toEqual([]);
    },
  );

  it('accepts a valid token from the configured issuer', async () => {
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good));
    expect(await exchangeCode(token)).toEqual({ status: 200, code: 'OK' });
  });

  it('refuses keys whose discovery document names another issuer', async () => {
    b.issuer.behaviour = 'wrong_issuer';
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good));
    expect(await exchangeCode(token)).toEqual({ status: 503, code: 'ERR_UNAVAILABLE' });
  });

  it('refuses a jwks_uri on another origin', async () => {
    b.issuer.behaviour = 'offsite_jwks';
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good));
    expect(await exchangeCode(token)).toEqual({ status: 503, code: 'ERR_UNAVAILABLE' });
    expect(b.fetchCalls.some((u) => u.includes('evil.example'))).toBe(false);
  });

  it.each(['redirect', 'huge', 'garbage', 'fail500', 'hang'] as const)('gets no keys from a %s response', async (behaviour) => {
    b.issuer.behaviour = behaviour;
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good));
    expect(await exchangeCode(token)).toEqual({ status: 503, code: 'ERR_UNAVAILABLE' });
  });

  it('never pools keys: a token for issuer A signed with issuer B key (same kid) is refused', async () => {
    // Load both issuers' keys first.
    await exchangeCode(await sign(b.otherKey, baseClaims('https://other-issuer.test', AUDIENCE, NOW_S, good)));
    const forged = await sign(b.otherKey, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good));
    expect(await exchangeCode(forged)).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
  });
});

describe('pinned algorithms and key headers', () => {
  it('refuses alg none', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', kid: 'key-1', typ: 'JWT' }));
    const payload = base64url.encode(JSON.stringify(baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good)));
    expect((await exchangeCode(`${header}.${payload}.AAAA`)).code).toBe('ERR_TOKEN_INVALID');
    expect((await exchangeCode(`${header}.${payload}.`)).code).toBe('ERR_REQUEST_INVALID');
  });

  it('refuses HS256 signed with the public key as the HMAC secret (algorithm confusion)', async () => {
    const pub = new TextEncoder().encode(JSON.stringify(b.key.publicJwk));
    const token = await new SignJWT(baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good))
      .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
      .sign(pub);
    expect(await exchangeCode(token)).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
  });

  it('refuses an algorithm the issuer is not pinned to, even with a valid signature', async () => {
    const es = await makeKey('key-1', 'ES256');
    b.issuer.keys.push(es);
    const token = await sign(es, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good));
    expect(await exchangeCode(token)).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
    const ps = await makeKey('key-ps', 'RS512');
    b.issuer.keys.push(ps);
    expect((await exchangeCode(await sign(ps, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good)))).code).toBe('ERR_TOKEN_INVALID');
  });

  it.each(['jku', 'x5u', 'jwk', 'x5c'])('refuses a %s header and never fetches from it', async (h) => {
    const attacker = await makeKey('key-1');
    const value =
      h === 'jwk'
        ? await exportJWK((await makeKey('x')).privateKey).then(({ n, e, kty }) => ({ n, e, kty }))
        : h === 'x5c'
          ? ['MIIB']
          : 'https://evil.example/keys';
    const token = await sign(attacker, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good), { header: { [h]: value } });
    expect(await exchangeCode(token)).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
    expect(b.fetchCalls.some((u) => u.includes('evil'))).toBe(false);
  });

  it('refuses a token without kid', async () => {
    const token = await new SignJWT(baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good))
      .setProtectedHeader({ alg: 'RS256' })
      .sign(b.key.privateKey);
    expect(await exchangeCode(token)).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
  });

  it('refuses a tampered payload and a tampered signature', async () => {
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, { ...good, ref: 'refs/heads/dev' }));
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(p)));
    claims.ref = 'refs/heads/main';
    const forged = `${h}.${base64url.encode(JSON.stringify(claims))}.${s}`;
    expect(await exchangeCode(forged)).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
    const flipped = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expect((await exchangeCode(flipped)).code).toBe('ERR_TOKEN_INVALID');
  });

  it('refuses a crit header (signed by hand: jose will not sign one it does not understand)', async () => {
    const enc = (v: unknown) => base64url.encode(JSON.stringify(v));
    const input = `${enc({ alg: 'RS256', kid: 'key-1', crit: ['x-ext'], 'x-ext': 1 })}.${enc(baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good))}`;
    const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', b.key.privateKey, new TextEncoder().encode(input));
    expect((await exchangeCode(`${input}.${base64url.encode(new Uint8Array(sig))}`)).code).toBe('ERR_TOKEN_INVALID');
  });
});

describe('required claims and audience', () => {
  it.each(['iss', 'sub', 'aud', 'exp', 'iat', 'jti'])('refuses a token without %s', async (claim) => {
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good), { omit: [claim] });
    const { status, code } = await exchangeCode(token);
    expect(status).toBe(401);
    expect(code).toBe('ERR_TOKEN_INVALID');
  });

  it.each([
    ['another audience', 'https://other.test'],
    ['a prefix of ours', 'https://broker.tes'],
    ['ours with a trailing slash', `${AUDIENCE}/`],
    ['several audiences including ours', [AUDIENCE, 'https://other.test']],
    ['an empty list', []],
  ])('refuses %s', async (_name, aud) => {
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, { ...good, aud: aud as string }));
    expect(await exchangeCode(token)).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
  });

  it('accepts a one-element audience list equal to ours', async () => {
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, { ...good, aud: [AUDIENCE] }));
    expect((await exchangeCode(token)).code).toBe('OK');
  });

  it.each([
    ['numeric jti', { jti: 12345 }],
    ['empty sub', { sub: '' }],
    ['string exp', { exp: String(NOW_S + 300) }],
  ])('refuses a %s', async (_n, extra) => {
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, { ...good, ...(extra as object) }));
    expect((await exchangeCode(token)).code).toBe('ERR_TOKEN_INVALID');
  });
});

describe('time window (30 s tolerance, maximum age, lifetime cap)', () => {
  const at = (offsets: { iat?: number; nbf?: number; exp?: number }) =>
    baseClaims(ISSUER_URL, AUDIENCE, NOW_S, {
      ...good,
      iat: NOW_S + (offsets.iat ?? 0),
      nbf: NOW_S + (offsets.nbf ?? 0),
      exp: NOW_S + (offsets.exp ?? 300),
    });

  it.each([
    ['expired 20 s ago (within tolerance)', { iat: -280, nbf: -280, exp: -20 }, 'OK'],
    ['expired 40 s ago', { iat: -280, nbf: -280, exp: -40 }, 'ERR_TOKEN_EXPIRED'],
    ['not before 20 s from now', { nbf: 20 }, 'OK'],
    ['not before 40 s from now', { nbf: 40 }, 'ERR_TOKEN_EXPIRED'],
    ['issued 40 s in the future', { iat: 40, nbf: 0, exp: 340 }, 'ERR_TOKEN_EXPIRED'],
    ['older than max_token_age (10m)', { iat: -11 * 60, nbf: -11 * 60, exp: 300 }, 'ERR_TOKEN_EXPIRED'],
    ['living longer than max_token_lifetime (1h)', { exp: 2 * 3600 }, 'ERR_TOKEN_EXPIRED'],
    ['exp before iat (malformed)', { iat: -10, nbf: -10, exp: -20 }, 'ERR_TOKEN_INVALID'],
  ])('%s -> %s', async (_name, offsets, code) => {
    const token = await sign(b.key, at(offsets));
    expect((await exchangeCode(token)).code).toBe(code);
  });
});

describe('single use of jti', () => {
  it('a second use is refused', async () => {
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good));
    expect((await exchangeCode(token)).code).toBe('OK');
    expect(await exchangeCode(token)).toEqual({ status: 401, code: 'ERR_TOKEN_REPLAYED' });
  });

  it('a new token with the same jti is refused too (the jti is what is claimed)', async () => {
    const claims = baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good);
    expect((await exchangeCode(await sign(b.key, claims))).code).toBe('OK');
    expect(await exchangeCode(await sign(b.key, { ...claims, ref: 'refs/heads/main', iat: NOW_S + 1 }))).toEqual({
      status: 401,
      code: 'ERR_TOKEN_REPLAYED',
    });
  });

  it('50 concurrent copies yield exactly one success', async () => {
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good));
    const results = await Promise.all(Array.from({ length: 50 }, () => exchangeCode(token)));
    expect(results.filter((r) => r.code === 'OK')).toHaveLength(1);
    expect(results.filter((r) => r.code === 'ERR_TOKEN_REPLAYED')).toHaveLength(49);
  });

  it('is remembered until exp plus leeway, past the clock tolerance', async () => {
    const claims = baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good);
    await exchangeCode(await sign(b.key, claims));
    const [expiresAt] = [...b.replay.used.values()];
    expect(expiresAt).toBeGreaterThan((claims.exp as number) + 30);
  });

  it('a denied request still uses up its jti', async () => {
    const claims = baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good);
    expect((await exchangeCode(await sign(b.key, claims), 'locked')).code).toBe('ERR_ACCESS_DENIED');
    expect((await exchangeCode(await sign(b.key, claims))).code).toBe('ERR_TOKEN_REPLAYED');
  });
});

describe('JWKS guard', () => {
  it('random kids cause at most one refetch per cooldown', async () => {
    await exchangeCode(await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good)));
    const before = b.fetchCalls.length;
    b.clock.now += 31_000;
    for (let i = 0; i < 100; i++) {
      const k = { ...b.otherKey, kid: `random-${i}` };
      expect((await exchangeCode(await sign(k, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good)))).code).toBe('ERR_TOKEN_INVALID');
    }
    // One refresh = discovery + JWKS.
    expect(b.fetchCalls.length - before).toBe(2);
    b.clock.now += 31_000;
    const k = { ...b.otherKey, kid: 'random-late' };
    await exchangeCode(await sign(k, baseClaims(ISSUER_URL, AUDIENCE, NOW_S + 62, good)));
    expect(b.fetchCalls.length - before).toBe(4);
  });

  it('a rotated-in key is picked up by the unknown-kid refetch once the cooldown has passed', async () => {
    await exchangeCode(await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good)));
    const next = await makeKey('key-2');
    b.issuer.keys.push(next);
    expect((await exchangeCode(await sign(next, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good)))).code).toBe('ERR_TOKEN_INVALID');
    b.clock.now += 31_000;
    expect((await exchangeCode(await sign(next, baseClaims(ISSUER_URL, AUDIENCE, NOW_S + 31, good)))).code).toBe('OK');
  });

  it('a failing issuer is fetched a bounded number of times however many requests arrive', async () => {
    b.issuer.behaviour = 'fail500';
    for (let i = 0; i < 200; i++) {
      b.clock.now += 100; // 20 s in all
      await exchangeCode(await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, b.clock.now / 1000, good)));
    }
    // Backoff 1 s, 2 s, 4 s, 8 s...: a handful of discovery attempts, not 200.
    expect(b.fetchCalls.length).toBeLessThanOrEqual(6);
  });

  it('keeps the last good keys when a refresh fails or returns garbage', async () => {
    expect((await exchangeCode(await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good)))).code).toBe('OK');
    for (const behaviour of ['garbage', 'fail500', 'hang'] as const) {
      b.issuer.behaviour = behaviour;
      b.clock.now += 11 * 60_000; // past the refresh interval
      const nowS = b.clock.now / 1000;
      expect((await exchangeCode(await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, nowS, good)))).code).toBe('OK');
    }
  });

  it('concurrent requests for a cold issuer share one fetch', async () => {
    const tokens = await Promise.all(Array.from({ length: 20 }, () => sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good))));
    const results = await Promise.all(tokens.map((t) => exchangeCode(t)));
    expect(results.every((r) => r.code === 'OK')).toBe(true);
    expect(b.fetchCalls).toHaveLength(2);
  });
});

describe('size and shape limits come before parsing', () => {
  it('refuses a token over 8 KiB with 400 and no fetch', async () => {
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, { ...good, pad: 'x'.repeat(8 * 1024) }));
    expect(await exchangeCode(token)).toEqual({ status: 400, code: 'ERR_REQUEST_INVALID' });
    expect(b.fetchCalls).toEqual([]);
  });

  it.each(['not a jwt', 'a.b', 'a.b.c.d', 'a.b.c d', 'a.b.c\n', 'ä.b.c', ''])('refuses token %j as malformed', async (token) => {
    expect(await exchangeCode(token)).toEqual({ status: 400, code: 'ERR_REQUEST_INVALID' });
  });

  it('refuses a forged-secret HMAC token of any shape without contacting the issuer when the issuer is unknown', async () => {
    const secret = await generateSecret('HS256');
    const token = await new SignJWT({ iss: 'https://nope.test' }).setProtectedHeader({ alg: 'HS256' }).sign(secret);
    expect((await exchangeCode(token)).code).toBe('ERR_TOKEN_INVALID');
    expect(b.fetchCalls).toEqual([]);
  });
});
