// Policy reload (SIGHUP, `serve --watch`): a changed role changes /healthz's policy_hash and the next
// decision; a broken role changes nothing and the log says why; a request already running finishes on the
// set it started with.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opsFixture, type OpsFixture, roleApp } from '../../helpers/ops-broker.ts';
import { serveBroker } from '../../helpers/processes.ts';

let fx: OpsFixture;
beforeAll(async () => {
  fx = await opsFixture('reload');
});
afterAll(async () => {
  await fx.close();
});

const hashOf = async (url: string) => ((await (await fetch(`${url}/healthz`)).json()) as { policy_hash: string }).policy_hash;

describe('a policy reload takes a set that loads, and keeps the old one when it does not', () => {
  it('SIGHUP with a changed role changes /healthz policy_hash and the decision of the next request (real process)', async () => {
    fx.writeRole('app', roleApp('1'));
    const served = await serveBroker(['--policies', fx.policies, '--data', `${fx.dir}/sighup`], { BROKER_KEK: fx.kek });
    try {
      const before = await hashOf(served.url);
      const post = async (repo: string) =>
        (
          await fetch(`${served.url}/v1/exchange`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ token: await fx.token(repo), role: 'app' }),
          })
        ).status;
      // No secret stored: an allowed identity gets 502 (mint failed), a refused one 403.
      expect(await post('2')).toBe(403);
      fx.writeRole('app', roleApp('2'));
      served.child.kill('SIGHUP');
      await expect.poll(() => hashOf(served.url), { timeout: 10_000 }).not.toBe(before);
      expect(await post('2')).toBe(502);
      expect(await post('1')).toBe(403);

      // A broken role: nothing changes, and the log names the file and the problem.
      const good = await hashOf(served.url);
      fx.writeRole('app', 'role: app\nissuer: ci\nallow: [\n');
      served.child.kill('SIGHUP');
      await expect.poll(() => served.logs(), { timeout: 10_000 }).toContain('policy.reload_failed');
      expect(served.logs()).toMatch(/"event":"policy\.reload_failed".*roles\/app\.yaml/);
      expect(await hashOf(served.url)).toBe(good);
      expect(await post('2')).toBe(502);
    } finally {
      fx.writeRole('app', roleApp('1'));
      await served.stop();
    }
  }, 60_000);

  it('--watch reloads on a file change; a broken set keeps the old one', async () => {
    fx.writeRole('app', roleApp('1'));
    const served = await serveBroker(['--watch', '--policies', fx.policies, '--data', `${fx.dir}/watch`], { BROKER_KEK: fx.kek });
    try {
      const before = await hashOf(served.url);
      fx.writeRole('app', roleApp('3'));
      await expect.poll(() => hashOf(served.url), { timeout: 10_000 }).not.toBe(before);
      const changed = await hashOf(served.url);
      fx.writeRole('extra', 'role: extra\nissuer: nobody\ngrants: []\n');
      await expect.poll(() => served.logs(), { timeout: 10_000 }).toContain('policy.reload_failed');
      expect(await hashOf(served.url)).toBe(changed);
    } finally {
      rmSync(join(fx.policies, 'roles/extra.yaml'), { force: true });
      fx.writeRole('app', roleApp('1'));
      await served.stop();
    }
  }, 60_000);

  it('a request running during a reload is decided on the set it started with, and its record names that set', async () => {
    fx.writeRole('app', roleApp('1'));
    const b = await fx.start({ data: 'inflight' });
    const oldHash = b.broker.deps.policy().hash;
    // Hold the request inside its audited section: the first JWKS fetch waits until released.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const jwks = b.broker.deps.jwks as unknown as { opts: { fetch: typeof fetch } };
    const realFetch = jwks.opts.fetch;
    jwks.opts.fetch = async (input, init) => {
      await gate;
      return realFetch(input, init);
    };
    const running = b.exchange(await fx.token('1'));
    await sleep(200);
    fx.writeRole('app', roleApp('9'));
    const reloaded = await b.broker.reloadPolicy('sighup');
    expect(reloaded).toMatchObject({ ok: true, changed: true });
    release();
    const result = await running;
    expect(result.status).toBe(200);
    const [entry] = await b.broker.deps.auditor.store.list({ descending: true, limit: 1 });
    expect(JSON.parse(entry!.record)).toMatchObject({ decision: 'allow', policy_hash: oldHash });
    // The next request is decided on the new set.
    expect((await b.exchange(await fx.token('1'))).status).toBe(403);
    await b.broker.stop();
    fx.writeRole('app', roleApp('1'));
  });
});
