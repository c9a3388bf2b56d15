// The token rules beyond jose (typ absent or exactly "JWT"; no repeated member names), inside workerd
// through the real Worker entry, as test/unit/security/tokens.test.ts checks them on Node.
import { env, SELF } from 'cloudflare:test';
import { base64url, importJWK, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { D1SecretStore } from '../../broker/entry/workers/d1.ts';
import { importKek } from '../../broker/src/store/envelope.ts';
import { SecretVault } from '../../broker/src/store/secrets.ts';

const AUDIENCE = 'https://broker.test';
const CLAIMS = '"sub":"repo:acme/app:ref:refs/heads/main","repository_id":"42","repository_owner_id":"7","ref":"refs/heads/main"';

let signingKey: CryptoKey;
let kid: string;

beforeAll(async () => {
  const jwk = JSON.parse(env.TEST_ISSUER_JWK) as JWK & { kid: string };
  kid = jwk.kid;
  signingKey = (await importJWK(jwk, 'RS256')) as CryptoKey;
  // The secret the app-secret role grants, so that an accepted token gets all the way to 200.
  const vault = new SecretVault(new D1SecretStore(env.DB), { current: await importKek(env.BROKER_KEK) });
  await vault.put('APP_TOKEN', 'value', Math.floor(Date.now() / 1000));
});

/** Signs exact header and payload texts, so that the test controls every byte of the JSON. */
async function signRaw(headerText: string, payloadText: string): Promise<string> {
  const enc = new TextEncoder();
  const input = `${base64url.encode(enc.encode(headerText))}.${base64url.encode(enc.encode(payloadText))}`;
  const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', signingKey, enc.encode(input));
  return `${input}.${base64url.encode(new Uint8Array(sig))}`;
}

const header = (typ = ',"typ":"JWT"', extra = '') => `{"alg":"RS256","kid":${JSON.stringify(kid)}${typ}${extra}}`;
function payload(extra = ''): string {
  const now = Math.floor(Date.now() / 1000);
  return `{"iss":${JSON.stringify(env.TEST_ISSUER_URL)},"aud":"${AUDIENCE}","iat":${now},"nbf":${now},"exp":${now + 300},"jti":"${crypto.randomUUID()}",${CLAIMS}${extra}}`;
}

async function outcome(token: string): Promise<{ status: number; code: string }> {
  const res = await SELF.fetch('https://broker.test/v1/exchange', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'cf-connecting-ip': '203.0.113.8' },
    body: JSON.stringify({ token, role: 'app-secret' }),
  });
  const body = (await res.json()) as { error?: string };
  return { status: res.status, code: body.error ?? 'OK' };
}

/** The reason of the newest audit record (D1). */
async function lastReason(): Promise<string> {
  const row = await env.DB.prepare('SELECT record FROM audit ORDER BY seq DESC LIMIT 1').first<{ record: string }>();
  return (JSON.parse(row!.record) as { reason: string }).reason;
}

describe('token rules in workerd', () => {
  it('accepts typ "JWT" and no typ', async () => {
    expect(await outcome(await signRaw(header(), payload()))).toEqual({ status: 200, code: 'OK' });
    expect(await outcome(await signRaw(header(''), payload()))).toEqual({ status: 200, code: 'OK' });
  });

  it.each(['"at+jwt"', '"jwt"', '"application/jwt"', '""', 'null', '["JWT"]'])('refuses typ %s', async (typ) => {
    expect(await outcome(await signRaw(header(`,"typ":${typ}`), payload()))).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
    expect(await lastReason()).toBe('token.typ');
  });

  // Built inside each test: env is not there yet when the table is.
  it.each([
    ['claims', () => header(), () => payload(',"sub":"repo:acme/other:ref:refs/heads/main"')],
    ['claims, escaped', () => header(), () => payload(',"\\u0073ub":"repo:acme/other"')],
    ['claims, nested', () => header(), () => payload(',"x":[{"a":1,"a":2}]')],
    // alg "none" first, the pinned alg last (the one JSON.parse keeps).
    ['header', () => `{"alg":"none","kid":${JSON.stringify(kid)},"typ":"JWT","alg":"RS256"}`, () => payload()],
  ])('refuses a repeated member name in the %s', async (where, h, p) => {
    expect(JSON.parse(p())).toBeTypeOf('object'); // valid JSON: JSON.parse alone keeps the last and moves on
    expect(await outcome(await signRaw(h(), p()))).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
    expect(await lastReason()).toBe(where === 'header' ? 'token.header_duplicate_member' : 'token.claims_duplicate_member');
  });
});
