// Signing keys rotate with overlap: the next key is published before it signs, and the previous key stays
// published until the last token it signed has expired.
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { BrokerIssuer } from '../../../broker/src/issuer/issuer.ts';
import { BROKER_TOKEN_MAX_TTL, KEY_RETENTION_LEEWAY } from '../../../broker/src/issuer/keys.ts';
import { generateKekBase64, importKek } from '../../../broker/src/store/envelope.ts';
import { MemoryKeyStore } from '../../helpers/memory-stores.ts';

const T0 = Date.parse('2026-11-28T00:00:00Z');
let clock: { now: number };
let store: MemoryKeyStore;
let issuer: BrokerIssuer;

beforeEach(async () => {
  clock = { now: T0 };
  store = new MemoryKeyStore();
  issuer = new BrokerIssuer({
    store,
    keks: { current: await importKek(generateKekBase64()) },
    publicUrl: 'https://broker.test/',
    now: () => clock.now,
    cacheMs: 0,
  });
});

const advance = (seconds: number) => (clock.now += seconds * 1000);

/** Does the JWKS published now verify this token's signature (its own validity window aside)? */
async function verifiesNow(token: string): Promise<boolean> {
  const jwks = createLocalJWKSet(await issuer.jwks());
  try {
    const at = new Date(decodeJwt(token).iat! * 1000);
    await jwtVerify(token, jwks, { issuer: 'https://broker.test', audience: 'sts.amazonaws.com', currentDate: at });
    return true;
  } catch {
    return false;
  }
}

const mint = async () =>
  (await issuer.sign({ subject: 'role:deploy', audience: 'sts.amazonaws.com', ttl: 3600, claims: { repository: 'acme/web' } })).token;

describe('broker tokens', () => {
  it('live at most five minutes, name the role and carry the given claims', async () => {
    const signed = await issuer.sign({ subject: 'role:deploy', audience: 'sts.amazonaws.com', ttl: 3600, claims: { repository_id: '1' } });
    const { payload } = await jwtVerify(signed.token, createLocalJWKSet(await issuer.jwks()), { currentDate: new Date(clock.now) });
    expect(payload).toMatchObject({ iss: 'https://broker.test', sub: 'role:deploy', aud: 'sts.amazonaws.com', repository_id: '1' });
    expect(payload.exp! - payload.iat!).toBe(BROKER_TOKEN_MAX_TTL);
    expect(signed.expiresAt).toBe(payload.exp);
  });

  it('discovery points at the JWKS under the public URL', () => {
    expect(issuer.discovery()).toMatchObject({ issuer: 'https://broker.test', jwks_uri: 'https://broker.test/.well-known/jwks.json' });
  });

  it('the private key is stored sealed, never as a JWK in clear', async () => {
    await issuer.ensureKey();
    const row = store.rows[0]!;
    expect(JSON.stringify(row)).not.toMatch(/"d":/);
    expect(JSON.parse(row.public_jwk)).not.toHaveProperty('d');
  });
});

describe('rotation with overlap', () => {
  it('publishes the next key before it signs, and both generations of tokens verify', async () => {
    const before = await mint();
    const oldKid = decodeProtectedHeader(before).kid;
    const { added } = await issuer.rotate(3600);
    expect((await issuer.jwks()).keys.map((k) => k.kid)).toEqual([oldKid, added.kid]);

    // Still signing with the old key until activation.
    const during = await mint();
    expect(decodeProtectedHeader(during).kid).toBe(oldKid);
    expect(await verifiesNow(before)).toBe(true);

    advance(3600);
    const after = await mint();
    expect(decodeProtectedHeader(after).kid).toBe(added.kid);
    expect(await verifiesNow(during)).toBe(true); // the old key is still published
    expect(await verifiesNow(after)).toBe(true);
    expect((await issuer.jwks()).keys.map((k) => k.kid)).toContain(oldKid);
  });

  it('a token signed by the old key in its last second still verifies until it expires', async () => {
    await issuer.ensureKey();
    const { added } = await issuer.rotate(600);
    advance(599);
    const last = await mint(); // old key, last second before activation
    advance(1);
    expect(decodeProtectedHeader(await mint()).kid).toBe(added.kid);
    advance(BROKER_TOKEN_MAX_TTL - 2);
    const jwks = createLocalJWKSet(await issuer.jwks());
    await expect(jwtVerify(last, jwks, { currentDate: new Date(clock.now) })).resolves.toBeTruthy();
  });

  it('drops the old key only after its last token expired (plus leeway)', async () => {
    await issuer.ensureKey();
    const oldKid = store.rows[0]!.kid;
    await issuer.rotate(0); // activates in the next second (strictly after the current key)
    advance(1 + BROKER_TOKEN_MAX_TTL + KEY_RETENTION_LEEWAY - 1);
    expect((await issuer.jwks()).keys.map((k) => k.kid)).toContain(oldKid);
    const early = await issuer.rotate(3600);
    expect(early.dropped).toEqual([]);
    advance(1);
    expect((await issuer.jwks()).keys.map((k) => k.kid)).not.toContain(oldKid);
    const late = await issuer.rotate(3600);
    expect(late.dropped).toEqual([oldKid]);
    expect(store.rows.map((r) => r.kid)).not.toContain(oldKid);
  });

  it('two rotations in a row keep every key that may still sign or have signed', async () => {
    await issuer.ensureKey();
    const a = store.rows[0]!.kid;
    const b = (await issuer.rotate(60)).added.kid;
    const c = (await issuer.rotate(120)).added.kid;
    expect((await issuer.jwks()).keys.map((k) => k.kid)).toEqual([a, b, c]);
    advance(60);
    expect(decodeProtectedHeader(await mint()).kid).toBe(b);
    advance(60);
    expect(decodeProtectedHeader(await mint()).kid).toBe(c);
  });
});
