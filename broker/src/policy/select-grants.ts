// The exchange's optional `grants` field: a subset of the role's grants, named by grant type ("aws") or by a
// secret grant's env name ("DATABASE_URL"). It can only narrow: a selection is a filter over the role's own
// grants, compared exactly, and an entry that selects nothing is refused rather than ignored (a typo must not
// quietly hand out less, or nothing, while the job believes it got what it asked for). Zod-free, because the
// pipeline clients check the same entry rule before they send.
import type { Reason } from '../audit/reasons.ts';
import type { Grant } from './schema.ts';
import { isStoreSecretGrant, storeSecretEnvNames } from './store-secret-names.ts';

/** A grant type or an env name; a secret grant without `env` is named by its store name, which may hold "." and "-". */
export const GRANT_SELECTOR = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
/** A role holds at most 16 grants (schema.ts), so a longer list cannot be a narrowing. */
export const MAX_GRANT_SELECTORS = 16;

export type SelectorsResult = { ok: true; selectors: string[] | undefined } | { ok: false; reason: Reason };

/** Shape only, before the token is verified: undefined (absent) means every grant of the role. */
export function parseGrantSelectors(value: unknown): SelectorsResult {
  if (value === undefined) return { ok: true, selectors: undefined };
  if (!Array.isArray(value)) return { ok: false, reason: 'request.grants_not_list' };
  if (value.length === 0) return { ok: false, reason: 'request.grants_empty' };
  if (value.length > MAX_GRANT_SELECTORS) return { ok: false, reason: 'request.grants_too_many' };
  const seen = new Set<string>();
  for (const entry of value) {
    if (typeof entry !== 'string' || !GRANT_SELECTOR.test(entry)) return { ok: false, reason: 'request.grants_entry' };
    if (seen.has(entry)) return { ok: false, reason: 'request.grants_duplicate' };
    seen.add(entry);
  }
  return { ok: true, selectors: [...seen] };
}

/** The env name a secret grant's credential carries (mint/secret.ts: the grant's env, else its name). */
function envNameOf(grant: Grant): string | undefined {
  return grant.type === 'secret' ? (grant.env ?? grant.name) : undefined;
}

/**
 * The role's grants that `selectors` name, in the role's order, each at most once. Every selector must name
 * at least one grant of this role; `unmatched` lists those that do not.
 */
export function selectGrants(
  grants: readonly Grant[],
  selectors: readonly string[] | undefined,
): { ok: true; grants: readonly Grant[] } | { ok: false; unmatched: string[] } {
  if (selectors === undefined) return { ok: true, grants };
  const used = new Set<string>();
  const picked = grants.filter((g) => {
    // A secret-store grant is picked whole when any name it exports is asked for.
    const names = isStoreSecretGrant(g) ? storeSecretEnvNames(g) : [];
    const hits = selectors.filter((s) => s === g.type || s === envNameOf(g) || names.includes(s));
    for (const s of hits) used.add(s);
    return hits.length > 0;
  });
  const unmatched = selectors.filter((s) => !used.has(s));
  return unmatched.length ? { ok: false, unmatched } : { ok: true, grants: picked };
}
