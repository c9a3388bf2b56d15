// Alerts (BROKER_ALERT_WEBHOOK): they fire once per burst and are rate-limited, never carry a token, a jti,
// a hash or a credential, cannot be steered by claim text (Slack mentions, links, extra lines), and every
// alert sent is itself an audit record.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNodeBroker, type NodeBroker } from '../../../broker/entry/node.ts';
import { Alerter, slackText } from '../../../broker/src/alerts/alerter.ts';
import { Auditor } from '../../../broker/src/audit/auditor.ts';
import type { AuditRecord } from '../../../broker/src/audit/record.ts';
import { parseSettings } from '../../../broker/src/settings.ts';
import { generateIssuerKey, serveTestIssuer, signTestToken, type IssuerKey, type TestIssuerServer } from '../../../cli/lib/test-issuer.ts';
import { MemoryAuditStore } from '../../helpers/memory-stores.ts';
import { makeRecord, T0 } from '../audit/fixtures.ts';

const HOOK = 'https://hooks.example.test/services/T0/B0/secret-path';

function webhook(status = 200) {
  const posts: { url: string; body: any }[] = [];
  const fetch = async (url: string, init: RequestInit) => {
    posts.push({ url, body: JSON.parse(String(init.body)) });
    return new Response('ok', { status });
  };
  return { posts, fetch, status };
}

function rig(opts: { status?: number; maxPerHour?: number } = {}) {
  const clock = { now: T0 };
  const hook = webhook(opts.status);
  const store = new MemoryAuditStore();
  const alerter = new Alerter({
    webhook: HOOK,
    fetch: hook.fetch,
    now: () => clock.now,
    policyHash: () => 'p'.repeat(64),
    ...(opts.maxPerHour ? { maxPerHour: opts.maxPerHour } : {}),
  });
  const auditor = new Auditor(store, alerter);
  alerter.attach((r) => auditor.append(r), store);
  const deny = (over: Partial<AuditRecord> = {}) =>
    auditor.append(
      makeRecord(
        { decision: 'deny', code: 'ERR_ACCESS_DENIED', reason: 'policy.no_allow_matched', status: 403, credentials: [], ...over },
        clock.now,
      ),
    );
  const records = () => store.entries.map((e) => JSON.parse(e.record) as AuditRecord);
  return { clock, hook, store, alerter, auditor, deny, records };
}

describe('alert content', () => {
  it('an alert never carries a token, its hash, a jti, a user agent, a client IP or a credential', async () => {
    const r = rig();
    const secretish = {
      jti: 'jti-7f3a9c',
      token_sha256: 'f'.repeat(64),
      user_agent: 'agent-9d1e',
      client_ip: '198.51.100.77',
    };
    for (let i = 0; i < 20; i++) await r.deny(secretish);
    await r.auditor.append(
      makeRecord({ ...secretish, role: 'fresh', credentials: [{ type: 'aws', target: 'arn:aws:iam::1:role/x' }] }, r.clock.now),
    );
    await r.alerter.idle();
    expect(r.hook.posts.map((p) => p.body.alert.kind).sort()).toEqual(['denial_burst', 'first_use']);
    const sent = JSON.stringify(r.hook.posts);
    for (const v of ['jti-7f3a9c', 'f'.repeat(64), 'agent-9d1e', '198.51.100.77', 'arn:aws:iam']) expect(sent, v).not.toContain(v);
  });

  it('claim text in an alert cannot mention a channel, forge a link or add a line', async () => {
    expect(slackText('<!channel> <https://evil.example|click> & <@U123>\nsecond line')).toBe(
      '&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; &lt;@U123&gt; second line',
    );
    const r = rig();
    const repository = '<!here> <https://evil.example|approve>\r\nsecret-broker: all clear';
    for (let i = 0; i < 20; i++) await r.deny({ identity: { repository } });
    await r.alerter.idle();
    const [post] = r.hook.posts;
    expect(post!.body.text).not.toMatch(/[<>\r\n]/);
    expect(post!.body.text).toContain('&lt;!here&gt;');
  });
});

describe('alert rate limits', () => {
  it('an alert fires once for a burst of 20 denials and is rate-limited after', async () => {
    const r = rig();
    for (let i = 0; i < 19; i++) await r.deny();
    await r.alerter.idle();
    expect(r.hook.posts).toHaveLength(0);
    await r.deny();
    await r.alerter.idle();
    expect(r.hook.posts).toHaveLength(1);
    expect(r.hook.posts[0]!.body.alert).toMatchObject({ kind: 'denial_burst', identity: 'acme/web', count: 20, role: 'deploy' });
    // The burst goes on: quiet for the cooldown (an hour), however many more denials.
    for (let i = 0; i < 60; i++) {
      r.clock.now += 10_000;
      await r.deny();
    }
    await r.alerter.idle();
    expect(r.hook.posts).toHaveLength(1);
    // Past the cooldown, a new burst alerts again.
    r.clock.now += 3_600_000;
    for (let i = 0; i < 20; i++) await r.deny();
    await r.alerter.idle();
    expect(r.hook.posts).toHaveLength(2);
  });

  it('denials spread wider than the window are no burst', async () => {
    const r = rig();
    for (let i = 0; i < 40; i++) {
      r.clock.now += 20_000; // 3 a minute: at most 15 in any 5 minutes
      await r.deny();
    }
    await r.alerter.idle();
    expect(r.hook.posts).toHaveLength(0);
  });

  it('alerts are capped per hour across identities, so a flood of identities cannot flood the channel', async () => {
    const r = rig({ maxPerHour: 5 });
    for (let id = 0; id < 12; id++) for (let i = 0; i < 20; i++) await r.deny({ identity: { repository: `org/repo-${id}` } });
    await r.alerter.idle();
    expect(r.hook.posts).toHaveLength(5);
  });
});

