// The lifecycle of the broker's signing keys as pure functions of (keys, time), so that every isolate and
// process agrees without coordination:
//   published  from creation (a rotated-in key is in the JWKS before it signs anything),
//   signing    from activates_at until a newer key activates,
//   retained   after that for as long as a token it signed can live, then dropped.
import type { SigningKeyRow } from '../store/ports.ts';

/** Broker tokens live at most this long. */
export const BROKER_TOKEN_MAX_TTL = 300;
/** Slack for clock skew between the broker and the clouds that verify its tokens. */
export const KEY_RETENTION_LEEWAY = 300;

function byActivation(rows: SigningKeyRow[]): SigningKeyRow[] {
  return [...rows].sort((a, b) => a.activates_at - b.activates_at || a.created_at - b.created_at || (a.kid < b.kid ? -1 : 1));
}

/** The key that signs at time `t`: the latest one already active. */
export function signingKeyAt(rows: SigningKeyRow[], t: number): SigningKeyRow | undefined {
  return byActivation(rows)
    .filter((r) => r.activates_at <= t)
    .at(-1);
}

/** When `row` stopped signing (its successor's activation), or undefined while it is current or upcoming. */
function supersededAt(sorted: SigningKeyRow[], row: SigningKeyRow, t: number): number | undefined {
  const i = sorted.indexOf(row);
  const successor = sorted.slice(i + 1).find((r) => r.activates_at <= t);
  return successor?.activates_at;
}

/** Keys whose public half the JWKS serves at time `t`: upcoming, current, and previous ones still needed. */
export function publishedKeysAt(rows: SigningKeyRow[], t: number): SigningKeyRow[] {
  const sorted = byActivation(rows);
  return sorted.filter((r) => {
    const until = supersededAt(sorted, r, t);
    return until === undefined || until + BROKER_TOKEN_MAX_TTL + KEY_RETENTION_LEEWAY > t;
  });
}

/** Keys that no token alive at time `t` can have been signed with. */
export function droppableKeysAt(rows: SigningKeyRow[], t: number): SigningKeyRow[] {
  const keep = new Set(publishedKeysAt(rows, t).map((r) => r.kid));
  return rows.filter((r) => !keep.has(r.kid));
}
