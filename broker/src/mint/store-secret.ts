// What the secret-store grants (aws_secret, aws_parameter, gcp_secret) share once the value is fetched: the
// `type: "secret"` credentials, one per exported name (`env`, or each `json_keys` field of a JSON value), with
// `source` naming the grant type and the secret's identifier, and the audit summary (source, id and version;
// never the value). And the retry budget of their reads: one deadline of the per-call timeout.
//
// A value never goes into a failure's detail: details name the problem and, for json_keys, the field name
// from the policy.
import type { UpstreamName } from '../audit/reasons.ts';
import type { CredentialSummary } from '../audit/record.ts';
import { storeSecretEnvNames, storeSecretId, type StoreSecretGrant } from '../policy/store-secret-names.ts';
import type { CloudMintDeps } from './broker-token.ts';
import type { RetryBudget, RetryOptions } from './store-retry.ts';
import type { Credential, MintResult } from './types.ts';
import { upstreamFailure, UPSTREAM_MAX_BYTES, type MintFailure } from './upstream.ts';

export type StoreName = Extract<UpstreamName, 'aws_secret' | 'aws_parameter' | 'gcp_secret'>;

/** Secrets Manager values are at most 64 KiB, SSM advanced parameters 8 KiB, Secret Manager payloads 64 KiB (base64 in JSON). */
export const STORE_MAX_BYTES = 2 * UPSTREAM_MAX_BYTES;

/** The credentials for `value` as the grant exports it, or why it cannot be exported. */
export function storeSecretResult(grant: StoreSecretGrant, value: string, version: string | number): MintResult {
  const id = storeSecretId(grant);
  const source = `${grant.type}:${id}`;
  const make = (env: string, v: string): Credential => ({ type: 'secret', name: env, env, value: v, version, source });
  let credentials: Credential[];
  if (grant.json_keys === undefined) {
    const [env = ''] = storeSecretEnvNames(grant);
    credentials = [make(env, value)];
  } else {
    const picked = pickJsonKeys(grant.type, value, grant.json_keys);
    if (!picked.ok) return picked;
    credentials = picked.values.map(([env, v]) => make(env, v));
  }
  const summary: CredentialSummary = { type: grant.type, target: `${id}@${version}` };
  const [first] = credentials;
  if (!first) return upstreamFailure(`${grant.type}.no_exported_name`);
  return { ok: true, credential: first, credentials, summary };
}

/**
 * Fields of a JSON object value: strings as they are, numbers and booleans as JSON writes them, objects and
 * arrays as JSON text. A field that is absent or null, a value that is not JSON or not an object: refused.
 */
function pickJsonKeys(
  store: StoreName,
  value: string,
  keys: Record<string, string>,
): { ok: true; values: [string, string][] } | MintFailure {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return upstreamFailure(`${store}.json_keys.not_json`, 'NotJson');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return upstreamFailure(`${store}.json_keys.not_object`, 'NotJson');
  const object = parsed as Record<string, unknown>;
  const values: [string, string][] = [];
  for (const [env, field] of Object.entries(keys)) {
    // Own properties only: "__proto__" or "constructor" must not find Object.prototype's.
    const v = Object.hasOwn(object, field) ? object[field] : undefined;
    if (v === undefined || v === null) return upstreamFailure(`${store}.json_keys.missing:${field.slice(0, 128)}`, 'JsonKeyMissing');
    values.push([env, typeof v === 'string' ? v : JSON.stringify(v)]);
  }
  return { ok: true, values };
}

/**
 * The retry budget of one read: all its attempts within one `deps.timeoutMs` from now, only the answers
 * `retryable` names tried again.
 */
export function storeReadBudget(
  deps: Pick<CloudMintDeps, 'timeoutMs'>,
  retryable: NonNullable<RetryBudget['retryable']>,
  options: RetryOptions = {},
): RetryBudget {
  return { ...options, deadlineAt: Date.now() + deps.timeoutMs, attemptMs: deps.timeoutMs, maxBytes: STORE_MAX_BYTES, retryable };
}
