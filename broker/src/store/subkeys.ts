// Keys for other purposes derived from the KEK (HKDF-SHA-256, RFC 5869), one per purpose label, so that the
// KEK itself only ever wraps data keys and a key derived for one purpose is useless for any other.
import { fromBase64, utf8 } from '../util/encoding.ts';

/** Authenticates the Workers JWKS cache entries in KV (broker/entry/workers/kv.ts). */
export const JWKS_CACHE_MAC_PURPOSE = 'secret-broker/v1/jwks-cache-mac';

/** An HMAC-SHA-256 key for `purpose`, derived from a KEK given as base64 (as BROKER_KEK). Non-extractable. */
export async function deriveMacKey(kekBase64: string, purpose: string): Promise<CryptoKey> {
  const raw = fromBase64(kekBase64.trim());
  try {
    const ikm = await crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveKey']);
    return await crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: utf8(purpose) },
      ikm,
      { name: 'HMAC', hash: 'SHA-256', length: 256 },
      false,
      ['sign', 'verify'],
    );
  } finally {
    raw.fill(0);
  }
}
