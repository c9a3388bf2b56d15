// Keys per allowlisted issuer: discovery, then JWKS, each fetched with a deadline, a 100 KiB cap and no
// redirects. The guard bounds fetches whatever callers send: one fetch in flight per issuer, one refetch for
// an unknown kid per cooldown, exponential backoff while an issuer fails, and the last good keys kept.
// The shared cache (KV on Workers) is a fallback only: it is read when a live fetch fails and no keys are
// in memory, and an entry from the future or older than cacheMaxAgeMs is not used.
import type { Reason } from '../audit/reasons.ts';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { JwksCache } from '../store/ports.ts';
import { fetchLimited, type FetchLike } from '../util/http.ts';
import type { CompiledIssuer } from '../policy/compile.ts';

export const JWKS_MAX_BYTES = 100 * 1024;

export interface JwksOptions {
  fetch: FetchLike;
  /** Epoch milliseconds. */
  now: () => number;
  cache?: JwksCache;
  timeoutMs?: number;
  /** Keys older than this are refreshed (the old ones stay in use if the refresh fails). */
  refreshMs?: number;
  /** Minimum time between fetches caused by an unknown kid. */
  unknownKidCooldownMs?: number;
  /** The oldest cached key set used as a fallback [7 days]. */
  cacheMaxAgeMs?: number;
  /** First backoff after a failed fetch; doubles per failure up to maxBackoffMs. */
  failureBackoffMs?: number;
  maxBackoffMs?: number;
  onEvent?: (event: JwksEvent) => void;
}

export type JwksEvent =
  | { type: 'fetched'; issuer: string; keys: number }
  | { type: 'fetch_failed'; issuer: string; detail: string }
  | { type: 'cache_fallback'; issuer: string; keys: number; age_ms: number };

/** Clock skew tolerated between isolates: a fetched_at further in the future than this is not believed. */
export const CLOCK_SKEW_MS = 60_000;

type KeyResolver = ReturnType<typeof createLocalJWKSet>;

interface IssuerKeys {
  resolver?: KeyResolver;
  kids: Set<string>;
  fetchedAt: number;
  lastAttempt: number;
  failures: number;
  inflight?: Promise<void>;
}

export type KeyLookup = { ok: true; resolve: KeyResolver } | { ok: false; reason: 'unavailable' | 'unknown_kid'; detail: Reason };

export class JwksRegistry {
  private readonly state = new Map<string, IssuerKeys>();
  private readonly opts: Required<Omit<JwksOptions, 'cache' | 'onEvent'>> & Pick<JwksOptions, 'cache' | 'onEvent'>;

  constructor(options: JwksOptions) {
    this.opts = {
      timeoutMs: 5_000,
      refreshMs: 10 * 60_000,
      unknownKidCooldownMs: 30_000,
      cacheMaxAgeMs: 7 * 24 * 3_600_000,
      failureBackoffMs: 1_000,
      maxBackoffMs: 5 * 60_000,
      ...options,
    };
  }

  /** Key sets given in the policy (`jwks:` / `jwks_file:`), per loaded policy: a reload brings a new object. */
  private readonly pinned = new WeakMap<object, { resolver: KeyResolver; kids: Set<string> }>();

  /** Returns a key resolver for this issuer that knows `kid`, fetching at most what the guard allows. */
  async keysFor(issuer: CompiledIssuer, kid: string): Promise<KeyLookup> {
    // Keys from the policy replace discovery entirely: nothing is fetched, nothing is cached elsewhere.
    if (issuer.jwks) return this.pinnedKeys(issuer, issuer.jwks, kid);
    const st = this.stateOf(issuer);
    const now = this.opts.now();
    // A fetchedAt in the future (beyond clock skew) is stale: it must never make keys fresh forever.
    const stale = !st.resolver || now - st.fetchedAt > this.opts.refreshMs || st.fetchedAt > now + CLOCK_SKEW_MS;
    const unknown = !!st.resolver && !st.kids.has(kid);
    if (stale || unknown) {
      // Unknown kids may only trigger a refetch once per cooldown: random kids cannot drive fetches.
      const wait = unknown && !stale ? Math.max(this.backoff(st), this.opts.unknownKidCooldownMs) : this.backoff(st);
      if (st.inflight || now - st.lastAttempt >= wait) await this.refresh(issuer, st);
    }
    if (!st.resolver) return { ok: false, reason: 'unavailable', detail: `jwks.unavailable:${issuer.name}` };
    if (!st.kids.has(kid)) return { ok: false, reason: 'unknown_kid', detail: `token.unknown_kid:${issuer.name}` };
    return { ok: true, resolve: st.resolver };
  }

