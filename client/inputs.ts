// Checks on what a pipeline author types, shared by the action's inputs and the CLI's flags.

/** The broker's own rule for role names (docs/ARCHITECTURE.md, step 1), checked here for an early, clear message. */
export const ROLE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The broker URL, or why it is unusable. HTTPS only, except on loopback (local development and tests): the
 * ID token travels in the request body. User info is refused so a password can never end up in a log line.
 */
export function parseBrokerUrl(text: string): { ok: true; url: string } | { ok: false; problem: string } {
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
