// The JWKS cache on KV: the last good key set per issuer, shared by every isolate, so that the broker keeps
// verifying while an issuer is briefly unreachable. It is a fallback only (the registry, broker/src/oidc/
// jwks.ts, reads it when a live fetch fails), and it is not trusted for being in KV: anyone who can write
// the namespace could plant keys there. Every entry carries an HMAC-SHA-256 under a key derived from the
// KEK (store/subkeys.ts) over the issuer URL, the key set and fetched_at, so an entry is neither forged,
// edited, re-dated, nor moved to another issuer. KV is eventually consistent, which is fine for a fallback.
// (Replay protection needs atomicity and lives in a Durable Object, never here.)
import type { KVNamespace } from '@cloudflare/workers-types';
import type { JwksCache, JwksCacheEntry } from '../../src/store/ports.ts';
import { canonicalJson, fromBase64, toBase64, utf8 } from '../../src/util/encoding.ts';

/** Entries vanish after a week without a refresh: a key set nobody could refresh that long is not "last good". */
export const ENTRY_TTL_S = 7 * 24 * 3600;

interface StoredEntry extends JwksCacheEntry {
  mac: string;
}

export class KvJwksCache implements JwksCache {
  readonly #kv: KVNamespace;
  readonly #macKey: CryptoKey;

  /** `macKey`: deriveMacKey(BROKER_KEK, JWKS_CACHE_MAC_PURPOSE). */
  constructor(kv: KVNamespace, macKey: CryptoKey) {
    this.#kv = kv;
    this.#macKey = macKey;
  }

  async get(issuerUrl: string): Promise<JwksCacheEntry | null> {
    const value = await this.#kv.get<unknown>(keyOf(issuerUrl), 'json');
    if (!isStored(value)) return null;
    let mac: Uint8Array<ArrayBuffer>;
    try {
      mac = fromBase64(value.mac);
    } catch {
      return null;
    }
    const entry: JwksCacheEntry = { jwks: value.jwks, fetched_at: value.fetched_at };
    const ok = await crypto.subtle.verify('HMAC', this.#macKey, mac, macInput(issuerUrl, entry)).catch(() => false);
    return ok ? entry : null;
  }

  async put(issuerUrl: string, entry: JwksCacheEntry): Promise<void> {
    const mac = toBase64(new Uint8Array(await crypto.subtle.sign('HMAC', this.#macKey, macInput(issuerUrl, entry))));
    const stored: StoredEntry = { jwks: entry.jwks, fetched_at: entry.fetched_at, mac };
    await this.#kv.put(keyOf(issuerUrl), JSON.stringify(stored), { expirationTtl: ENTRY_TTL_S });
  }
}

function keyOf(issuerUrl: string): string {
  return `jwks:${issuerUrl}`;
}

/** What the MAC covers: the issuer it was fetched from, the key set and when (canonical JSON). */
function macInput(issuerUrl: string, entry: JwksCacheEntry): Uint8Array<ArrayBuffer> {
  return utf8(canonicalJson({ issuer: issuerUrl, jwks: entry.jwks, fetched_at: entry.fetched_at }));
}

function isStored(value: unknown): value is StoredEntry {
  if (!value || typeof value !== 'object') return false;
  const v = value as { jwks?: { keys?: unknown }; fetched_at?: unknown; mac?: unknown };
  return (
    !!v.jwks &&
    typeof v.jwks === 'object' &&
    Array.isArray(v.jwks.keys) &&
    typeof v.fetched_at === 'number' &&
    Number.isFinite(v.fetched_at) &&
    typeof v.mac === 'string'
  );
}
