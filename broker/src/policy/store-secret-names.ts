// The env names a secret-store grant (aws_secret, aws_parameter, gcp_secret) exports: its `env`, or the keys
// of its `json_keys`. One place for the exchange's `grants` selection and the lint's uniqueness check.
import type { Grant, GrantOf } from './schema.ts';

export type StoreSecretGrant = GrantOf<'aws_secret' | 'aws_parameter' | 'gcp_secret'>;

export const STORE_SECRET_TYPES: ReadonlySet<string> = new Set(['aws_secret', 'aws_parameter', 'gcp_secret']);

export function isStoreSecretGrant(grant: Grant): grant is StoreSecretGrant {
  return STORE_SECRET_TYPES.has(grant.type);
}

/** In the order the credentials come back: `env`, or json_keys in the policy's order. */
export function storeSecretEnvNames(grant: StoreSecretGrant): string[] {
  return grant.env !== undefined ? [grant.env] : Object.keys(grant.json_keys ?? {});
}

/** The upstream identifier a grant reads, as the audit record and the credential's `source` name it. */
export function storeSecretId(grant: StoreSecretGrant): string {
  switch (grant.type) {
    case 'aws_secret':
      return grant.secret_id;
    case 'aws_parameter':
      return grant.name;
    case 'gcp_secret':
      return grant.secret;
  }
}
