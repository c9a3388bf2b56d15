// Taking back what was minted: the exchange's rollback (a later grant failed, or the audit record could not
// be written) and the post step's revoke share it.
import type { Grant } from '../policy/schema.ts';
import type { RevocationItem } from '../store/revocations.ts';
import type { Minters } from './types.ts';

/** Best effort: revokes what was minted for a request that is not going to return it. */
export async function revokeAll(
  minters: Minters,
  items: RevocationItem[],
): Promise<{ type: Grant['type']; ok: boolean; detail?: string }[]> {
  const results = [];
  for (const item of items) {
    const type = item.type as Grant['type'];
    const minter = minters[type];
    if (!minter?.revoke) {
      results.push({ type, ok: false, detail: 'not revocable' });
      continue;
    }
    const r = await minter.revoke(item.data).catch((err: unknown) => ({ ok: false as const, detail: String(err) }));
    results.push(r.ok ? { type, ok: true } : { type, ok: false, detail: r.detail });
  }
  return results;
}
