// Concurrent exchanges inside workerd (the Worker bundle under Miniflare, as the bench runs it): on Workers
// a request's I/O ends with its response, so no request may be left waiting on work that another request's
// context was to do (the runtime cancels it as hung). The audit log groups concurrent records; this is the
// proof that it does so safely on Workers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchAll } from '../bench/lib/load.ts';
import { startWorkerd, type Workerd } from '../bench/sections/worker.ts';

let workerd: Workerd;
beforeAll(async () => {
  workerd = await startWorkerd();
}, 60_000);
afterAll(async () => {
  await workerd?.dispose();
});

describe('the Worker under concurrent exchanges', () => {
  it('40 exchanges, 8 at a time, with duplicates: each answered (200, or 401 for a replay), none cancelled as hung', async () => {
    const tokens = Array.from({ length: 36 }, () => workerd.sign());
    const bodies = [...tokens, ...tokens.slice(0, 4)].map((token) => ({ token, role: 'bench' }));
    const answers = await fetchAll(`${workerd.url}/v1/exchange`, bodies, 8, { timeoutMs: 30_000 });
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(36);
    expect(answers.slice(36).map((a) => a.body?.error)).toEqual(Array(4).fill('ERR_TOKEN_REPLAYED'));
  }, 60_000);
});
