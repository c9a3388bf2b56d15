// The Node entry's audit settings: BROKER_AUDIT_RETENTION prunes at start-up (and every six hours), a stop
// signs a last checkpoint, and a bad setting or a weak admin token stops the start instead of a silent default.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNodeBroker, startNodeBroker } from '../../broker/entry/node.ts';
import { readAll } from '../../broker/src/audit/chain.ts';
import { verifyAudit } from '../../broker/src/audit/verify-audit.ts';
import { listAll } from '../../broker/src/audit/retention.ts';
import { generateIssuerKey, serveTestIssuer, signTestToken, type IssuerKey, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';

const AUD = 'https://broker.settings.test';
const DAY = 86_400_000;
let dir: string;
let pol: string;
let key: IssuerKey;
let issuer: TestIssuerServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-audit-settings-'));
  key = await generateIssuerKey();
  issuer = await serveTestIssuer(key);
  pol = join(dir, 'policies');
  mkdirSync(join(pol, 'roles'), { recursive: true });
  writeFileSync(join(pol, 'issuers.yaml'), `issuers:\n  local:\n    url: ${issuer.url}\n    audience: ${AUD}\n`);
  writeFileSync(
    join(pol, 'roles/deploy.yaml'),
    `role: deploy\nissuer: local\nmax_ttl: 5m\nallow:\n  - repository_id: "42"\ngrants:\n  - type: secret\n    name: K\n`,
  );
});

afterAll(async () => {
  await issuer?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Node entry audit settings', () => {
  it('prunes past BROKER_AUDIT_RETENTION at start-up, signs a checkpoint at stop, and the rest verifies', async () => {
    const data = join(dir, 'retention');
    const clock = { now: Date.now() - 10 * DAY };
    const env = { BROKER_ADMIN_TOKEN: 'settings-admin-0123456789abcdefgh' };
    const old = await startNodeBroker({
      policiesDir: pol,
      dataDir: data,
      port: 0,
      host: '127.0.0.1',
      env,
      dev: true,
      now: () => clock.now,
      log: () => {},
    });
    await old.vault.put('K', 'v', Math.floor(clock.now / 1000));
    for (let i = 0; i < 6; i++) {
      // Three requests ten days ago, three eight days ago.
      if (i === 3) clock.now += 2 * DAY;
      const token = await signTestToken(
        key,
        { iss: issuer.url, aud: AUD, sub: 's', repository_id: '42' },
        { now: Math.floor(clock.now / 1000) },
      );
      const res = await fetch(`${old.url}/v1/exchange`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, role: 'deploy' }),
      });
      expect(res.status).toBe(200);
    }
    await old.stop();
    clock.now = Date.now();

    const logs: Record<string, unknown>[] = [];
    const fresh = await startNodeBroker({
      policiesDir: pol,
      dataDir: data,
      port: 0,
      host: '127.0.0.1',
      dev: true,
      now: () => clock.now,
      log: (l) => logs.push(l),
      env: { ...env, BROKER_AUDIT_RETENTION: '9d' },
    });
    try {
      await expect
        .poll(() => logs.find((l) => l.event === 'audit.pruned'), { timeout: 10_000 })
        .toMatchObject({ through_seq: 3, records: 3 });
      const store = fresh.deps.auditor.store;
      const keys = await fresh.issuer.verificationKeys();
      const checkpoints = (await listAll(fresh.checkpoints)).map((c) => ({ jws: c.jws }));
      const result = await verifyAudit({ entries: readAll(store), checkpoints, keys, mode: 'store' });
      expect(result).toMatchObject({ ok: true, start: { seq: 3 }, head: { seq: 7 } });
      expect(JSON.parse((await store.list({ descending: true, limit: 1 }))[0]!.record)).toMatchObject({
        action: 'audit_prune',
        subject: 'retention',
      });
    } finally {
      await fresh.stop();
    }
  });

  it.each([
    [{ BROKER_AUDIT_RETENTION: '12h' }, /BROKER_AUDIT_RETENTION="12h" must be a duration of at least 1d/],
    [{ BROKER_AUDIT_CHECKPOINT_RECORDS: '0' }, /BROKER_AUDIT_CHECKPOINT_RECORDS="0" is not valid/],
    [{ BROKER_AUDIT_CHECKPOINT_INTERVAL: 'soon' }, /BROKER_AUDIT_CHECKPOINT_INTERVAL="soon" is not valid/],
    [{ BROKER_ADMIN_TOKEN: 'admin' }, /BROKER_ADMIN_TOKEN must be at least 24 characters/],
  ])('refuses to start with %j', async (env, message) => {
    await expect(buildNodeBroker({ policiesDir: pol, dataDir: join(dir, 'refused'), env, dev: true, log: () => {} })).rejects.toThrow(
      message,
    );
  });
});
