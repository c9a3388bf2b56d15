// Token rules that go beyond what jose checks, attacked through the real exchange route: explicit typing
// (typ absent or exactly "JWT") and no repeated member names in the header or the claims, at any depth and
// however the name is spelled.
import { base64url } from 'jose';
import { randomUUID } from 'node:crypto';
import { parseDocument } from 'yaml';
import { beforeEach, describe, expect, it } from 'vitest';
import { findDuplicateKey } from '../../../broker/src/oidc/duplicate-keys.ts';
import { AUDIENCE, buildTestBroker, ISSUER_URL, T0, type TestBroker } from '../../helpers/broker.ts';
import { baseClaims, sign, type TestKey } from '../../helpers/issuer.ts';

const NOW_S = T0 / 1000;
const good = { repository_id: '123', ref: 'refs/heads/main' };

let b: TestBroker;
beforeEach(async () => {
  b = await buildTestBroker();
});

async function outcome(token: string) {
  const res = await b.post({ token, role: 'app' });
  const body = (await res.json()) as { error?: string };
  return { status: res.status, code: body.error ?? 'OK' };
}

const lastReason = () => (JSON.parse(b.audit.entries.at(-1)!.record) as { reason: string }).reason;

/** Signs exact header and payload texts (RS256), so that a test controls every byte of the JSON. */
async function signRaw(key: TestKey, headerText: string, payloadText: string): Promise<string> {
  const enc = new TextEncoder();
  const input = `${base64url.encode(enc.encode(headerText))}.${base64url.encode(enc.encode(payloadText))}`;
  const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key.privateKey, enc.encode(input));
  return `${input}.${base64url.encode(new Uint8Array(sig))}`;
}

const HEADER = '{"alg":"RS256","kid":"key-1","typ":"JWT"}';
/** The members of a valid payload, as JSON text without the braces; `extra` is spliced in verbatim. */
function payloadText(extra = '', opts: { sub?: string } = {}): string {
  const base = `"iss":"${ISSUER_URL}","aud":"${AUDIENCE}","sub":${JSON.stringify(opts.sub ?? 'repo:acme/web:ref:refs/heads/main')},"iat":${NOW_S},"nbf":${NOW_S},"exp":${NOW_S + 300},"jti":"${randomUUID()}","repository_id":"123","ref":"refs/heads/main"`;
  return `{${base}${extra}}`;
}

describe('ID tokens whose typ header is present and not exactly "JWT" are refused', () => {
  it('accepts typ "JWT" and a token without typ', async () => {
    expect(await outcome(await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good)))).toEqual({ status: 200, code: 'OK' });
    expect(await outcome(await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good), { header: { typ: undefined } }))).toEqual({
      status: 200,
      code: 'OK',
    });
  });

  it.each([
    'at+jwt',
    'at+JWT',
    'application/at+jwt',
    'logout+jwt',
    'secevent+jwt',
    'jwt',
    'Jwt',
    'application/jwt',
    'APPLICATION/JWT',
    'JWS',
    'JOSE',
    'JOSE+JSON',
    'dpop+jwt',
    '',
    ' JWT',
    'JWT ',
    'JWT\u0000',
    'ＪＷＴ',
  ])('refuses typ %j (ERR_TOKEN_INVALID)', async (typ) => {
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good), { header: { typ } });
    expect(await outcome(token)).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
    expect(lastReason()).toBe('token.typ');
    expect(b.mintCalls).toEqual([]);
  });

  it.each([null, 1, true, false, ['JWT'], { typ: 'JWT' }, 0])('refuses a non-string typ %j', async (typ) => {
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good), { header: { typ } });
    expect(await outcome(token)).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
    expect(lastReason()).toBe('token.typ');
  });
});

