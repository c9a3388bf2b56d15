// Checks on what a pipeline author types, shared by the action's inputs and the CLI's flags: each returns
// a problem that reads after the input's name ("input role ...", "--role ..."), or undefined.
import { ROLE_NAME } from '../broker/src/policy/role-name.ts';
import { GRANT_SELECTOR, MAX_GRANT_SELECTORS } from '../broker/src/policy/select-grants.ts';
import { printableName } from './env-names.ts';

/** The broker's own rule for role names (docs/ARCHITECTURE.md, step 1), checked here for an early, clear message. */
export { ROLE_NAME };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** Prepended to secret variable names, so it must itself start a valid name. */
const ENV_PREFIX = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export interface NumberRange {
  fallback: number;
  min: number;
  max: number;
}

/** The defaults and bounds of the numeric settings, as action.yml and README.md document them. */
export const TIMEOUT_SECONDS: NumberRange = { fallback: 60, min: 1, max: 600 };
export const RETRIES: NumberRange = { fallback: 3, min: 0, max: 10 };

/**
 * The broker URL, or why it is unusable. HTTPS only, except on loopback (local development and tests): the
 * ID token travels in the request body. User info is refused so a password can never end up in a log line.
 */
export function parseBrokerUrl(text: string): { ok: true; url: string } | { ok: false; problem: string } {
  if (text === '') return { ok: false, problem: 'is required: the base URL of your secret-broker, e.g. https://broker.example.com' };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, problem: 'is not an absolute URL (for example https://broker.example.com)' };
  }
  if (url.username || url.password) return { ok: false, problem: 'must not contain a user name or password' };
  if (url.search || url.hash) return { ok: false, problem: 'must not contain a query or fragment' };
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    return { ok: false, problem: 'must use https:// (http:// only for 127.0.0.1, localhost or [::1])' };
  }
  return { ok: true, url: url.toString().replace(/\/+$/, '') };
}

export function roleNameProblem(role: string): string | undefined {
  if (role === '') return "is required: the name of a role in the broker's policies";
  if (!ROLE_NAME.test(role)) return `${printableName(role)} is not a role name (lower case letters, digits, ".", "_", "-"; at most 63)`;
  return undefined;
}

/** The empty prefix (none) is valid. */
export function envPrefixProblem(prefix: string): string | undefined {
  return prefix && !ENV_PREFIX.test(prefix) ? 'must match [A-Za-z_][A-Za-z0-9_]* (it starts every secret variable name)' : undefined;
}

/** The empty region (the credential's own) is valid. */
export function awsRegionProblem(region: string): string | undefined {
  return region && !AWS_REGION.test(region) ? `${printableName(region)} is not an AWS region such as us-east-1` : undefined;
}

/**
 * The `grants` subset (action input `grants`, CLI `--grants`): types or env names separated by commas or line
 * breaks, checked by the broker's own entry rule. Empty means every grant of the role. The broker refuses an
 * entry that selects nothing of the role, so a typo fails the step instead of quietly granting less.
 */
export function parseGrantList(text: string): { ok: true; grants: string[] } | { ok: false; problem: string } {
  const grants = text
    .split(/[,\r\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = grants.find((g) => !GRANT_SELECTOR.test(g));
  if (bad !== undefined) return { ok: false, problem: `${printableName(bad)} is not a grant type or an env name` };
  if (new Set(grants).size !== grants.length) return { ok: false, problem: 'names an entry twice' };
  if (grants.length > MAX_GRANT_SELECTORS) return { ok: false, problem: `names more than ${MAX_GRANT_SELECTORS} entries` };
  return { ok: true, grants };
}

/** A whole number within `range`; `undefined` (not given) is the fallback. */
export function parseWholeNumber(
  text: string | undefined,
  range: NumberRange,
): { ok: true; value: number } | { ok: false; problem: string } {
  if (text === undefined) return { ok: true, value: range.fallback };
  const n = Number(text);
  if (!Number.isInteger(n) || n < range.min || n > range.max)
    return { ok: false, problem: `must be a whole number from ${range.min} to ${range.max}` };
  return { ok: true, value: n };
}
