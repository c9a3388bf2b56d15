// What the post step needs to revoke a request's credentials (GitHub installation tokens), sealed with the
// KEK like a secret and bound to the identity that made the request, kept only until they expire anyway.
import { canonicalJson, sha256Hex } from '../util/encoding.ts';
import type { Claims } from '../policy/match.ts';
import { openSecret, sealSecret, type Kek } from './envelope.ts';
import type { RevocationStore } from './ports.ts';

export interface RevocationItem {
  type: string;
  data: Record<string, string>;
}

const sealName = (requestId: string) => `revocation/${requestId}`;

/** The same CI job asks again with a fresh token: same issuer, subject, repository/project and run. */
export function revocationOwner(claims: Claims): Promise<string> {
  const pick = (k: string) => (Object.hasOwn(claims, k) ? claims[k] : undefined);
  return sha256Hex(
    canonicalJson({
      iss: pick('iss'),
      sub: pick('sub'),
      repository_id: pick('repository_id'),
      project_id: pick('project_id'),
      run_id: pick('run_id'),
      run_attempt: pick('run_attempt'),
      pipeline_id: pick('pipeline_id'),
      job_id: pick('job_id'),
    }),
  );
}

export class RevocationVault {
  readonly #store: RevocationStore;
  readonly #keks: { current: Kek; previous?: Kek[] };

  constructor(store: RevocationStore, keks: { current: Kek; previous?: Kek[] }) {
    this.#store = store;
    this.#keks = keks;
  }

  async save(requestId: string, owner: string, expiresAt: number, items: RevocationItem[], now: number): Promise<void> {
    const sealed = await sealSecret(this.#keks.current, sealName(requestId), 1, new TextEncoder().encode(JSON.stringify(items)), now);
    await this.#store.purge(now).catch(() => {});
    await this.#store.put({
      request_id: requestId,
      owner,
      expires_at: expiresAt,
      kek_id: sealed.kek_id,
      wrapped_key: sealed.wrapped_key,
      iv: sealed.iv,
      ciphertext: sealed.ciphertext,
    });
  }

  /**
   * Takes the entry if `owner` made the request. The store checks the owner in the same statement that
   * deletes, so nothing is ever taken and put back. `not_owner` and `none` differ only for the audit record.
   */
  async take(requestId: string, owner: string): Promise<{ status: 'none' | 'not_owner' } | { status: 'ok'; items: RevocationItem[] }> {
    const entry = await this.#store.take(requestId, owner);
    if (!entry) return { status: (await this.#store.has(requestId)) ? 'not_owner' : 'none' };
    const plain = await openSecret([this.#keks.current, ...(this.#keks.previous ?? [])], {
      name: sealName(requestId),
      version: 1,
      kek_id: entry.kek_id,
      wrapped_key: entry.wrapped_key,
      iv: entry.iv,
      ciphertext: entry.ciphertext,
      created_at: 0,
    });
    return { status: 'ok', items: JSON.parse(new TextDecoder().decode(plain)) as RevocationItem[] };
  }
}