  private pinnedKeys(issuer: CompiledIssuer, jwks: NonNullable<CompiledIssuer['jwks']>, kid: string): KeyLookup {
    let entry = this.pinned.get(jwks);
    if (!entry) {
      // The schema admitted public signing keys only; usableKeys checks again, as for fetched sets.
      const keys = usableKeys(jwks.keys as unknown[]);
      entry = {
        resolver: createLocalJWKSet({ keys }),
        kids: new Set(keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string')),
      };
      this.pinned.set(jwks, entry);
    }
    if (!entry.kids.has(kid)) return { ok: false, reason: 'unknown_kid', detail: `token.unknown_kid:${issuer.name}` };
    return { ok: true, resolve: entry.resolver };
  }

  private stateOf(issuer: CompiledIssuer): IssuerKeys {
    let st = this.state.get(issuer.name);
    if (!st) {
      st = { kids: new Set(), fetchedAt: 0, lastAttempt: -Infinity, failures: 0 };
      this.state.set(issuer.name, st);
    }
    return st;
  }

  private backoff(st: IssuerKeys): number {
    if (st.failures === 0) return 0;
    return Math.min(this.opts.failureBackoffMs * 2 ** (st.failures - 1), this.opts.maxBackoffMs);
  }

  private refresh(issuer: CompiledIssuer, st: IssuerKeys): Promise<void> {
    st.inflight ??= this.fetchKeys(issuer, st).finally(() => {
      delete st.inflight;
    });
    return st.inflight;
  }

  /** The fallback after a failed fetch: the cached key set, if it is authentic (the cache checks), not from the future and not too old. */
  private async loadFromCache(issuer: CompiledIssuer, st: IssuerKeys): Promise<void> {
    const entry = await this.opts.cache?.get(issuer.url).catch(() => null);
    if (!entry) return;
    const now = this.opts.now();
    if (entry.fetched_at > now + CLOCK_SKEW_MS || now - entry.fetched_at > this.opts.cacheMaxAgeMs) return;
    const keys = usableKeys(entry.jwks.keys);
    if (keys.length === 0) return;
    this.install(st, { keys }, entry.fetched_at);
    this.opts.onEvent?.({ type: 'cache_fallback', issuer: issuer.name, keys: st.kids.size, age_ms: now - entry.fetched_at });
  }

  private install(st: IssuerKeys, jwks: JSONWebKeySet, fetchedAt: number): void {
    st.resolver = createLocalJWKSet(jwks);
    st.kids = new Set(jwks.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string'));
    st.fetchedAt = fetchedAt;
  }

  private async fetchKeys(issuer: CompiledIssuer, st: IssuerKeys): Promise<void> {
    st.lastAttempt = this.opts.now();
    const result = await this.download(issuer);
    if (!result.ok) {
      st.failures++;
      this.opts.onEvent?.({ type: 'fetch_failed', issuer: issuer.name, detail: result.detail });
      // Keys in memory are our own last good set; only without them is the shared cache consulted.
      if (!st.resolver) await this.loadFromCache(issuer, st);
      return;
    }
    st.failures = 0;
    const fetchedAt = this.opts.now();
    this.install(st, result.jwks, fetchedAt);
    this.opts.onEvent?.({ type: 'fetched', issuer: issuer.name, keys: st.kids.size });
    await this.opts.cache?.put(issuer.url, { jwks: result.jwks as { keys: unknown[] }, fetched_at: fetchedAt }).catch(() => {});
  }

  private async download(issuer: CompiledIssuer): Promise<{ ok: true; jwks: JSONWebKeySet } | { ok: false; detail: string }> {
    const limits = { timeoutMs: this.opts.timeoutMs, maxBytes: JWKS_MAX_BYTES };
    const headers = { accept: 'application/json' };
    const discoveryUrl = `${issuer.url.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const disc = await fetchLimited(this.opts.fetch, discoveryUrl, { headers }, limits);
    if (!disc.ok) return { ok: false, detail: `discovery ${disc.reason}: ${disc.detail}` };
    if (disc.status !== 200) return { ok: false, detail: `discovery HTTP ${disc.status}` };
    const doc = parseObject(disc.body);
    if (!doc) return { ok: false, detail: 'discovery: not a JSON object' };
    if (doc.issuer !== issuer.url) return { ok: false, detail: 'discovery: issuer does not equal the configured URL' };
    const jwksUri = doc.jwks_uri;
    if (typeof jwksUri !== 'string' || !sameOrigin(jwksUri, issuer.url)) {
      return { ok: false, detail: 'discovery: jwks_uri missing or not on the issuer origin' };
    }
    const res = await fetchLimited(this.opts.fetch, jwksUri, { headers }, limits);
    if (!res.ok) return { ok: false, detail: `jwks ${res.reason}: ${res.detail}` };
    if (res.status !== 200) return { ok: false, detail: `jwks HTTP ${res.status}` };
    const jwks = parseObject(res.body);
    if (!jwks || !Array.isArray(jwks.keys) || jwks.keys.length === 0) return { ok: false, detail: 'jwks: no keys' };
    const keys = usableKeys(jwks.keys);
    if (keys.length === 0) return { ok: false, detail: 'jwks: no usable signing keys' };
    return { ok: true, jwks: { keys } };
  }
}

/** Public signing keys only: no private members, no encryption keys. */
function usableKeys(keys: unknown[]): JSONWebKeySet['keys'] {
  return keys.filter(
    (k): k is JSONWebKeySet['keys'][number] =>
      !!k &&
      typeof k === 'object' &&
      typeof (k as { kty?: unknown }).kty === 'string' &&
      !('d' in k) &&
      ((k as { use?: unknown }).use === undefined || (k as { use?: unknown }).use === 'sig'),
  );
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
