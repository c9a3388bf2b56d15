// Remote administration against a real `secret-broker serve`: `secret put/rotate/list --broker`, then an
// exchange returns the value; `keys list/rotate --broker`; `audit export --broker` then `audit verify --jwks URL`
// passes, and fails after an edit. The value never shows in the broker's logs or its audit records.
import { readFileSync, writeFileSync } from 'node:fs';
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
});
