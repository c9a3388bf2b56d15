// The JWKS cache in KV against someone who can write the namespace but does not hold the KEK: a key set
// planted there must never verify a token. Entries are authenticated (HMAC under a key derived from the
// KEK, over issuer, keys and fetched_at), used only when a live fetch fails, and never from the future.
import { createExecutionContext, env } from 'cloudflare:test';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createWorkerHandler } from '../../broker/entry/workers/handler.ts';
import { KvJwksCache } from '../../broker/entry/workers/kv.ts';
import { CLOCK_SKEW_MS, JwksRegistry } from '../../broker/src/oidc/jwks.ts';
import type { CompiledIssuer } from '../../broker/src/policy/compile.ts';
import { D1SecretStore } from '../../broker/entry/workers/d1.ts';
import { generateKekBase64, importKek } from '../../broker/src/store/envelope.ts';
import { SecretVault } from '../../broker/src/store/secrets.ts';
import type { JwksCacheEntry } from '../../broker/src/store/ports.ts';
import { deriveMacKey, JWKS_CACHE_MAC_PURPOSE } from '../../broker/src/store/subkeys.ts';
import { canonicalJson, toBase64, utf8 } from '../../broker/src/util/encoding.ts';

interface Signer {
  kid: string;
  jwks: { keys: JWK[] };
  key: CryptoKey;
}

async function signer(): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  return { kid, jwks: { keys: [{ ...pub, kid, alg: 'RS256', use: 'sig' }] }, key: privateKey };
}

let macKey: CryptoKey;
let real: Signer;
let attacker: Signer;

beforeAll(async () => {
  macKey = await deriveMacKey(env.BROKER_KEK, JWKS_CACHE_MAC_PURPOSE);
  real = await signer();
  attacker = await signer();
});

const uniqueIssuer = () => `https://issuer-${crypto.randomUUID()}.test`;
const kvKey = (url: string) => `jwks:${url}`;

/** A MAC the way the broker computes it, under any key: lets the tests replay, re-date and re-key entries. */
async function macOf(key: CryptoKey, url: string, entry: JwksCacheEntry): Promise<string> {
  return toBase64(
    new Uint8Array(
      await crypto.subtle.sign('HMAC', key, utf8(canonicalJson({ issuer: url, jwks: entry.jwks, fetched_at: entry.fetched_at }))),
    ),
  );
}

async function plantRaw(url: string, value: unknown): Promise<void> {
  await env.JWKS_CACHE.put(kvKey(url), JSON.stringify(value));
}

/** A fetch that serves `jwks` as the issuer at `url`, or fails (unreachable) when `jwks` is null. */
function issuerFetch(url: string, jwks: () => { keys: JWK[] } | null): (input: Request | string | URL) => Promise<Response> {
  return async (input) => {
    const target = String(input instanceof Request ? input.url : input);
    const keys = jwks();
    if (!keys) throw new TypeError('network unreachable');
    if (target === `${url}/.well-known/openid-configuration`)
      return Response.json({ issuer: url, jwks_uri: `${url}/.well-known/jwks.json` });
    if (target === `${url}/.well-known/jwks.json`) return Response.json(keys);
    return new Response('not found', { status: 404 });
  };
}

function registry(url: string, live: () => { keys: JWK[] } | null, now = Date.now) {
  const events: { type: string }[] = [];
  const reg = new JwksRegistry({
    fetch: issuerFetch(url, live),
    now,
    cache: new KvJwksCache(env.JWKS_CACHE, macKey),
    onEvent: (e) => events.push(e),
  });
  const issuer = { name: 'test', url } as CompiledIssuer;
  return { lookup: (kid: string) => reg.keysFor(issuer, kid), events };
}

describe('a JWKS cached in KV is trusted only with a valid MAC under a KEK-derived key over its issuer, keys and fetched_at', () => {
  it('returns what it stored, and nothing for a forged, edited, re-dated, re-keyed or moved entry', async () => {
    const cache = new KvJwksCache(env.JWKS_CACHE, macKey);
    const url = uniqueIssuer();
    const entry = { jwks: real.jwks, fetched_at: Date.now() };
    await cache.put(url, entry);
    expect(await cache.get(url)).toEqual(entry);
    const stored = JSON.parse((await env.JWKS_CACHE.get(kvKey(url)))!) as JwksCacheEntry & { mac: string };

    const otherKek = await deriveMacKey(generateKekBase64(), JWKS_CACHE_MAC_PURPOSE);
    const otherPurpose = await deriveMacKey(env.BROKER_KEK, 'secret-broker/v1/something-else');
    const elsewhere = uniqueIssuer();
    await cache.put(elsewhere, { jwks: attacker.jwks, fetched_at: Date.now() });
    const elsewhereStored = JSON.parse((await env.JWKS_CACHE.get(kvKey(elsewhere)))!) as unknown;

    const forgeries: [string, unknown][] = [
      ['no MAC', { jwks: attacker.jwks, fetched_at: Date.now() }],
      ['a garbage MAC', { jwks: attacker.jwks, fetched_at: Date.now(), mac: toBase64(crypto.getRandomValues(new Uint8Array(32))) }],
      ['a MAC that is not base64', { jwks: attacker.jwks, fetched_at: Date.now(), mac: '%%%' }],
      ['keys swapped under a valid MAC', { ...stored, jwks: attacker.jwks }],
      ['a key added under a valid MAC', { ...stored, jwks: { keys: [...real.jwks.keys, ...attacker.jwks.keys] } }],
      ['fetched_at moved into the future under a valid MAC', { ...stored, fetched_at: Date.now() + 365 * 86_400_000 }],
      ["another issuer's entry and MAC reused", elsewhereStored],
      [
        'a MAC under another KEK',
        { jwks: attacker.jwks, fetched_at: Date.now(), mac: await macOf(otherKek, url, { jwks: attacker.jwks, fetched_at: Date.now() }) },
      ],
      [
        'a MAC under a key for another purpose',
        {
          jwks: attacker.jwks,
          fetched_at: entry.fetched_at,
          mac: await macOf(otherPurpose, url, { jwks: attacker.jwks, fetched_at: entry.fetched_at }),
        },
      ],
    ];
    for (const [what, value] of forgeries) {
      await plantRaw(url, value);
      expect(await cache.get(url), what).toBeNull();
    }
  });
});

