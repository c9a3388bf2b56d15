// Resilience of the real broker process (`secret-broker serve`, node:sqlite in its data folder) under
// faults, at sizes that fit `npm test`; `npm run bench` runs the same scenarios at full size
// (test/bench/lib/resilience.ts holds them).
import { describe, expect, it } from 'vitest';
import { flakyJwksScenario, hangingUpstreamScenario, lockedDatabaseScenario, restartScenario } from '../bench/lib/resilience.ts';

describe('the broker process under faults', () => {
  it('the issuer JWKS fails every other fetch: no 500s, every request audited, the chain verifies, no jti succeeds twice', async () => {
    const r = await flakyJwksScenario({ requests: 400, concurrency: 50, duplicateEvery: 10, rogueEvery: 25 });
    expect(r.unexpected, JSON.stringify(r.unexpected)).toEqual([]);
    expect(r.statuses['500'] ?? 0).toBe(0);
    expect(r.statuses['200']).toBeGreaterThan(0);
    expect(r.codes.ERR_TOKEN_REPLAYED).toBeGreaterThan(0);
    expect(r.jwksFailures).toBeGreaterThan(0);
    expect(r.auditRecords).toBe(r.requests);
    expect(r.unaudited).toEqual([]);
    expect(r.chainOk).toBe(true);
    expect(r.cliVerifyOk, r.cliVerifyOutput).toBe(true);
    expect(r.jtisSucceededTwice).toEqual([]);
    // The foreign kids did not drive fetches: a handful of fetches for the whole run.
    expect(r.jwksFetches).toBeLessThanOrEqual(6);
  }, 60_000);

  it('AWS, GCP and Azure upstreams that hang: 502 within the deadline, nothing returned, the broker keeps serving', async () => {
    const timeoutMs = 1_500;
    const r = await hangingUpstreamScenario({ timeoutMs, perRole: 3 });
    expect(r.answers).toHaveLength(9);
    for (const a of r.answers) {
      expect([a.role, a.status, a.code]).toEqual([a.role, 502, 'ERR_UPSTREAM']);
      expect(a.ms).toBeGreaterThanOrEqual(timeoutMs - 100);
      expect(a.ms).toBeLessThan(timeoutMs + 3_000);
      expect(a.leaked).toBe(false);
    }
    expect(r.upstreamRequests).toBeGreaterThanOrEqual(9);
    expect(r.healthzStatus).toBe(200);
    expect(r.healthzMs).toBeLessThan(1_000);
    expect(r.audited).toHaveLength(9);
    for (const rec of r.audited) {
      expect(rec.code).toBe('ERR_UPSTREAM');
      expect(rec.reason).toMatch(/timeout/);
    }
    expect(r.chainOk).toBe(true);
  }, 60_000);

  it('the SQLite database locked by another process: 503 with nothing minted, the token not used up', async () => {
    const r = await lockedDatabaseScenario();
    expect([r.locked.status, r.locked.code]).toEqual([503, 'ERR_UNAVAILABLE']);
    expect(r.locked.leaked).toBe(false);
    // Its record could not be written either (the same database): the refusal is in the broker's log only.
    expect(r.lockedRequestAudited).toBe(false);
    expect([r.retry.status, r.retry.code]).toEqual([200, null]);
    expect(r.retryAudited).toBe(true);
    expect(r.chainOk).toBe(true);
  }, 60_000);

  it('SIGKILL under load and a restart on the same data folder: every answered request is in the audit log', async () => {
    const r = await restartScenario({ requests: 600, concurrency: 20, killAfter: 200 });
    expect(r.acknowledged).toBeGreaterThanOrEqual(500);
    expect(r.missing).toEqual([]);
    expect(r.chainOk).toBe(true);
    expect(r.cliVerifyOk, r.cliVerifyOutput).toBe(true);
    expect(r.jtisSucceededTwice).toEqual([]);
    expect(Object.keys(r.statuses).every((s) => s === '200' || s === '0')).toBe(true);
  }, 60_000);
});
