// GET /v1/audit and /admin/ through createApp: admin only, every query audited, strict page headers.
import { beforeEach, describe, expect, it } from 'vitest';
import { createAdminAuth } from '../../../broker/src/admin/auth.ts';
import { createApp } from '../../../broker/src/app.ts';
import { Checkpointer } from '../../../broker/src/audit/checkpointer.ts';
import { BrokerIssuer } from '../../../broker/src/issuer/issuer.ts';
import { generateKekBase64, importKek } from '../../../broker/src/store/envelope.ts';
import { AUDIENCE, buildTestBroker, ISSUER_URL, T0, type TestBroker } from '../../helpers/broker.ts';
import { baseClaims, sign } from '../../helpers/issuer.ts';
import { MemoryCheckpointStore, MemoryKeyStore } from '../../helpers/memory-stores.ts';

const TOKEN = 'adm-0123456789abcdefghijklmnopqrstuv';
const NOW_S = T0 / 1000;
const bearer = { authorization: `Bearer ${TOKEN}` };

let b: TestBroker;
let app: ReturnType<typeof createApp>;
let checkpointer: Checkpointer;

beforeEach(async () => {
  b = await buildTestBroker();
  const issuer = new BrokerIssuer({
    store: new MemoryKeyStore(),
    keks: { current: await importKek(generateKekBase64()) },
    publicUrl: 'https://broker.test',
    now: () => b.clock.now,
    cacheMs: 0,
  });
  await issuer.ensureKey();
  const checkpoints = new MemoryCheckpointStore(b.audit);
  checkpointer = new Checkpointer({ audit: b.audit, checkpoints, signer: issuer, now: () => b.clock.now });
  app = createApp({ ...b.deps, issuer, admin: { auth: createAdminAuth({ token: TOKEN })!, checkpoints } });
});

const exchange = async (claims: Record<string, unknown>, role = 'app') => {
  const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, claims));
  const res = await app.request('/v1/exchange', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, role }),
  });
  b.clock.now += 1000;
  return res.status;
};

/** Three allows and two denials (one by policy, one for a role that does not exist), from two repositories. */
async function seed() {
  expect(await exchange({ repository_id: '123', repository: 'acme/web', ref: 'refs/heads/main' })).toBe(200);
  expect(await exchange({ repository_id: '123', repository: 'acme/web', ref: 'refs/heads/dev' })).toBe(403);
  expect(await exchange({ repository_id: '123', repository: 'acme/web', ref: 'refs/heads/main' })).toBe(200);
  expect(await exchange({ repository_id: '555', repository: 'acme/api', ref: 'refs/heads/main' }, 'nope')).toBe(403);
  expect(await exchange({ repository_id: '123', repository: 'acme/web', ref: 'refs/heads/main' })).toBe(200);
}

const query = async (qs = '', headers: Record<string, string> = bearer) => {
  const res = await app.request(`/v1/audit${qs}`, { headers: { 'user-agent': 'review-test', ...headers } });
  return { res, body: (await res.json()) as Record<string, any> };
};

describe('without an admin credential configured', () => {
  it('the admin routes do not exist, and nothing is audited', async () => {
    const plain = createApp(b.deps);
    for (const path of ['/v1/audit', '/admin/', '/admin']) {
      const res = await plain.request(path, { headers: bearer });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: string }).error).toBe('ERR_NOT_FOUND');
    }
    expect(b.audit.entries).toHaveLength(0);
  });
});

describe('GET /v1/audit authentication', () => {
  it.each([
    ['no credentials', {}, 'admin.credentials_missing'],
    ['a wrong token', { authorization: 'Bearer adm-0123456789abcdefghijklmnopqrstuX' }, 'admin.token_wrong'],
    ['a short wrong token', { authorization: 'Bearer a' }, 'admin.token_wrong'],
    ['another scheme', { authorization: `Basic ${TOKEN}` }, 'admin.authorization_malformed'],
  ])('refuses %s with 401 ERR_TOKEN_INVALID, returns no records, and audits the attempt', async (_name, headers, reason) => {
    await seed();
    const before = b.audit.entries.length;
    const { res, body } = await query('?decision=deny', headers);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="secret-broker admin"');
    expect(Object.keys(body).sort()).toEqual(['error', 'message', 'request_id']);
    expect(body.error).toBe('ERR_TOKEN_INVALID');
    expect(b.audit.entries).toHaveLength(before + 1);
    expect(b.audit.records().at(-1)).toMatchObject({
      action: 'admin_query',
      decision: 'deny',
      code: 'ERR_TOKEN_INVALID',
      reason,
      status: 401,
      subject: null,
      user_agent: 'review-test',
      client_ip: '192.0.2.1',
    });
  });

  it('a bad query from an admin is 400, audited with who asked', async () => {
    const { res, body } = await query('?decision=maybe');
    expect([res.status, body.error]).toEqual([400, 'ERR_REQUEST_INVALID']);
    expect(b.audit.records().at(-1)).toMatchObject({
      action: 'admin_query',
      code: 'ERR_REQUEST_INVALID',
      reason: 'audit_query.decision',
      subject: expect.stringMatching(/^admin-token:/),
    });
  });

  it('fails closed when the query cannot be audited', async () => {
    await seed();
    b.audit.broken = true;
    const { res, body } = await query();
    expect([res.status, body.error]).toEqual([503, 'ERR_UNAVAILABLE']);
  });
});