describe('a JWKS cached in KV is only a fallback when the issuer is unreachable, and a future fetched_at is stale', () => {
  it('prefers the live key set over any cached one, authentic or not, whatever its fetched_at', async () => {
    for (const fetchedAt of [Date.now(), Date.now() + 365 * 86_400_000, Number.MAX_SAFE_INTEGER]) {
      const url = uniqueIssuer();
      // Even an entry with a valid MAC (an old key set replayed, or clocks gone wrong) loses to the live one.
      const entry = { jwks: attacker.jwks, fetched_at: fetchedAt };
      await plantRaw(url, { ...entry, mac: await macOf(macKey, url, entry) });
      const { lookup } = registry(url, () => real.jwks);
      expect(await lookup(attacker.kid)).toMatchObject({ ok: false, reason: 'unknown_kid' });
      expect(await lookup(real.kid)).toMatchObject({ ok: true });
    }
  });

  it('falls back to an authentic, recent cached key set only when the live fetch fails', async () => {
    const url = uniqueIssuer();
    await new KvJwksCache(env.JWKS_CACHE, macKey).put(url, { jwks: real.jwks, fetched_at: Date.now() - 60_000 });
    const { lookup, events } = registry(url, () => null);
    expect(await lookup(real.kid)).toMatchObject({ ok: true });
    expect(events.map((e) => e.type)).toEqual(['fetch_failed', 'cache_fallback']);
  });

  it('does not fall back to a forged, future-dated, too old or moved entry while the issuer is unreachable', async () => {
    const now = Date.now();
    const planted: [string, (url: string) => Promise<unknown>][] = [
      ['a garbage MAC', async () => ({ jwks: attacker.jwks, fetched_at: now, mac: toBase64(new Uint8Array(32)) })],
      ['no MAC', async () => ({ jwks: attacker.jwks, fetched_at: now })],
      [
        'a valid MAC and fetched_at beyond the clock skew',
        async (url) => {
          const e = { jwks: attacker.jwks, fetched_at: now + CLOCK_SKEW_MS + 60_000 };
          return { ...e, mac: await macOf(macKey, url, e) };
        },
      ],
      [
        'a valid MAC and fetched_at 8 days ago',
        async (url) => {
          const e = { jwks: attacker.jwks, fetched_at: now - 8 * 86_400_000 };
          return { ...e, mac: await macOf(macKey, url, e) };
        },
      ],
      [
        "another issuer's MAC",
        async () => {
          const e = { jwks: attacker.jwks, fetched_at: now };
          return { ...e, mac: await macOf(macKey, 'https://other-issuer.test', e) };
        },
      ],
    ];
    for (const [what, make] of planted) {
      const url = uniqueIssuer();
      await plantRaw(url, await make(url));
      const { lookup } = registry(
        url,
        () => null,
        () => now,
      );
      expect(await lookup(attacker.kid), what).toMatchObject({ ok: false, reason: 'unavailable' });
    }
  });

  it('through the Worker: a key set planted in KV for an allowlisted issuer does not let its key sign ID tokens', async () => {
    // The test issuer (vitest.config.ts outboundService) is reachable; its cached entry is the attacker's,
    // dated far in the future so that, trusted, it would never be refreshed.
    await plantRaw(env.TEST_ISSUER_URL, { jwks: attacker.jwks, fetched_at: Date.now() + 10 * 365 * 86_400_000 });
    const files = [
      {
        path: 'issuers.yaml',
        text: `issuers:\n  local:\n    url: ${env.TEST_ISSUER_URL}\n    audience: https://broker.test\n    algorithms: [RS256]\n`,
      },
      {
        path: 'roles/kv-test.yaml',
        text: 'role: kv-test\nissuer: local\nmax_ttl: 10m\nallow:\n  - repository_id: "42"\ngrants:\n  - type: secret\n    name: KV_TEST_TOKEN\n',
      },
    ];
    // The secret exists, so a token the broker accepted would be answered 200 with it.
    await new SecretVault(new D1SecretStore(env.SCRATCH_DB), { current: await importKek(env.BROKER_KEK) }).put(
      'KV_TEST_TOKEN',
      'kv-test-value',
      Math.floor(Date.now() / 1000),
    );
    const handler = createWorkerHandler(files, { log: () => {} });
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      iss: env.TEST_ISSUER_URL,
      aud: 'https://broker.test',
      sub: 'repo:acme/app',
      repository_id: '42',
      iat: now,
      nbf: now,
      exp: now + 300,
      jti: crypto.randomUUID(),
    })
      .setProtectedHeader({ alg: 'RS256', kid: attacker.kid, typ: 'JWT' })
      .sign(attacker.key);
    const res = await handler.fetch(
      new Request('https://broker.test/v1/exchange', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, role: 'kv-test' }),
      }),
      { ...env, DB: env.SCRATCH_DB },
      createExecutionContext(),
    );
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_TOKEN_INVALID');
  });
});
