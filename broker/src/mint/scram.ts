// The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802 with SHA-256, RFC 7677), computed
// here so that CREATE ROLE carries the verifier, never the password: the statement can then reach the
// server's log (log_statement, or the text of a failed statement) without handing out the login. WebCrypto
// only, as everywhere in broker/src. The passwords the broker makes are ASCII (base64url), so SASLprep
// leaves them as they are.
import { toBase64, utf8 } from '../util/encoding.ts';

/** PostgreSQL's default (scram_iterations): a few milliseconds of PBKDF2 per login. */
export const SCRAM_ITERATIONS = 4096;

async function hmac(key: Uint8Array<ArrayBuffer>, text: string): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, utf8(text)));
}

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, each part base64, as in pg_authid.rolpassword. */
export async function scramVerifier(
  password: string,
  salt: Uint8Array<ArrayBuffer> = crypto.getRandomValues(new Uint8Array(16)),
  iterations = SCRAM_ITERATIONS,
): Promise<string> {
  if (!/^[\x21-\x7e]+$/.test(password)) throw new Error('scramVerifier takes printable ASCII passwords only (no SASLprep here)');
  const base = await crypto.subtle.importKey('raw', utf8(password), 'PBKDF2', false, ['deriveBits']);
  const salted = new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base, 256));
  const [clientKey, serverKey] = await Promise.all([hmac(salted, 'Client Key'), hmac(salted, 'Server Key')]);
  const storedKey = new Uint8Array(await crypto.subtle.digest('SHA-256', clientKey));
  return `SCRAM-SHA-256$${iterations}:${toBase64(salt)}$${toBase64(storedKey)}:${toBase64(serverKey)}`;
}
