// One error type with stable codes (jose style). Callers see the code and a generic message; the detail
// goes to the audit record only.
import type { Reason } from './audit/reasons.ts';

export const ERROR_STATUS = {
  ERR_REQUEST_INVALID: 400,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_TOKEN_INVALID: 401,
  ERR_TOKEN_EXPIRED: 401,
  ERR_TOKEN_REPLAYED: 401,
  ERR_ACCESS_DENIED: 403,
  ERR_NOT_FOUND: 404,
  ERR_RATE_LIMITED: 429,
  ERR_UPSTREAM: 502,
  ERR_UNAVAILABLE: 503,
  ERR_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

const MESSAGES: Record<ErrorCode, string> = {
  ERR_REQUEST_INVALID: 'The request is malformed: check the body, the token shape and the role name.',
  ERR_PAYLOAD_TOO_LARGE: 'The request body is too large.',
  ERR_TOKEN_INVALID: 'The ID token was rejected: check its issuer, audience and signature.',
  ERR_TOKEN_EXPIRED: 'The ID token is expired or not yet valid: request a fresh one.',
  ERR_TOKEN_REPLAYED: 'The ID token was already used: request a fresh one for every exchange.',
  ERR_ACCESS_DENIED: 'Access denied: no role of that name grants access to this identity.',
  ERR_NOT_FOUND: 'Not found.',
  ERR_RATE_LIMITED: 'Too many requests: retry later.',
  ERR_UPSTREAM: 'A credential provider failed: retry later or ask the broker operators.',
  ERR_UNAVAILABLE: 'The broker cannot serve this request right now: retry later.',
  ERR_INTERNAL: 'Internal error.',
};

export class BrokerError extends Error {
  readonly code: ErrorCode;
  /** For the audit record and server logs only; never sent to the caller. One of audit/reasons.ts. */
  readonly detail: Reason;

  constructor(code: ErrorCode, detail: Reason, options?: { cause?: unknown }) {
    super(MESSAGES[code], options);
    this.name = 'BrokerError';
    this.code = code;
    this.detail = detail;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** The wire body for an error: code, generic message, request id. Nothing else. */
export function errorBody(code: ErrorCode, requestId: string) {
  return { error: code, message: MESSAGES[code], request_id: requestId };
}
