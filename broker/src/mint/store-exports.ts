// What a read from an existing secret store (azure_secret, vault_secret) becomes: one `secret` credential
// per exported name, as the clients export secrets today. Problems name the policy's field, never a value.
import type { Credential } from './types.ts';

export type Picked = { ok: true; pairs: [name: string, value: string][] } | { ok: false; problem: string };

/**
 * Exported name -> field of `data`. Strings are exported as they are, numbers and booleans as their JSON
 * text; a field that is absent, null, an object or a list is a failure (exporting "[object Object]" or half
 * of the names would hand a job something other than what the policy says).
 */
export function pickFields(data: Record<string, unknown>, fields: Record<string, string>): Picked {
  const pairs: [string, string][] = [];
  for (const [name, field] of Object.entries(fields)) {
    if (!Object.hasOwn(data, field)) return { ok: false, problem: `key_missing:${field}` };
    const value = data[field];
    if (typeof value === 'string') pairs.push([name, value]);
    else if (typeof value === 'number' || typeof value === 'boolean') pairs.push([name, JSON.stringify(value)]);
    else return { ok: false, problem: `key_not_text:${field}` };
  }
  return { ok: true, pairs };
}

/** A JSON object value (a stored JSON document), or undefined for anything else; never throws. */
export function parseJsonValue(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function storeCredentials(pairs: [string, string][], version: string | number, source: string): Credential[] {
  return pairs.map(([name, value]) => ({ type: 'secret', name, env: name, value, version, source }));
}
