// The `secret` grant: the newest version of a secret from the broker's own encrypted store.
import type { GrantOf } from '../policy/schema.ts';
import { SecretTamperedError } from '../store/secrets.ts';
import type { Minter } from './types.ts';

export interface SecretReader {
  get(name: string): Promise<{ name: string; version: number; value: string } | null>;
}

/**
 * Names under which the broker keeps its own upstream keys (AWS access keys for access_key mode, GitHub App
 * private keys). A `secret` grant never hands these out, whatever a policy says.
 */
const RESERVED_SECRET_NAME = /^(?:aws\.|github-app-|broker\.)/;

export function createSecretMinter(secrets: SecretReader): Minter<GrantOf<'secret'>> {
  return {
    async mint(grant) {
      if (RESERVED_SECRET_NAME.test(grant.name)) {
        return { ok: false, code: 'ERR_UPSTREAM', detail: `secret.reserved_name:${grant.name}`, upstream_code: 'Reserved' };
      }
      let found: Awaited<ReturnType<SecretReader['get']>>;
      try {
        found = await secrets.get(grant.name);
      } catch (err) {
        // A store that lost the newest version must not pass for one that is down: retrying will not help.
        if (err instanceof SecretTamperedError) {
          return { ok: false, code: 'ERR_UPSTREAM', detail: `secret.tampered:${grant.name}`, upstream_code: 'Tampered' };
        }
        return { ok: false, code: 'ERR_UNAVAILABLE', detail: `secret.store_failed:${grant.name}` };
      }
      if (!found) return { ok: false, code: 'ERR_UPSTREAM', detail: `secret.not_found:${grant.name}`, upstream_code: 'NotFound' };
      return {
        ok: true,
        credential: { type: 'secret', name: found.name, env: grant.env ?? found.name, value: found.value, version: found.version },
        summary: { type: 'secret', target: `${found.name}@${found.version}` },
      };
    },
  };
}
