// App private keys: GitHub issues PKCS#1 PEM, WebCrypto wants PKCS#8. The web-standard wrapper must produce
// exactly the DER that OpenSSL (node:crypto) produces for the same key, at every length encoding.
import { generateKeyPairSync } from 'node:crypto';
import { compactVerify, importSPKI, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { importRsaSigningKey, rsaPrivateKeyDer } from '../../../broker/src/mint/rsa-pem.ts';

function pair(bits: number) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    pkcs1: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    pkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    pkcs8Der: new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' })),
    spki: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

describe('PKCS#1 to PKCS#8', () => {
  it.each([1024, 2048, 4096])('wraps a %i-bit PKCS#1 key into the same DER OpenSSL writes', (bits) => {
    const keys = pair(bits);
    expect(rsaPrivateKeyDer(keys.pkcs1)).toEqual(keys.pkcs8Der);
    expect(rsaPrivateKeyDer(keys.pkcs8)).toEqual(keys.pkcs8Der);
  });

  it.each(['pkcs1', 'pkcs8'] as const)('imports a %s key that signs RS256 verifiable with the public key', async (form) => {
    const keys = pair(2048);
    const key = await importRsaSigningKey(keys[form]);
    expect(key).toBeDefined();
    const jwt = await new SignJWT({ iss: '1' }).setProtectedHeader({ alg: 'RS256' }).sign(key!);
    await expect(compactVerify(jwt, await importSPKI(keys.spki, 'RS256'))).resolves.toBeDefined();
  });

  it('tolerates CRLF line endings and surrounding whitespace (keys pasted from a browser download)', async () => {
    const keys = pair(2048);
    const messy = `\n  ${keys.pkcs1.replace(/\n/g, '\r\n')}  \n`;
    expect(rsaPrivateKeyDer(messy)).toEqual(keys.pkcs8Der);
  });

  it.each([
    ['an empty string', ''],
    ['garbage', 'not a key'],
    ['a public key', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string],
    [
      'an encrypted PKCS#8 key',
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
        cipher: 'aes-256-cbc',
        passphrase: 'x',
      }) as string,
    ],
    [
      'an encrypted PKCS#1 key (Proc-Type headers)',
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
        type: 'pkcs1',
        format: 'pem',
        cipher: 'aes-256-cbc',
        passphrase: 'x',
      }) as string,
    ],
    ['mismatched BEGIN/END labels', '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----'],
    ['a body that is not base64', '-----BEGIN RSA PRIVATE KEY-----\n!!!!\n-----END RSA PRIVATE KEY-----'],
    ['a body that is not DER', '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----'],
  ])('refuses %s', async (_name, pem) => {
    expect(await importRsaSigningKey(pem)).toBeUndefined();
  });

  it('refuses an EC private key (GitHub App keys are RSA)', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(await importRsaSigningKey(ec)).toBeUndefined();
  });

  it('refuses a truncated PKCS#1 key', async () => {
    const lines = pair(2048).pkcs1.trim().split('\n');
    const truncated = [...lines.slice(0, 5), lines.at(-1)].join('\n');
    expect(await importRsaSigningKey(truncated)).toBeUndefined();
  });
});
