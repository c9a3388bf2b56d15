import { describe, expect, it } from 'vitest';
import { describeFailure } from '../../../client/describe.ts';

const S = 'exchange for role "deploy"';

describe('describeFailure', () => {
  it('names the code, status and request id, and what to check', () => {
    expect(describeFailure({ ok: false, kind: 'refused', status: 403, code: 'ERR_ACCESS_DENIED', requestId: 'R1', attempts: 1 }, S)).toBe(
      `${S}: the broker refused (ERR_ACCESS_DENIED, HTTP 403, request id R1): check that the role exists and that its allow rules match this job's claims (repository and owner ids, ref, environment, event); the broker's audit log has the exact reason under this request id`,
    );
    expect(describeFailure({ ok: false, kind: 'refused', status: 401, code: 'ERR_TOKEN_INVALID', attempts: 1 }, S)).toMatch(/ERR_TOKEN_INVALID, HTTP 401\): check that the ID token's audience/);
    expect(describeFailure({ ok: false, kind: 'unavailable', status: 503, code: 'ERR_UNAVAILABLE', requestId: 'R2', attempts: 4 }, S)).toMatch(/the broker failed \(ERR_UNAVAILABLE, HTTP 503, request id R2\) after 4 attempts: /);
  });

  it('an answer without a broker code points at the URL and proxies', () => {
    expect(describeFailure({ ok: false, kind: 'unavailable', status: 502, attempts: 1 }, S)).toMatch(/HTTP 502\): the answer carries no secret-broker error code: check the broker URL and any proxy/);
    expect(describeFailure({ ok: false, kind: 'invalid', status: 200, reason: '"role" is missing or not a string', attempts: 1 }, S)).toMatch(/is not a secret-broker response \("role" is missing or not a string\): check the broker URL/);
  });

  it('network failures: proxies, private CAs, timeouts', () => {
    expect(describeFailure({ ok: false, kind: 'unavailable', reason: 'ECONNREFUSED', attempts: 4 }, S)).toMatch(/could not reach the broker \(ECONNREFUSED\) after 4 attempts: .*HTTPS_PROXY, NO_PROXY/);
    expect(describeFailure({ ok: false, kind: 'unavailable', reason: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', attempts: 1 }, S)).toMatch(/NODE_EXTRA_CA_CERTS/);
    expect(describeFailure({ ok: false, kind: 'unavailable', reason: 'timeout', attempts: 1 }, S)).toMatch(/did not answer in time/);
  });

  it('token failures carry their own advice', () => {
    expect(describeFailure({ ok: false, kind: 'token', reason: 'add permissions', attempts: 1 }, S)).toBe(`${S}: no ID token: add permissions`);
  });
});
