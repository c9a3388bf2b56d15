// Secret values travel sealed to the broker (as GitHub's secrets API does with libsodium sealed boxes): the
// broker publishes an ECDH P-256 public key; the sender makes an ephemeral key pair, derives an AES-256-GCM
// key with HKDF-SHA256 from the shared secret, and encrypts the value. The associated data binds the secret's
// name, the recipient key, the ephemeral key and the time of sealing, so a proxy or a log in between sees
// only ciphertext, a seal made for one name does not open as another, and a captured seal goes stale.
// WebCrypto only: the CLI, Node and workerd all run it.
import { canonicalJson, fromBase64, toBase64, utf8 } from '../util/encoding.ts';

export const SEAL_ALG = 'ECDH-ES-P256+HKDF-SHA256+A256GCM';
const INFO = utf8('secret-broker sealed secret v1');
const CURVE = { name: 'ECDH', namedCurve: 'P-256' } as const;

export interface SealPublicKey {
  kid: string;
  alg: typeof SEAL_ALG;
  /** The public half as a JWK (kty EC, crv P-256, x, y). */
  jwk: JsonWebKey;
}

export interface SealedValue {
  alg: typeof SEAL_ALG;
  /** The broker key it is sealed to. */
  kid: string;
  /** The sender's ephemeral public key, raw uncompressed point, base64. */
  epk: string;
  iv: string;
  /** Ciphertext with its GCM tag, base64. */
  ct: string;
  /** When it was sealed (epoch seconds): the broker takes it only within a few minutes of that. */
  iat: number;
}

function associatedData(name: string, kid: string, epk: string, iat: number): Uint8Array<ArrayBuffer> {
  return utf8(canonicalJson({ alg: SEAL_ALG, epk, iat, kid, name }));
}

async function deriveKey(privateKey: CryptoKey, publicKey: CryptoKey, salt: Uint8Array<ArrayBuffer>, usage: KeyUsage): Promise<CryptoKey> {
  const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: publicKey }, privateKey, 256);
  const ikm = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt, info: INFO }, ikm, { name: 'AES-GCM', length: 256 }, false, [
    usage,
  ]);
}

/** The HKDF salt: both public keys, so the derived key belongs to this pair only. */
async function saltOf(epkRaw: Uint8Array<ArrayBuffer>, recipient: CryptoKey): Promise<Uint8Array<ArrayBuffer>> {
  const rpk = new Uint8Array(await crypto.subtle.exportKey('raw', recipient));
  const both = new Uint8Array(epkRaw.length + rpk.length);
  both.set(epkRaw);
  both.set(rpk, epkRaw.length);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', both));
}

/** Seals `value` for the secret `name` to the broker's published key. */
export async function sealValue(recipient: SealPublicKey, name: string, value: Uint8Array<ArrayBuffer>, iat: number): Promise<SealedValue> {
  if (recipient.alg !== SEAL_ALG) throw new Error(`the broker's seal key is for ${String(recipient.alg)}, not ${SEAL_ALG}`);
  const { kty, crv, x, y } = recipient.jwk;
  if (kty !== 'EC' || crv !== 'P-256' || typeof x !== 'string' || typeof y !== 'string')
    throw new Error("the broker's seal key is not a P-256 key");
  const publicKey = await crypto.subtle.importKey('jwk', { kty, crv, x, y }, CURVE, true, []);
  const eph = (await crypto.subtle.generateKey(CURVE, true, ['deriveBits'])) as CryptoKeyPair;
  const epkRaw = new Uint8Array(await crypto.subtle.exportKey('raw', eph.publicKey));
  const epk = toBase64(epkRaw);
  const key = await deriveKey(eph.privateKey, publicKey, await saltOf(epkRaw, publicKey), 'encrypt');
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const additionalData = associatedData(name, recipient.kid, epk, iat);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData }, key, value));
  return { alg: SEAL_ALG, kid: recipient.kid, epk, iv: toBase64(iv), ct: toBase64(ct), iat };
}

export type OpenResult = { ok: true; value: Uint8Array } | { ok: false; problem: 'malformed' | 'kid' | 'open' };

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Whether `x` has the shape of a SealedValue (and nothing else). */
export function isSealedShape(x: unknown): x is SealedValue {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const o = x as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(',');
  if (keys !== 'alg,ct,epk,iat,iv,kid') return false;
  return (
    o.alg === SEAL_ALG &&
    typeof o.kid === 'string' &&
    o.kid.length <= 64 &&
    [o.epk, o.iv, o.ct].every((v) => typeof v === 'string' && B64.test(v)) &&
    typeof o.iat === 'number' &&
    Number.isSafeInteger(o.iat)
  );
}

/** Opens a seal made for `name` to the key `kid` (the broker's private half). */
export async function openSealed(
  privateKey: CryptoKey,
  publicKey: CryptoKey,
  kid: string,
  name: string,
  sealed: SealedValue,
): Promise<OpenResult> {
  if (sealed.kid !== kid) return { ok: false, problem: 'kid' };
  let epkRaw: Uint8Array<ArrayBuffer>;
  let iv: Uint8Array<ArrayBuffer>;
  let ct: Uint8Array<ArrayBuffer>;
  let epk: CryptoKey;
  try {
    epkRaw = fromBase64(sealed.epk);
    iv = fromBase64(sealed.iv);
    ct = fromBase64(sealed.ct);
    if (iv.length !== 12 || ct.length < 17) return { ok: false, problem: 'malformed' };
    // An invalid point (not on the curve) is refused here, before any key agreement.
    epk = await crypto.subtle.importKey('raw', epkRaw, CURVE, false, []);
  } catch {
    return { ok: false, problem: 'malformed' };
  }
  try {
    const key = await deriveKey(privateKey, epk, await saltOf(epkRaw, publicKey), 'decrypt');
    const additionalData = associatedData(name, kid, sealed.epk, sealed.iat);
    return { ok: true, value: new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData }, key, ct)) };
  } catch {
    return { ok: false, problem: 'open' };
  }
}
