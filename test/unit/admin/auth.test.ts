// Admin authentication: the admin token (constant-time, digest compared) and Cloudflare Access JWTs.
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { createAccessVerifier } from '../../../broker/src/admin/access.ts';
import { createAdminAuth } from '../../../broker/src/admin/auth.ts';

const TOKEN = 'adm-0123456789abcdefghijklmnopqrstuv';
const req = (headers: Record<string, string> = {}) => new Request('http://broker.test/v1/audit', { headers });

describe('createAdminAuth with BROKER_ADMIN_TOKEN', () => {
  it('nothing configured: no authenticator, so no admin routes', () => {
    expect(createAdminAuth({})).toBeUndefined();
    expect(createAdminAuth({ token: '' })).toBeUndefined();
    expect(createAdminAuth({ token: '   ' })).toBeUndefined();
  });

  it('refuses a weak token at start-up', () => {
    expect(() => createAdminAuth({ token: 'short' })).toThrow(/at least 24/);
    expect(() => createAdminAuth({ token: 'has a space in it 0123456789' })).toThrow(/without spaces/);
  });

  it('accepts the token as a bearer and names the admin by a fingerprint, never the token', async () => {
    const r = await createAdminAuth({ token: TOKEN })!.authenticate(req({ authorization: `Bearer ${TOKEN}` }));
    expect(r).toEqual({ ok: true, identity: { issuer: 'admin-token', subject: expect.stringMatching(/^admin-token:[0-9a-f]{8}$/) } });
    expect(JSON.stringify(r)).not.toContain(TOKEN);
  });

  it.each([
    [{}, 'admin.credentials_missing'],
    [{ authorization: `Bearer ${TOKEN}x` }, 'admin.token_wrong'],
    [{ authorization: `Bearer ${TOKEN.slice(0, -1)}` }, 'admin.token_wrong'],
    [{ authorization: `Bearer ${TOKEN.toUpperCase()}` }, 'admin.token_wrong'],
    [{ authorization: 'Bearer x' }, 'admin.token_wrong'],
    [{ authorization: `Basic ${btoa(`admin:${TOKEN}`)}` }, 'admin.authorization_malformed'],
    [{ authorization: `Bearer  ${TOKEN}` }, 'admin.authorization_malformed'],
    [{ authorization: `bearer ${TOKEN}` }, 'admin.authorization_malformed'],
    [{ 'cf-access-jwt-assertion': 'a.b.c' }, 'admin.credentials_missing'],
  ])('refuses %j', async (headers, detail) => {
    expect(await createAdminAuth({ token: TOKEN })!.authenticate(req(headers))).toEqual({ ok: false, detail });
  });
});

describe('Cloudflare Access', () => {
  const TEAM = 'https://acme.cloudflareaccess.com';
  const AUD = 'a1b2c3d4e5f6';
  const NOW = Date.parse('2026-11-28T00:00:00Z');

  async function setup() {
    const key = await generateKeyPair('RS256');
    const other = await generateKeyPair('RS256');
    const jwk: JWK = { ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'RS256' };
    const fetched: string[] = [];
    const fetchFn = (async (input: string | URL) => {
      fetched.push(String(input));
      return Response.json({ keys: [jwk] });
    }) as typeof fetch;
    const access = createAccessVerifier({ teamDomain: TEAM, audience: AUD, fetch: fetchFn, now: () => NOW });
    const mint = (claims: Record<string, unknown> = {}, signWith = key.privateKey, kid = 'k1') =>
      new SignJWT({ email: 'alice@acme.example', iss: TEAM, aud: AUD, sub: 'user-1', iat: NOW / 1000, exp: NOW / 1000 + 600, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid })
        .sign(signWith);
    return { access, mint, other, fetched };
  }

  it('accepts a JWT from the team for this application, naming the user', async () => {
    const { access, mint, fetched } = await setup();
    expect(await access.verify(await mint())).toEqual({ ok: true, issuer: TEAM, subject: 'alice@acme.example' });
    expect(fetched).toEqual([`${TEAM}/cdn-cgi/access/certs`]);
    const auth = createAdminAuth({ access })!;
    expect(await auth.authenticate(req({ 'cf-access-jwt-assertion': await mint() }))).toEqual({
      ok: true,
      identity: { issuer: TEAM, subject: 'alice@acme.example' },
    });
  });

  it('refuses another audience, another issuer, an expired token, a foreign key and garbage', async () => {
    const { access, mint, other } = await setup();
    expect(await access.verify(await mint({ aud: 'other-app' }))).toEqual({ ok: false, detail: 'jwt_invalid' });
    expect(await access.verify(await mint({ iss: 'https://evil.cloudflareaccess.com' }))).toEqual({ ok: false, detail: 'jwt_invalid' });
    expect(await access.verify(await mint({ exp: NOW / 1000 - 120 }))).toEqual({ ok: false, detail: 'jwt_invalid' });
    expect(await access.verify(await mint({}, other.privateKey))).toEqual({ ok: false, detail: 'jwt_invalid' });
    expect(await access.verify('not-a-jwt')).toEqual({ ok: false, detail: 'jwt_malformed' });
    const auth = createAdminAuth({ access })!;
    expect(await auth.authenticate(req({ 'cf-access-jwt-assertion': await mint({ aud: 'x' }) }))).toEqual({
      ok: false,
      detail: 'admin.access_jwt_invalid',
    });
  });

  it('with both configured, a bearer header is checked as the admin token', async () => {
    const { access, mint } = await setup();
    const auth = createAdminAuth({ token: TOKEN, access })!;
    expect((await auth.authenticate(req({ authorization: `Bearer ${TOKEN}` }))).ok).toBe(true);
    expect(await auth.authenticate(req({ authorization: 'Bearer wrong', 'cf-access-jwt-assertion': await mint() }))).toEqual({
      ok: false,
      detail: 'admin.token_wrong',
    });
  });

  it('refuses a plain-http team domain off loopback', () => {
    expect(() => createAccessVerifier({ teamDomain: 'http://acme.cloudflareaccess.com', audience: AUD })).toThrow(/https/);
    expect(() => createAccessVerifier({ teamDomain: TEAM, audience: ' ' })).toThrow(/audience/);
  });
});
