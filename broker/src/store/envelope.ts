// Envelope encryption for stored secrets (web-standard: WebCrypto only, runs on workerd and Node).
//
// Every secret version gets its own random AES-256-GCM data key. The data key encrypts the value; the KEK
// (key-encryption key, BROKER_KEK) wraps the data key. Both encryptions carry the secret's name and version
// as associated data, so a row cannot be moved to another name or version, and the wrapped key of one row
// cannot be grafted onto another. Rotating the KEK rewraps data keys and never touches the ciphertext.
//
// Row format (all base64): iv = the 12-byte IV of the value encryption; ciphertext = value ciphertext with
// its 16-byte tag; wrapped_key = 12-byte wrap IV || wrapped 32-byte data key || 16-byte tag.
//
// Secret versions written since version counters exist are "counted": their data key is wrapped with
// {counted, name, version} as associated data, which proves (without the KEK nobody can produce it) that
// the name has a sealed head (SecretHead, see store/secrets.ts). A head is a wrap under the KEK of a fresh
// key that means nothing, with {name, secret_head: version} as associated data: the GCM tag is the seal.
// The three associated-data forms never coincide, so no row's wrapped key passes for a head or vice versa.
import { BrokerError } from '../errors.ts';
import { canonicalJson, fromBase64, sha256Hex, toBase64, utf8 } from '../util/encoding.ts';
import type { SecretHead, SecretRow } from './ports.ts';

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
      `a KEK must be exactly ${KEY_BYTES} random bytes in base64 (44 characters); generate one with: openssl rand -base64 32`,
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

/** The data key wrap of a counted row (see the top of this file). */
function countedTo(name: string, version: number): Uint8Array<ArrayBuffer> {
  return utf8(canonicalJson({ counted: true, name, version }));
}

function headOf(name: string, version: number): Uint8Array<ArrayBuffer> {
  return utf8(canonicalJson({ name, secret_head: version }));
}

function randomIv(): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(IV_BYTES));
}

async function wrapDataKey(kek: Kek, dataKey: CryptoKey, aad: Uint8Array<ArrayBuffer>): Promise<string> {
  const iv = randomIv();
  const wrapped = new Uint8Array(await crypto.subtle.wrapKey('raw', dataKey, kek.key, { name: 'AES-GCM', iv, additionalData: aad }));
  const out = new Uint8Array(IV_BYTES + wrapped.length);
  out.set(iv);
  out.set(wrapped, IV_BYTES);
  return toBase64(out);
}

/** Unwraps an IV || wrapped key blob under `kek` with `aad`; throws on any mismatch (GCM tag). */
async function unwrapBlob(kek: Kek, wrapped: string, aad: Uint8Array<ArrayBuffer>, extractable: boolean): Promise<CryptoKey> {
  const blob = fromBase64(wrapped);
  if (blob.length !== WRAPPED_BYTES) throw new Error('wrapped key has the wrong length');
  return crypto.subtle.unwrapKey(
    'raw',
    blob.subarray(IV_BYTES),
    kek.key,
    { name: 'AES-GCM', iv: blob.subarray(0, IV_BYTES), additionalData: aad },
    'AES-GCM',
    extractable,
    ['decrypt'],
  );
}

/**
 * Unwraps a row's data key; `extractable` only for rewrapping. `counted` tells which wrap it carries.
 * Throws on any mismatch (GCM tag).
 */
async function unwrapDataKey(keks: readonly Kek[], row: SecretRow, extractable: boolean): Promise<{ key: CryptoKey; counted: boolean }> {
  const kek = keks.find((k) => k.id === row.kek_id);
  if (!kek) throw new BrokerError('ERR_INTERNAL', `secret.kek_unknown:${row.name}`);
  try {
    return { key: await unwrapBlob(kek, row.wrapped_key, countedTo(row.name, row.version), extractable), counted: true };
  } catch {
    // A row written before version counters existed.
  }
  try {
    return { key: await unwrapBlob(kek, row.wrapped_key, boundTo(row.name, row.version), extractable), counted: false };
  } catch (cause) {
    throw new BrokerError('ERR_INTERNAL', `secret.decrypt_failed:${row.name}`, { cause });
  }
}

/** Whether `row` was sealed as counted (its name must then have a head). Throws if it does not open. */
export async function isCountedRow(keks: readonly Kek[], row: SecretRow): Promise<boolean> {
  return (await unwrapDataKey(keks, row, false)).counted;
}

/** Encrypts one version of a secret under a fresh data key wrapped by `kek`. */
export async function sealSecret(
  kek: Kek,
  name: string,
  version: number,
  plaintext: Uint8Array,
  now: number,
  opts: { counted?: boolean } = {},
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
    wrapped_key: await wrapDataKey(kek, dataKey, opts.counted ? countedTo(name, version) : aad),
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
  const { key: dataKey } = await unwrapDataKey(keks, row, false);
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

/**
 * KEK rotation: the same data key, wrapped under `to`. The ciphertext and IV are unchanged. A counted row
 * stays counted; `count` makes a row written before counters existed counted.
 */
export async function rewrapRow(from: readonly Kek[], to: Kek, row: SecretRow, opts: { count?: boolean } = {}): Promise<SecretRow> {
  // Unwrapping checks the GCM tag over the name and version too, so a grafted wrapped key fails here.
  const { key: dataKey, counted } = await unwrapDataKey(from, row, true);
  const aad = counted || opts.count ? countedTo(row.name, row.version) : boundTo(row.name, row.version);
  return { ...row, kek_id: to.id, wrapped_key: await wrapDataKey(to, dataKey, aad) };
}

/** Seals `version` as the newest version of `name`. */
export async function sealHead(kek: Kek, name: string, version: number): Promise<SecretHead> {
  // The wrapped key is never used: the wrap's tag over the associated data is what seals the head.
  const filler = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt']);
  return { name, version, kek_id: kek.id, seal: await wrapDataKey(kek, filler, headOf(name, version)) };
}

/**
 * Whether `head` was sealed by one of `keks` for its name and version. A head under a KEK none of `keks`
 * is throws ERR_INTERNAL (a missing key, not tampering), like a row would.
 */
export async function verifyHead(keks: readonly Kek[], head: SecretHead): Promise<boolean> {
  const kek = keks.find((k) => k.id === head.kek_id);
  if (!kek) throw new BrokerError('ERR_INTERNAL', `secret.kek_unknown:${head.name}`);
  try {
    await unwrapBlob(kek, head.seal, headOf(head.name, head.version), false);
    return true;
  } catch {
    return false;
  }
}