describe('GET /v1/audit as an admin', () => {
  it('returns records newest first, the head and the latest checkpoint; the query itself is audited', async () => {
    await seed();
    await checkpointer.checkpointNow();
    const { res, body } = await query('?role=app&repository=acme/web');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(body.request_id).toBe(res.headers.get('x-request-id'));
    expect(body.records.map((r: any) => r.seq)).toEqual([5, 3, 2, 1]);
    expect(body.records[0].record).toMatchObject({ decision: 'allow', role: 'app', identity: { repository: 'acme/web' } });
    expect(body.head).toEqual({ seq: 5, hash: b.audit.entries[4]!.hash });
    expect(body.checkpoint).toMatchObject({ seq: 5, hash: b.audit.entries[4]!.hash });
    expect(body.next_cursor).toBeNull();

    const own = b.audit.records().at(-1);
    expect(own).toMatchObject({
      action: 'admin_query',
      decision: 'allow',
      code: 'OK',
      status: 200,
      issuer: 'admin-token',
      subject: expect.stringMatching(/^admin-token:[0-9a-f]{8}$/),
      query: { role: 'app', repository: 'acme/web' },
    });
    expect(JSON.stringify(b.audit.records())).not.toContain(TOKEN);
  });

  it('filters by decision, reason and action, and pages with the cursor', async () => {
    await seed();
    const denies = await query('?decision=deny');
    expect(denies.body.records.map((r: any) => [r.seq, r.record.reason])).toEqual([
      [4, 'policy.no_such_role'],
      [2, 'policy.no_allow_matched'],
    ]);
    const byCode = await query('?reason=ERR_ACCESS_DENIED&action=exchange');
    expect(byCode.body.records).toHaveLength(2);
    const byReason = await query('?reason=policy.no_such');
    expect(byReason.body.records.map((r: any) => r.seq)).toEqual([4]);
    // The admin queries so far are records too.
    const admin = await query('?action=admin_query');
    expect(admin.body.records.map((r: any) => r.record.query)).toEqual([
      { reason: 'policy.no_such' },
      { reason: 'ERR_ACCESS_DENIED', action: 'exchange' },
      { decision: 'deny' },
    ]);

    const first = await query('?action=exchange&limit=2');
    expect(first.body.records.map((r: any) => r.seq)).toEqual([5, 4]);
    const second = await query(`?action=exchange&limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.records.map((r: any) => r.seq)).toEqual([3, 2]);
    const third = await query(`?action=exchange&limit=2&cursor=${second.body.next_cursor}`);
    expect(third.body.records.map((r: any) => r.seq)).toEqual([1]);
    expect(third.body.next_cursor).toBeNull();
  });

  it('summarises the window for the page', async () => {
    await seed();
    const { body } = await query('?since=1h&action=exchange&summary=1&limit=2');
    expect(body.summary).toMatchObject({
      total: 5,
      complete: true,
      decisions: { allow: 3, deny: 2, error: 0 },
      deny_reasons: [
        { code: 'ERR_ACCESS_DENIED', reason: 'policy.no_allow_matched', count: 1 },
        { code: 'ERR_ACCESS_DENIED', reason: 'policy.no_such_role', count: 1 },
      ],
    });
    expect(body.summary.timeline.buckets.reduce((n: number, x: any) => n + x.allow + x.deny, 0)).toBe(5);
  });

  it('GET /v1/audit/summary: the aggregates only, with the per-role view; audited like any query', async () => {
    await seed();
    const res = await app.request('/v1/audit/summary?since=1h&action=exchange&role=a*', { headers: bearer });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(body).not.toHaveProperty('records');
    expect(body.summary).toMatchObject({ total: 4, decisions: { allow: 3, deny: 1, error: 0 } });
    expect(body.summary.roles).toEqual([
      expect.objectContaining({
        role: 'app',
        total: 4,
        allow: 3,
        deny: 1,
        identities: [{ value: 'acme/web', count: 4 }],
        refs: [
          { value: 'refs/heads/main', count: 3 },
          { value: 'refs/heads/dev', count: 1 },
        ],
      }),
    ]);
    expect(body.summary.roles[0].last_allow).toBe(body.summary.roles[0].last);
    const recorded = JSON.parse((await b.audit.list({ descending: true, limit: 1 }))[0]!.record);
    expect(recorded).toMatchObject({ action: 'admin_query', query: { role: 'a*', summary_only: '1' } });
    // Unauthenticated: refused like /v1/audit.
    const anon = await app.request('/v1/audit/summary');
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
});

describe('/admin/', () => {
  it('serves the page with a strict, per-response nonce CSP and nothing external', async () => {
    const res = await app.request('/admin/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy')!;
    const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(html).toContain(`<style nonce="${nonce}">`);
    expect(html).not.toMatch(/\s(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/innerHTML|insertAdjacentHTML|document\.write/);
    const again = await app.request('/admin/');
    expect(again.headers.get('content-security-policy')).not.toBe(csp);
    // Loading the page is not a query: nothing to audit.
    expect(b.audit.entries).toHaveLength(0);
  });

  it('/admin redirects to /admin/', async () => {
    const res = await app.request('/admin');
    expect(res.status).toBe(308);
    expect(res.headers.get('location')).toBe('/admin/');
  });
});
