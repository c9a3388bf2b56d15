// Envelope encryption for stored secrets (web-standard: WebCrypto only, runs on workerd and Node).
//
// Every secret version gets its own random AES-256-GCM data key. The data key encrypts the value; the KEK
// (key-encryption key, BROKER_KEK) wraps the data key. Both encryptions carry the secret's name and version
// as associated data, so a row cannot be moved to another name or version, and the wrapped key of one row
// cannot be grafted onto another. Rotating the KEK rewraps data keys and never touches the ciphertext.
//
// Row format (all base64): iv = the 12-byte IV of the value encryption; ciphertext = value ciphertext with
// its 16-byte tag; wrapped_key = 12-byte wrap IV || wrapped 32-byte data key || 16-byte tag.
import { BrokerError } from '../errors.ts';
import { canonicalJson, fromBase64, sha256Hex, toBase64, utf8 } from '../util/encoding.ts';
import type { SecretRow } from './ports.ts';

export interface Kek {
  /** First 16 hex chars of SHA-256 of the key bytes: names the KEK in records without revealing it. */
  id: string;
  key: CryptoKey;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const WRAPPED_BYTES = IV_BYTES + KEY_BYTES + TAG_BYTES;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Imports a KEK given as base64 of exactly 32 bytes. The error never echoes the value. */
export async function importKek(base64: string): Promise<Kek> {
  const text = base64.trim();
  let raw: Uint8Array<ArrayBuffer> | undefined;
  if (BASE64.test(text)) {
    try {
      raw = fromBase64(text);
    } catch {
      raw = undefined;
    }
  }
  if (raw?.length !== KEY_BYTES) {
    throw new Error(
      `a KEK must be exactly ${KEY_BYTES} random bytes in base64 (44 characters); ` +
        `generate one with: openssl rand -base64 32`,
    );
  }
  const id = (await sha256Hex(raw)).slice(0, 16);
  // Non-extractable and limited to wrapping: the KEK itself can never be read back or used on data.
  const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['wrapKey', 'unwrapKey']);
  raw.fill(0);
  return { id, key };
}

/** 32 fresh random bytes in base64, for BROKER_KEK or the development KEK file. */
export function generateKekBase64(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(KEY_BYTES)));
}

/** The associated data both encryptions carry: binds a row to its name and version. */
function boundTo(name: string, version: number): Uint8Array<ArrayBuffer> {
  return utf8(canonicalJson({ name, version }));
}

function randomIv(): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(IV_BYTES));
}

async function wrapDataKey(kek: Kek, dataKey: CryptoKey, aad: Uint8Array<ArrayBuffer>): Promise<string> {
  const iv = randomIv();
  const wrapped = new Uint8Array(
    await crypto.subtle.wrapKey('raw', dataKey, kek.key, { name: 'AES-GCM', iv, additionalData: aad }),
  );
  const out = new Uint8Array(IV_BYTES + wrapped.length);
  out.set(iv);
  out.set(wrapped, IV_BYTES);
  return toBase64(out);
}

/** Unwraps a row's data key; `extractable` only for rewrapping. Throws on any mismatch (GCM tag). */
async function unwrapDataKey(keks: readonly Kek[], row: SecretRow, extractable: boolean): Promise<CryptoKey> {
  const kek = keks.find((k) => k.id === row.kek_id);
  if (!kek) throw new BrokerError('ERR_INTERNAL', `secret.kek_unknown:${row.name}`);
  try {
    const blob = fromBase64(row.wrapped_key);
    if (blob.length !== WRAPPED_BYTES) throw new Error('wrapped key has the wrong length');
    return await crypto.subtle.unwrapKey(
      'raw',
      blob.subarray(IV_BYTES),
      kek.key,
      { name: 'AES-GCM', iv: blob.subarray(0, IV_BYTES), additionalData: boundTo(row.name, row.version) },
      'AES-GCM',
      extractable,
      ['decrypt'],
    );
  } catch (cause) {
    throw new BrokerError('ERR_INTERNAL', `secret.decrypt_failed:${row.name}`, { cause });
  }
}

/** Encrypts one version of a secret under a fresh data key wrapped by `kek`. */
export async function sealSecret(
  kek: Kek,
  name: string,
  version: number,
  plaintext: Uint8Array,
  now: number,
): Promise<SecretRow> {
  const aad = boundTo(name, version);
  // Extractable only so that it can be wrapped; it lives in memory for this call alone.
  const dataKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt']);
  const iv = randomIv();
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: aad },
    dataKey,
    new Uint8Array(plaintext), // a copy typed as ArrayBuffer-backed, as WebCrypto wants
  );
  return {
    name,
    version,
    kek_id: kek.id,
    wrapped_key: await wrapDataKey(kek, dataKey, aad),
    iv: toBase64(iv),
    ciphertext: toBase64(new Uint8Array(ciphertext)),
    created_at: now,
  };
}

/**
 * Decrypts a row with whichever of `keks` wrapped it. Any change to the ciphertext, IV, wrapped key, name
 * or version fails with ERR_INTERNAL; the detail names the secret, never its value.
 */
export async function openSecret(keks: readonly Kek[], row: SecretRow): Promise<Uint8Array<ArrayBuffer>> {
  const dataKey = await unwrapDataKey(keks, row, false);
  try {
    const iv = fromBase64(row.iv);
    if (iv.length !== IV_BYTES) throw new Error('iv has the wrong length');
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv, additionalData: boundTo(row.name, row.version) },
      dataKey,
      fromBase64(row.ciphertext),
    );
    return new Uint8Array(plain);
  } catch (cause) {
    throw new BrokerError('ERR_INTERNAL', `secret.decrypt_failed:${row.name}`, { cause });
  }
}

/** KEK rotation: the same data key, wrapped under `to`. The ciphertext and IV are unchanged. */
export async function rewrapRow(from: readonly Kek[], to: Kek, row: SecretRow): Promise<SecretRow> {
  // Unwrapping checks the GCM tag over the name and version too, so a grafted wrapped key fails here.
  const dataKey = await unwrapDataKey(from, row, true);
  return { ...row, kek_id: to.id, wrapped_key: await wrapDataKey(to, dataKey, boundTo(row.name, row.version)) };
}
