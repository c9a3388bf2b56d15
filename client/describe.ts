// One sentence for a failed call: what happened (the broker's code, the HTTP status, the request id) and
// what to check. Built only from the fields of a CallFailure, so a response body can never reach a log.
import type { ErrorCode } from '../broker/src/errors.ts';
import type { ExchangeResponse } from './credentials.ts';
import type { CallFailure } from './exchange.ts';

/** What to check, per broker error code (docs/ARCHITECTURE.md "Errors"): a code the broker adds needs a hint here. */
const HINTS: Record<ErrorCode, string> = {
  ERR_REQUEST_INVALID:
    'check the role name (lower case letters, digits, ".", "_", "-"), that every entry of grants names a grant type or an env name of this role (exactly, in the same letter case), and that the ID token is a plain JWT',
  ERR_PAYLOAD_TOO_LARGE: 'the ID token is larger than the broker accepts (8 KiB)',
  ERR_TOKEN_INVALID:
    "check that the ID token's audience equals the audience the broker expects for this CI's issuer, and that the broker trusts this issuer",
  ERR_TOKEN_EXPIRED: "request a fresh ID token right before the exchange, and check the runner's clock",
  ERR_TOKEN_REPLAYED:
    'every exchange needs a fresh ID token; if an earlier attempt failed after the broker had seen the token, re-run the job',
  ERR_ACCESS_DENIED:
    "check that the role exists and that its allow rules match this job's claims (repository and owner ids, ref, environment, event); the broker's audit log has the exact reason under this request id",
  ERR_NOT_FOUND:
    'check that the broker URL points at secret-broker (the base URL, without /v1/...) and that this broker version has the endpoint',
  ERR_RATE_LIMITED: 'too many exchanges for this identity or client; retry later',
  ERR_UPSTREAM:
    "a credential provider (cloud, GitHub, the secret store) failed; the broker's operators find the reason in the audit log under this request id",
  ERR_UNAVAILABLE: "the broker could not serve the request (issuer keys, audit or replay store); retry later or ask the broker's operators",
  ERR_INTERNAL: "a broker bug; give the request id to the broker's operators",
};

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|DEPTH_ZERO/;

/** `subject` names the call, e.g. `exchange for role "deploy"`. */
export function describeFailure(f: CallFailure, subject: string): string {
  const ids = [f.code, f.status !== undefined ? `HTTP ${f.status}` : undefined, f.requestId ? `request id ${f.requestId}` : undefined]
    .filter(Boolean)
    .join(', ');
  const tries = f.attempts > 1 ? ` after ${f.attempts} attempts` : '';
  switch (f.kind) {
    case 'token':
      return `${subject}: no ID token: ${f.reason ?? 'unknown error'}`;
    case 'invalid':
      return `${subject}: the answer${ids ? ` (${ids})` : ''} is not a secret-broker response${f.reason ? ` (${f.reason})` : ''}: check the broker URL and any proxy in between (HTTPS_PROXY, NO_PROXY)`;
    case 'refused':
    case 'unavailable': {
      if (f.status === undefined) {
        const reason = f.reason ?? 'network error';
        const check = TLS_CODES.test(reason)
          ? "the broker's TLS certificate is not trusted: for a private CA, point NODE_EXTRA_CA_CERTS at its PEM file"
          : reason === 'timeout' || reason === 'deadline'
            ? 'the broker did not answer in time: check the broker URL, the network path from this runner, and the timeout'
            : 'check the broker URL, network access from this runner, and proxy settings (HTTPS_PROXY, NO_PROXY)';
        return `${subject}: could not reach the broker (${reason})${tries}: ${check}`;
      }
      // A newer broker may send a code this client has no hint for.
      const hint = f.code !== undefined && Object.hasOwn(HINTS, f.code) ? HINTS[f.code as ErrorCode] : undefined;
      const what = f.kind === 'refused' ? 'the broker refused' : 'the broker failed';
      return `${subject}: ${what} (${ids})${tries}: ${hint ?? (f.code ? "see the broker's documentation for this code" : 'the answer carries no secret-broker error code: check the broker URL and any proxy in between')}`;
    }
  }
}

/** The log line for a retry: `prefix` names the tool, e.g. `secret-broker exchange`. */
export function describeRetry(prefix: string, r: { attempt: number; delayMs: number; reason: string }): string {
  return `${prefix}: attempt ${r.attempt} failed (${r.reason}); retrying in ${(r.delayMs / 1000).toFixed(1)}s`;
}

/** The log line for a success: what was granted, by type and variable name, never a value. */
export function describeGrant(prefix: string, response: ExchangeResponse): string {
  const types = response.credentials.map((c) =>
    c.type === 'secret' ? `secret ${c.env}` : c.type === 'gcp' && c.subject_token !== undefined ? 'gcp subject token' : c.type,
  );
  return `${prefix}: role "${response.role}" granted ${types.join(', ') || 'nothing'} (request id ${response.request_id}, expires ${response.expires_at})`;
}
