// The JWKS cache on KV: the last good key set per issuer, shared by every isolate, so that a new isolate
// starts with keys instead of fetching, and keeps verifying while an issuer is briefly unreachable. KV is
// eventually consistent, which is fine here: the registry refreshes stale keys itself and KV only saves fetches.
// (Replay protection needs atomicity and lives in a Durable Object, never here.)
import type { KVNamespace } from '@cloudflare/workers-types';
import type { JwksCache, JwksCacheEntry } from '../../src/store/ports.ts';

/** Entries vanish after a week without a refresh: a key set nobody could refresh that long is not "last good". */
const ENTRY_TTL_S = 7 * 24 * 3600;

export class KvJwksCache implements JwksCache {
  readonly #kv: KVNamespace;

  constructor(kv: KVNamespace) {
    this.#kv = kv;
  }

  async get(issuerUrl: string): Promise<JwksCacheEntry | null> {
    const value = await this.#kv.get<unknown>(keyOf(issuerUrl), 'json');
    return isEntry(value) ? value : null;
  }

  async put(issuerUrl: string, entry: JwksCacheEntry): Promise<void> {
    await this.#kv.put(keyOf(issuerUrl), JSON.stringify(entry), { expirationTtl: ENTRY_TTL_S });
  }
}

function keyOf(issuerUrl: string): string {
  return `jwks:${issuerUrl}`;
}

/** Only the broker writes this namespace, from key sets it has filtered; the shape is still checked on the way in. */
function isEntry(value: unknown): value is JwksCacheEntry {
  if (!value || typeof value !== 'object') return false;
  const v = value as { jwks?: { keys?: unknown }; fetched_at?: unknown };
  return !!v.jwks && typeof v.jwks === 'object' && Array.isArray(v.jwks.keys) && typeof v.fetched_at === 'number' && Number.isFinite(v.fetched_at);
}