describe('ID tokens with a repeated member name in the header or the claims are refused', () => {
  it('accepts the same texts without the repetition (the raw signer is sound)', async () => {
    expect(await outcome(await signRaw(b.key, HEADER, payloadText()))).toEqual({ status: 200, code: 'OK' });
    expect(
      await outcome(await signRaw(b.key, ' { "alg" : "RS256" ,\n"kid":"key-1"\t} ', payloadText(',"x":{"a":1},"y":{"a":[{"a":2}]}'))),
    ).toEqual({
      status: 200,
      code: 'OK',
    });
  });

  const claimCases: [string, string][] = [
    ['the same claim twice', ',"sub":"repo:acme/other:ref:refs/heads/main"'],
    ['a claim and its \\u-escaped spelling', ',"\\u0073ub":"repo:acme/other"'],
    ['every character escaped', ',"\\u0073\\u0075\\u0062":"x"'],
    ['upper-case hex escapes', ',"\\u0073\\u0055b":"x","\\u0073\\u0075\\u0042":"y","su\\u0042":"z"'],
    ['an escaped solidus', ',"a/b":1,"a\\/b":2'],
    ['other simple escapes', ',"a\\nb":1,"a\\u000ab":2'],
    ['a quote inside the name', ',"a\\"b":1,"a\\u0022b":2'],
    ['a backslash inside the name', ',"a\\\\b":1,"a\\u005cb":2'],
    ['a surrogate pair, literal and escaped', ',"😀":1,"\\ud83d\\ude00":2'],
    ['a lone surrogate twice', ',"\\ud800":1,"\\uD800":2'],
    ['an empty name twice', ',"":1,"":2'],
    ['__proto__ twice', ',"__proto__":{"admin":true},"__proto__":{"admin":false}'],
    ['constructor twice', ',"constructor":1,"constructor":2'],
    ['whitespace around the names', ' , "jti" \n:\t"other" '],
    ['iss twice (which issuer?)', `,"iss":"https://other-issuer.test"`],
    ['a repeat in a nested object', ',"x":{"a":1,"b":{"c":1,"c":2}}'],
    ['a repeat in an object inside an array', ',"x":[1,"a",{"a":1,"a":2}]'],
    ['a repeat deep down', `,"x":${'{"n":'.repeat(40)}{"a":1,"a":2}${'}'.repeat(40)}`],
    ['a repeat after a nested object closes', ',"x":{"a":1},"x":2'],
    ['a repeat after strings full of JSON syntax', ',"note":"\\",\\"sub\\":{[,:]}","sub":"x"'],
  ];

  it.each(claimCases)('refuses a payload with %s', async (_name, extra) => {
    const text = payloadText(extra);
    expect(() => JSON.parse(text)).not.toThrow(); // valid JSON: JSON.parse alone keeps the last and moves on
    expect(await outcome(await signRaw(b.key, HEADER, text))).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
    expect(lastReason()).toBe('token.claims_duplicate_member');
    expect(b.mintCalls).toEqual([]);
  });

  it.each([
    ['alg twice', '{"alg":"none","kid":"key-1","alg":"RS256"}'],
    ['kid twice', '{"alg":"RS256","kid":"other","kid":"key-1"}'],
    ['typ twice', '{"alg":"RS256","kid":"key-1","typ":"at+jwt","typ":"JWT"}'],
    ['an escaped alg', '{"alg":"RS256","kid":"key-1","\\u0061lg":"RS256"}'],
    ['crit twice, spaced', '{ "alg" : "RS256" , "kid" : "key-1" , "x" : 1 ,\r\n "x" : 1 }'],
    ['__proto__ twice', '{"alg":"RS256","kid":"key-1","__proto__":1,"__proto__":2}'],
  ])('refuses a header with %s', async (_name, header) => {
    expect(await outcome(await signRaw(b.key, header, payloadText()))).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
    expect(lastReason()).toBe('token.header_duplicate_member');
    expect(b.fetchCalls).toEqual([]); // refused before any key is fetched
  });

  // jose already refuses these; kept so that the text scanned here and the text jose parses stay the same.
  it('refuses header or claims that are not UTF-8', async () => {
    const enc = new TextEncoder();
    const bad = new Uint8Array([
      ...enc.encode(payloadText().slice(0, -1)),
      ...enc.encode(',"a'),
      0xff,
      ...enc.encode('":1,"a'),
      0xfe,
      ...enc.encode('":2}'),
    ]);
    const input = `${base64url.encode(enc.encode(HEADER))}.${base64url.encode(bad)}`;
    const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', b.key.privateKey, enc.encode(input));
    expect(await outcome(`${input}.${base64url.encode(new Uint8Array(sig))}`)).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
  });
});

describe('ID tokens whose header or claims are not one JSON object are refused before any key is fetched', () => {
  it.each([
    ['claims that are an array', HEADER, `[${payloadText()}]`],
    ['claims that are a string', HEADER, JSON.stringify(payloadText())],
    ['claims that are null', HEADER, 'null'],
    ['claims that are a number', HEADER, '1'],
    ['claims cut short', HEADER, payloadText().slice(0, -1)],
    ['claims with text after the object', HEADER, `${payloadText()}{}`],
    ['an empty claims segment text', HEADER, ' '],
    ['a header that is an array', `[${HEADER}]`, payloadText()],
    ['a header that is a string', JSON.stringify(HEADER), payloadText()],
    ['a header that is not JSON', '{alg:RS256}', payloadText()],
    ['two byte-order marks before the claims', HEADER, `\ufeff\ufeff${payloadText()}`],
  ])('refuses %s (token.undecodable)', async (_name, header, payload) => {
    expect(await outcome(await signRaw(b.key, header, payload))).toEqual({ status: 401, code: 'ERR_TOKEN_INVALID' });
    expect(lastReason()).toBe('token.undecodable');
    expect(b.fetchCalls).toEqual([]);
    expect(b.mintCalls).toEqual([]);
  });

  it('reads a header or claims text after one byte-order mark as jose does (the signature covers it)', async () => {
    expect(await outcome(await signRaw(b.key, `\ufeff${HEADER}`, `\ufeff${payloadText()}`))).toEqual({ status: 200, code: 'OK' });
  });
});

