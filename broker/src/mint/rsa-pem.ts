// RSA private keys from PEM, in web-standard code: WebCrypto (and jose's importPKCS8) take PKCS#8 only, but
// GitHub hands out App keys as PKCS#1 ("BEGIN RSA PRIVATE KEY"). A PKCS#1 RSAPrivateKey becomes PKCS#8 by
// wrapping it, unchanged, in a PrivateKeyInfo:
//   SEQUENCE { INTEGER 0, SEQUENCE { OID rsaEncryption, NULL }, OCTET STRING { <PKCS#1 DER> } }
import { fromBase64 } from '../util/encoding.ts';

/** version 0, AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL } */
const VERSION_AND_ALGORITHM = [0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];

/** The PKCS#8 DER of a PEM private key, PKCS#8 or PKCS#1 (RSA); undefined for anything else. */
export function rsaPrivateKeyDer(pem: string): Uint8Array<ArrayBuffer> | undefined {
  const text = pem.trim();
  for (const label of ['RSA PRIVATE KEY', 'PRIVATE KEY']) {
    const begin = `-----BEGIN ${label}-----`;
    const end = `-----END ${label}-----`;
    if (!text.startsWith(begin) || !text.endsWith(end)) continue;
    // Base64 only: an encrypted PKCS#1 key's "Proc-Type:" headers, or anything else, is refused.
    const body = text.slice(begin.length, text.length - end.length).replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return undefined;
    let der: Uint8Array<ArrayBuffer>;
    try {
      der = fromBase64(body);
    } catch {
      return undefined;
    }
    if (der[0] !== 0x30) return undefined;
    return label === 'RSA PRIVATE KEY' ? wrapPkcs1(der) : der;
  }
  return undefined;
}

/** Imports a PEM RSA private key (PKCS#8 or PKCS#1) for RS256 signing; undefined if it is not one. */
export async function importRsaSigningKey(pem: string): Promise<CryptoKey | undefined> {
  const der = rsaPrivateKeyDer(pem);
  if (!der) return undefined;
  try {
    return await crypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
  } catch {
    return undefined;
  }
}

function wrapPkcs1(pkcs1: Uint8Array): Uint8Array<ArrayBuffer> {
  const octetString = [0x04, ...derLength(pkcs1.length)];
  const innerLength = VERSION_AND_ALGORITHM.length + octetString.length + pkcs1.length;
  const head = [0x30, ...derLength(innerLength), ...VERSION_AND_ALGORITHM, ...octetString];
  const out = new Uint8Array(head.length + pkcs1.length);
  out.set(head, 0);
  out.set(pkcs1, head.length);
  return out;
}

/** DER definite length: short form below 128, else 0x80 | byte count, then big-endian bytes. */
function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return [0x80 | bytes.length, ...bytes];
}