describe('alert kinds and their audit', () => {
  it("an identity's first use of a role alerts once; a pair already in the log does not", async () => {
    const store = new MemoryAuditStore();
    const before = new Auditor(store);
    await before.append(makeRecord({ role: 'deploy', identity: { repository: 'acme/web' } }));
    const hook = webhook();
    const alerter = new Alerter({ webhook: HOOK, fetch: hook.fetch, now: () => T0, policyHash: () => 'p' });
    const auditor = new Auditor(store, alerter);
    alerter.attach((r) => auditor.append(r), store);
    await auditor.append(makeRecord({ role: 'deploy', identity: { repository: 'acme/web' } }));
    await auditor.append(makeRecord({ role: 'deploy', identity: { repository: 'acme/api' } }));
    await auditor.append(makeRecord({ role: 'deploy', identity: { repository: 'acme/api' } }));
    await alerter.idle();
    expect(hook.posts.map((p) => [p.body.alert.kind, p.body.alert.identity])).toEqual([['first_use', 'acme/api']]);
  });

  it('every alert sent is itself audited, and one the webhook refused is audited as failed', async () => {
    for (const [status, reason] of [
      [200, 'alert.sent'],
      [500, 'alert.failed'],
    ] as const) {
      const r = rig({ status });
      for (let i = 0; i < 20; i++) await r.deny();
      await r.alerter.idle();
      const alerts = r.records().filter((x) => x.action === 'alert');
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({
        reason,
        query: { kind: 'denial_burst', identity: 'acme/web', count: '20', webhook_status: String(status) },
      });
      // The alert's own record sets off no alert.
      expect(r.hook.posts).toHaveLength(1);
    }
  });

  it('an audit write that fails, and a checkpoint that cannot be signed, alert (once per hour)', async () => {
    const r = rig();
    r.store.broken = true;
    for (let i = 0; i < 3; i++) await expect(r.deny()).rejects.toMatchObject({ code: 'ERR_UNAVAILABLE' });
    await r.alerter.idle();
    expect(r.hook.posts.map((p) => p.body.alert.kind)).toEqual(['audit_failure']);
    const lines: unknown[] = [];
    const log = r.alerter.watchLog((l) => lines.push(l));
    log({ level: 'error', event: 'audit.checkpoint_refused', reason: 'start_unanchored' });
    log({ level: 'error', event: 'audit.checkpoint_failed', detail: 'x' });
    log({ level: 'info', event: 'something.else' });
    await r.alerter.idle();
    expect(r.hook.posts.map((p) => p.body.alert.kind)).toEqual(['audit_failure', 'checkpoint_failure']);
    expect(lines).toHaveLength(3);
  });

  it('BROKER_ALERT_WEBHOOK must be https (http only on loopback)', () => {
    for (const bad of ['http://hooks.example.test/x', 'ftp://hooks.example.test/', 'not a url', 'javascript:alert(1)'])
      expect(parseSettings({ BROKER_ALERT_WEBHOOK: bad }).ok, bad).toBe(false);
    for (const good of [HOOK, 'http://127.0.0.1:9/hook'])
      expect(parseSettings({ BROKER_ALERT_WEBHOOK: good })).toMatchObject({ ok: true, settings: { alertWebhook: good } });
  });
});

describe('alerts in the broker', () => {
  const AUD = 'https://broker.alerts.test';
  let dir: string;
  let key: IssuerKey;
  let issuer: TestIssuerServer;
  let broker: NodeBroker;
  const posts: any[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-alerts-'));
    key = await generateIssuerKey();
    issuer = await serveTestIssuer(key);
    const pol = join(dir, 'policies');
    mkdirSync(join(pol, 'roles'), { recursive: true });
    writeFileSync(join(pol, 'issuers.yaml'), `issuers:\n  ci:\n    url: ${issuer.url}\n    audience: ${AUD}\n`);
    writeFileSync(
      join(pol, 'roles/deploy.yaml'),
      'role: deploy\nissuer: ci\nmax_ttl: 5m\nallow:\n  - repository_id: "42"\n    repository_owner_id: "7"\ngrants:\n  - type: secret\n    name: K\n',
    );
    const hookFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url === HOOK) {
        posts.push(JSON.parse(String(init?.body)));
        return new Response('ok');
      }
      return fetch(input, init);
    }) as typeof fetch;
    broker = await buildNodeBroker({
      policiesDir: pol,
      dataDir: join(dir, 'data'),
      env: { BROKER_ALERT_WEBHOOK: HOOK },
      fetch: hookFetch,
      dev: true,
      log: () => {},
    });
  });

  afterAll(async () => {
    broker?.close();
    await issuer?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a burst of 20 refused exchanges posts one alert, audited, and 20 more post none', async () => {
    const exchange = async () => {
      const token = await signTestToken(key, {
        iss: issuer.url,
        aud: AUD,
        sub: 'repo:evil/x',
        repository: 'evil/x',
        repository_id: '666',
        repository_owner_id: '9',
      });
      const res = await broker.app.request('/v1/exchange', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, role: 'deploy' }),
      });
      expect(res.status).toBe(403);
    };
    for (let i = 0; i < 40; i++) await exchange();
    await broker.alerter!.idle();
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({ alert: { kind: 'denial_burst', identity: 'evil/x', role: 'deploy', count: 20 } });
    const recorded = (await broker.deps.auditor.store.list({ descending: true, limit: 100 })).map(
      (e) => JSON.parse(e.record) as AuditRecord,
    );
    expect(recorded.filter((r) => r.action === 'alert').map((r) => r.reason)).toEqual(['alert.sent']);
  });
});
