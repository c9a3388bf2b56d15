// Remote administration against a real `secret-broker serve`: `secret put/rotate/list --broker`, then an
// exchange returns the value; `keys list/rotate --broker`; `audit export --broker` then `audit verify --jwks URL`
// passes, and fails after an edit. The value never shows in the broker's logs or its audit records.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signTestToken } from '../../cli/lib/test-issuer.ts';
import { startE2eBroker, type E2eBroker } from '../helpers/e2e-broker.ts';
import { runCli } from '../helpers/processes.ts';

const AUD = 'https://broker.admin-remote.test';
const TOKEN = 'e2e-remote-admin-0123456789abcdefghij';
const VALUE = 'remote-value-7b1e2f-never-in-clear';
const ROTATED = 'rotated-value-c94d01-never-in-clear';

let e: E2eBroker;
const admin = { BROKER_ADMIN_TOKEN: TOKEN };

beforeAll(async () => {
  e = await startE2eBroker({
    name: 'admin-remote',
    issuerName: 'local',
    audience: AUD,
    roles: {
      deploy:
        'role: deploy\nissuer: local\nmax_ttl: 5m\nallow:\n  - repository_id: "42"\ngrants:\n  - type: secret\n    name: REMOTE_KEY\n',
    },
    secrets: {},
    env: admin,
  });
}, 60_000);
afterAll(() => e?.close());

async function exchangeValue(): Promise<string | undefined> {
  const token = await signTestToken(e.key, { iss: e.issuer.url, aud: AUD, sub: 'repo:acme/web', repository_id: '42' });
  const res = await fetch(`${e.broker.url}/v1/exchange`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, role: 'deploy' }),
  });
  const body = (await res.json()) as { credentials?: { type: string; value?: string }[] };
  return body.credentials?.find((c) => c.type === 'secret')?.value;
}