describe('findDuplicateKey', () => {
  it.each([
    ['{}', undefined],
    ['[]', undefined],
    ['"a"', undefined],
    ['1', undefined],
    ['{"a":"a","b":"a"}', undefined],
    ['{"a":{"a":{"a":1}}}', undefined],
    ['[{"a":1},{"a":1}]', undefined],
    ['{"a":["a","a"]}', undefined],
    ['{"a":1,"A":2,"a ":3," a":4}', undefined],
    ['{"x":"\\"a\\":1,\\"a\\":2"}', undefined],
    ['{"\\\\":1,"\\\\\\\\":2}', undefined],
    ['{"a":1,"a":2}', 'a'],
    ['{"a":1,"\\u0061":2}', 'a'],
    ['{"x":[[[{"k":1,"k":2}]]]}', 'k'],
    ['{"x":{"y":1},"z":{"y":1},"x":3}', 'x'],
    ['{"😀":1,"\\ud83d\\ude00":2}', '😀'],
  ])('%s -> %j', (json, dup) => {
    JSON.parse(json);
    expect(findDuplicateKey(json)).toBe(dup);
  });

  // Differential: random JSON texts with names drawn from a small pool in varied spellings, checked against
  // the yaml package's own duplicate-key detection (JSON is YAML 1.2; it compares decoded scalars).
  it('agrees with an independent parser on 3,000 random JSON texts', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const names = ['a', 'b', '__proto__', 'é', '😀', 'a"b', 'a\\b', '/', ''];
    const spell = (name: string): string => {
      let out = '"';
      for (const ch of name) {
        const mode = rnd(3);
        if (ch === '"' || ch === '\\') out += mode === 0 ? `\\${ch}` : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
        else if (mode === 0 && ch === '/') out += '\\/';
        else if (mode === 1) {
          for (let u = 0; u < ch.length; u++) {
            const hex = ch.charCodeAt(u).toString(16).padStart(4, '0');
            out += `\\u${rnd(2) ? hex.toUpperCase() : hex}`;
          }
        } else out += ch;
      }
      return `${out}"`;
    };
    const ws = () => [' ', '', '\n', '\t', '\r\n '][rnd(5)]!;
    const value = (depth: number): string => {
      const kind = depth > 3 ? rnd(3) : rnd(6);
      if (kind === 0) return spell(names[rnd(names.length)]!);
      if (kind === 1) return ['1', '-2.5e3', 'true', 'null'][rnd(4)]!;
      if (kind === 2) return '"x\\",\\"a\\":"';
      if (kind === 3) return `[${ws()}${Array.from({ length: rnd(3) }, () => value(depth + 1)).join(`${ws()},${ws()}`)}]`;
      return object(depth + 1);
    };
    const object = (depth: number): string =>
      `{${ws()}${Array.from({ length: rnd(4) }, () => `${spell(names[rnd(names.length)]!)}${ws()}:${ws()}${value(depth)}`).join(`${ws()},${ws()}`)}${ws()}}`;
    let duplicates = 0;
    for (let i = 0; i < 3000; i++) {
      const json = object(0);
      JSON.parse(json);
      const doc = parseDocument(json, { uniqueKeys: true });
      const expected = doc.errors.some((e) => e.code === 'DUPLICATE_KEY');
      expect(
        doc.errors.filter((e) => e.code !== 'DUPLICATE_KEY'),
        json,
      ).toEqual([]);
      expect(findDuplicateKey(json) !== undefined, json).toBe(expected);
      if (expected) duplicates++;
    }
    expect(duplicates).toBeGreaterThan(300); // both outcomes well covered
    expect(duplicates).toBeLessThan(2700);
  });

  it('is linear: a 1 MiB text of many small objects takes milliseconds', () => {
    const json = `[${Array.from({ length: 40_000 }, (_, i) => `{"k${i}":"\\u0061","k":1}`).join(',')}]`;
    const started = performance.now();
    expect(findDuplicateKey(json)).toBeUndefined();
    expect(findDuplicateKey(`{${Array.from({ length: 50_000 }, (_, i) => `"k${i}":1`).join(',')},"k0":2}`)).toBe('k0');
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
