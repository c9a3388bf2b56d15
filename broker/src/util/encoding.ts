// Small web-standard helpers shared by every module (no node:* here: this runs on workerd too).
const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = '';
  for (const b of view) out += b.toString(16).padStart(2, '0');
  return out;
}

export async function sha256Hex(data: string | Uint8Array<ArrayBuffer>): Promise<string> {
  const bytes = typeof data === 'string' ? utf8(data) : data;
  return toHex(await crypto.subtle.digest('SHA-256', bytes));
}

/**
 * Canonical JSON (sorted keys, no whitespace; numbers and strings as JSON.stringify writes them, which is
 * what RFC 8785 prescribes): the form hashes are computed over, so equal records hash equally everywhere.
 */
export function canonicalJson(value: unknown): string {
  // Written as loops over one growing string: the audit chain canonicalises every record on the request
  // path, and map/filter/join made several arrays per object (a sixth of what an exchange allocated).
  if (value === null || typeof value !== 'object') {
    const out = JSON.stringify(value);
    if (out === undefined || (typeof value === 'number' && !Number.isFinite(value))) {
      throw new TypeError('value cannot be canonicalised');
    }
    return out;
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += `${i === 0 ? '' : ','}${canonicalJson(value[i] ?? null)}`;
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  if (isSortedLeaf(object, keys)) return JSON.stringify(object);
  keys.sort();
  let out = '{';
  for (const key of keys) {
    const member = object[key];
    if (member === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${out}}`;
}

/**
 * A plain object whose own keys are already in canonical order and whose members are all strings, booleans,
 * null or finite numbers: JSON.stringify writes it exactly as canonicalJson would (its key order is the
 * object's, integer-like keys first, which the order check sees), in one native pass. An audit record's
 * identity is built in this order for that reason.
 */
function isSortedLeaf(object: Record<string, unknown>, keys: string[]): boolean {
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) return false;
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && !(keys[i - 1]! < keys[i]!)) return false;
    const member = object[keys[i]!];
    switch (typeof member) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (!Number.isFinite(member)) return false;
        continue;
      default:
        if (member !== null) return false;
    }
  }
  return true;
}

/** Constant-time comparison (admin tokens): the time depends only on the length of `expected`. */
export function timingSafeEqual(expected: string, given: string): boolean {
  const x = utf8(expected);
  const y = utf8(given);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= (x[i] as number) ^ (y[i] ?? 0);
  return diff === 0;
}
