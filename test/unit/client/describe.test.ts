import { describe, expect, it } from 'vitest';
import { ERROR_STATUS, type ErrorCode } from '../../../broker/src/errors.ts';
import { describeFailure, describeGrant, describeRetry } from '../../../client/describe.ts';

const S = 'exchange for role "deploy"';

describe('describeFailure', () => {
  it('names the code, status and request id, and what to check', () => {
    expect(describeFailure({ ok: false, kind: 'refused', status: 403, code: 'ERR_ACCESS_DENIED', requestId: 'R1', attempts: 1 }, S)).toBe(
      `${S}: the broker refused (ERR_ACCESS_DENIED, HTTP 403, request id R1): check that the role exists and that its allow rules match this job's claims (repository and owner ids, ref, environment, event); the broker's audit log has the exact reason under this request id`,
    );
    expect(describeFailure({ ok: false, kind: 'refused', status: 401, code: 'ERR_TOKEN_INVALID', attempts: 1 }, S)).toMatch(
      /ERR_TOKEN_INVALID, HTTP 401\): check that the ID token's audience/,
    );
    expect(
      describeFailure({ ok: false, kind: 'unavailable', status: 503, code: 'ERR_UNAVAILABLE', requestId: 'R2', attempts: 4 }, S),
    ).toMatch(/the broker failed \(ERR_UNAVAILABLE, HTTP 503, request id R2\) after 4 attempts: /);
  });

  it('an answer without a broker code points at the URL and proxies', () => {
    expect(describeFailure({ ok: false, kind: 'unavailable', status: 502, attempts: 1 }, S)).toMatch(
      /HTTP 502\): the answer carries no secret-broker error code: check the broker URL and any proxy/,
    );
    expect(
      describeFailure({ ok: false, kind: 'invalid', status: 200, reason: '"role" is missing or not a string', attempts: 1 }, S),
    ).toMatch(/is not a secret-broker response \("role" is missing or not a string\): check the broker URL/);
  });

  it('network failures: proxies, private CAs, timeouts', () => {
    expect(describeFailure({ ok: false, kind: 'unavailable', reason: 'ECONNREFUSED', attempts: 4 }, S)).toMatch(
      /could not reach the broker \(ECONNREFUSED\) after 4 attempts: .*HTTPS_PROXY, NO_PROXY/,
    );
    expect(describeFailure({ ok: false, kind: 'unavailable', reason: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', attempts: 1 }, S)).toMatch(
      /NODE_EXTRA_CA_CERTS/,
    );
    expect(describeFailure({ ok: false, kind: 'unavailable', reason: 'timeout', attempts: 1 }, S)).toMatch(/did not answer in time/);
  });

  it('token failures carry their own advice', () => {
    expect(describeFailure({ ok: false, kind: 'token', reason: 'add permissions', attempts: 1 }, S)).toBe(
      `${S}: no ID token: add permissions`,
    );
  });

  it.each(Object.keys(ERROR_STATUS) as ErrorCode[])('every broker code has its own hint: %s', (code) => {
    const text = describeFailure({ ok: false, kind: 'refused', status: ERROR_STATUS[code], code, attempts: 1 }, S);
    expect(text).not.toMatch(/see the broker's documentation for this code|carries no secret-broker error code/);
  });

  it('a code this client does not know, or a prototype key, gets the generic advice', () => {
    for (const code of ['ERR_FROM_THE_FUTURE', 'constructor', '__proto__']) {
      expect(describeFailure({ ok: false, kind: 'refused', status: 400, code, attempts: 1 }, S)).toMatch(
        /see the broker's documentation for this code/,
      );
    }
  });
});

describe('describeRetry, describeGrant', () => {
  it('one line each, the same for the action and the CLI, never a value', () => {
    expect(describeRetry('tool', { attempt: 2, delayMs: 1250, reason: 'HTTP 503' })).toBe(
      'tool: attempt 2 failed (HTTP 503); retrying in 1.3s',
    );
    const response = {
      request_id: 'R1',
      role: 'deploy',
      expires_at: '2030-01-01T00:00:00Z',
      credentials: [
        { type: 'github' as const, token: 'ghs_secret' },
        { type: 'secret' as const, name: 'API_KEY', env: 'APP_KEY', value: 'v-secret' },
      ],
      unknown_types: [],
    };
    const line = describeGrant('tool', response);
    expect(line).toBe('tool: role "deploy" granted github, secret APP_KEY (request id R1, expires 2030-01-01T00:00:00Z)');
    expect(line).not.toMatch(/ghs_secret|v-secret/);
    expect(describeGrant('tool', { ...response, credentials: [] })).toMatch(/granted nothing/);
  });
});