describe('the CLI administers a running broker with --broker URL', () => {
  it('secret put --broker then an exchange returns the value; rotate adds a version; list shows no values', async () => {
    const put = await runCli(['secret', 'put', 'REMOTE_KEY', '--broker', e.broker.url], { input: `${VALUE}\n`, env: admin });
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout).toContain('stored REMOTE_KEY version 1');
    expect(await exchangeValue()).toBe(VALUE);

    const rot = await runCli(['secret', 'rotate', 'REMOTE_KEY', '--broker', e.broker.url], { input: ROTATED, env: admin });
    expect(rot.code, rot.stderr).toBe(0);
    expect(rot.stdout).toContain('rotated REMOTE_KEY version 2');
    expect(await exchangeValue()).toBe(ROTATED);

    const list = await runCli(['secret', 'list', '--broker', e.broker.url], { env: admin });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/REMOTE_KEY\s+v2/);
    expect(list.stdout).not.toContain(VALUE);
    expect(list.stdout).not.toContain('broker.');
  });

  it('refuses without BROKER_ADMIN_TOKEN, with a wrong token, and over http:// to a non-loopback host', async () => {
    const none = await runCli(['secret', 'list', '--broker', e.broker.url], { env: { BROKER_ADMIN_TOKEN: '' } });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('BROKER_ADMIN_TOKEN');
    const wrong = await runCli(['secret', 'put', 'REMOTE_KEY', '--broker', e.broker.url], {
      input: 'x',
      env: { BROKER_ADMIN_TOKEN: 'wrong-admin-token-0123456789abcdefgh' },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('ERR_TOKEN_INVALID');
    const clear = await runCli(['keys', 'list', '--broker', 'http://broker.example.com'], { env: admin });
    expect(clear.code).toBe(2);
    expect(clear.stderr).toContain('https://');
  });

  it('keys rotate --broker adds a key that keys list --broker shows', async () => {
    const rot = await runCli(['keys', 'rotate', '--activate-in', '1h', '--broker', e.broker.url], { env: admin });
    expect(rot.code, rot.stderr).toBe(0);
    const kid = /added key (\S+):/.exec(rot.stdout)?.[1];
    expect(kid).toBeTruthy();
    const list = await runCli(['keys', 'list', '--broker', e.broker.url], { env: admin });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${kid}\\s+next`));
    expect(list.stdout).toMatch(/signing/);
  });

  it('audit export --broker then audit verify --jwks URL passes, and fails after an edit', async () => {
    const file = join(e.dir, 'remote-export.jsonl');
    const exp = await runCli(['audit', 'export', '--broker', e.broker.url, '--out', file], { env: admin });
    expect(exp.code, exp.stderr).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text.trim().split('\n').at(-1)).toMatch(/^\{"checkpoint"/);
    const jwks = `${e.broker.url}/.well-known/jwks.json`;
    // Verified where there is no data folder: the JWKS URL is the only trust anchor.
    const ok = await runCli(['audit', 'verify', '--file', file, '--jwks', jwks, '--data', join(e.dir, 'nowhere')]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain('checkpoints OK');

    const edited = text.replace('"decision":"allow"', '"decision":"deny"');
    expect(edited).not.toBe(text);
    writeFileSync(file, edited);
    const bad = await runCli(['audit', 'verify', '--file', file, '--jwks', jwks, '--data', join(e.dir, 'nowhere')]);
    expect(bad.code).toBe(1);

    // Every admin call is in the chain, and no value is in it or in the broker's logs.
    expect(text).toContain('"action":"admin"');
    expect(text).toContain('"op":"secret_put"');
    for (const v of [VALUE, ROTATED]) {
      expect(text).not.toContain(v);
      expect(e.broker.logs()).not.toContain(v);
    }
  });

  it('audit checkpoint --broker signs the head now', async () => {
    const cp = await runCli(['audit', 'checkpoint', '--broker', e.broker.url], { env: admin });
    expect(cp.code, cp.stderr).toBe(0);
    expect(JSON.parse(cp.stdout)).toHaveProperty('checkpoint.jws');
  });

  it("audit report --broker gives the local report from the admin API, its chain verified against the broker's JWKS", async () => {
    const put = await runCli(['secret', 'put', 'ROTATING', '--max-age', '30d', '--broker', e.broker.url], { input: 'r1', env: admin });
    expect(put.code, put.stderr).toBe(0);
    expect(await exchangeValue()).toBeDefined();
    const run = await runCli(['audit', 'report', '--broker', e.broker.url, '--format', 'json', '--policies', e.policies], {
      env: admin,
    });
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout).sections;
    const deploy = s.access_review.roles.find((r: any) => r.role === 'deploy');
    expect(deploy).toMatchObject({ in_policy: true, denied: 0, errors: 0 });
    // Three exchanges in this file: after the put (v1), after the rotation (v2), and here (v2).
    expect(deploy.allowed).toBe(3);
    expect(deploy.identities.map((i: any) => i.identity)).toEqual(['repo:acme/web']);
    expect(deploy.credentials).toEqual([
      { type: 'secret', target: 'REMOTE_KEY@2', count: 2 },
      { type: 'secret', target: 'REMOTE_KEY@1', count: 1 },
    ]);
    expect(s.unused_roles.roles).toEqual([]);
    const byName = Object.fromEntries(s.secrets.secrets.map((x: any) => [x.name, x]));
    expect(byName.REMOTE_KEY).toMatchObject({ current_version: 2, versions: 2, rotations_in_window: 1, max_age_days: null });
    expect(byName.ROTATING).toMatchObject({ current_version: 1, max_age_days: 30, past_max_age: false });
    expect(s.signing_keys.keys.length).toBeGreaterThanOrEqual(2);
    expect(s.signing_keys.rotations_in_window).toBeGreaterThanOrEqual(1);
    expect(s.kek.rewrap_complete).toBe(true);
    expect(s.kek.by_kek).toEqual([expect.objectContaining({ kek_id: s.kek.current_kek_id })]);
    expect(s.audit_integrity).toMatchObject({ chain_ok: true, problems: [], uncovered: 0 });
    expect(s.audit_integrity.checkpoints_verified).toBeGreaterThanOrEqual(1);
    const health = (await (await fetch(`${e.broker.url}/healthz`)).json()) as { policy_hash: string };
    expect(s.policy.current).toBe(health.policy_hash);
    // Evidence, never a value.
    expect(run.stdout).not.toMatch(new RegExp(`${VALUE}|${ROTATED}|r1"|ciphertext|wrapped_key`));

    const md = await runCli(['audit', 'report', '--broker', e.broker.url, '--policies', e.policies], { env: admin });
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout.match(/^## /gm)).toHaveLength(7);
  });

  it('audit report --broker verifies the chain itself: an export altered on the way (a proxy) is reported broken, exit 1', async () => {
    // A loopback proxy that passes everything on and edits one record of the export.
    const proxy = createServer(async (req, res) => {
      const upstream = await fetch(`${e.broker.url}${req.url}`, {
        method: req.method ?? 'GET',
        headers: { authorization: String(req.headers.authorization ?? '') },
      });
      let body = await upstream.text();
      if (req.url?.startsWith('/v1/admin/audit/export')) body = body.replace('"decision":"allow"', '"decision":"deny"');
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' });
      res.end(body);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const run = await runCli(['audit', 'report', '--broker', url, '--format', 'json', '--policies', e.policies], { env: admin });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('does NOT verify');
      const integrity = JSON.parse(run.stdout).sections.audit_integrity;
      expect(integrity.chain_ok).toBe(false);
      expect(integrity.problems[0]).toMatchObject({ kind: 'chain' });
    } finally {
      proxy.close();
    }
  });
});
