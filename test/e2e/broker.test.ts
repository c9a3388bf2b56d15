// The acceptance run against real processes: `secret-broker serve` with a loopback issuer, tokens signed
// by `secret-broker token`, secrets stored by `secret-broker secret put`, and `audit verify` on the result.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestIssuerServer } from '../../cli/lib/test-issuer.ts';
import { startE2eBroker, type E2eBroker } from '../helpers/e2e-broker.ts';
import { runCli, type ServedBroker } from '../helpers/processes.ts';

let fixture: E2eBroker;
let dir: string;
let issuer: TestIssuerServer;
let broker: ServedBroker;
const AUD = 'https://broker.e2e.test';

beforeAll(async () => {
  fixture = await startE2eBroker({
    name: 'e2e',
    issuerName: 'local',
    audience: AUD,
    roles: {
      deploy: `role: deploy\nissuer: local\nmax_ttl: 5m\nallow:\n  - repository_id: "42"\n    ref: refs/heads/main\ngrants:\n  - type: secret\n    name: API_KEY\n`,
      locked: `role: locked\nissuer: local\nmax_ttl: 5m\nallow:\n  - repository_id: "7"\ngrants:\n  - type: secret\n    name: API_KEY\n`,
    },
    secrets: { API_KEY: 's3cr3t-value' },
  });
  ({ dir, issuer, broker } = fixture);
}, 60_000);

afterAll(async () => {
  await fixture?.close();
});

async function mint(claims: Record<string, unknown>): Promise<string> {
  const file = join(dir, `claims-${Math.random()}.json`);
  writeFileSync(file, JSON.stringify({ iss: issuer.url, aud: AUD, sub: 'repo:acme/app', ...claims }));
  const r = await runCli(['token', '--claims', file, '--issuer-key', join(dir, 'issuer-key.json')]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

async function exchange(token: string, role: string) {
  const res = await fetch(`${broker.url}/v1/exchange`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, role }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe('secret-broker serve (real processes)', () => {
  const good = { repository_id: '42', ref: 'refs/heads/main' };

  it('answers /healthz', async () => {
    const res = await fetch(`${broker.url}/healthz`);
    expect(await res.json()).toMatchObject({ status: 'ok', policy_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('an allowed token returns the secret; the same token again is a replay', async () => {
    const token = await mint(good);
    const first = await exchange(token, 'deploy');
    expect(first.status).toBe(200);
    expect(first.body.credentials).toEqual([{ type: 'secret', name: 'API_KEY', env: 'API_KEY', value: 's3cr3t-value', version: 1 }]);
    const again = await exchange(token, 'deploy');
    expect([again.status, again.body.error]).toEqual([401, 'ERR_TOKEN_REPLAYED']);
  });

  it('wrong audience, expired, unknown and denied roles', async () => {
    const wrongAud = await exchange(await mint({ ...good, aud: 'https://elsewhere.test' }), 'deploy');
    expect([wrongAud.status, wrongAud.body.error]).toEqual([401, 'ERR_TOKEN_INVALID']);
    const now = Math.floor(Date.now() / 1000);
    const expired = await exchange(await mint({ ...good, iat: now - 400, nbf: now - 400, exp: now - 100 }), 'deploy');
    expect([expired.status, expired.body.error]).toEqual([401, 'ERR_TOKEN_EXPIRED']);
    const unknown = await exchange(await mint(good), 'no-such-role');
    const denied = await exchange(await mint(good), 'locked');
    expect(unknown.status).toBe(403);
    expect(denied.status).toBe(403);
    const { request_id: a, ...unknownRest } = unknown.body;
    const { request_id: b, ...deniedRest } = denied.body;
    expect(a).not.toBe(b);
    expect(unknownRest).toEqual(deniedRest);
    expect(unknownRest.error).toBe('ERR_ACCESS_DENIED');
  });

  it('never logs the token or the secret value', async () => {
    const token = await mint(good);
    await exchange(token, 'deploy');
    expect(broker.logs()).not.toContain(token);
    expect(broker.logs()).not.toContain('s3cr3t-value');
  });

  describe('audit verify', () => {
    let lines: string[];
    const data = () => join(dir, 'data');

    beforeAll(async () => {
      const out = join(dir, 'export.jsonl');
      const r = await runCli(['audit', 'export', '--out', out, '--data', data()]);
      expect(r.code, r.stderr).toBe(0);
      lines = readFileSync(out, 'utf8').trim().split('\n');
      expect(lines.length).toBeGreaterThanOrEqual(6);
    });

    it('passes on the intact store and the intact export', async () => {
      const store = await runCli(['audit', 'verify', '--data', data()]);
      expect(store.code, store.stdout + store.stderr).toBe(0);
      expect(store.stdout).toMatch(/audit chain OK/);
      const file = await runCli(['audit', 'verify', '--file', join(dir, 'export.jsonl'), '--data', data()]);
      expect(file.code, file.stdout).toBe(0);
    });

    const tamper = async (name: string, edit: (l: string[]) => string[]) => {
      const file = join(dir, `${name}.jsonl`);
      writeFileSync(file, `${edit([...lines]).join('\n')}\n`);
      return runCli(['audit', 'verify', '--file', file, '--data', data()]);
    };

    it('fails on an edited record, naming it', async () => {
      const r = await tamper('edited', (l) => {
        const e = JSON.parse(l[2]!);
        e.record.decision = 'allow';
        e.record.code = 'OK';
        l[2] = JSON.stringify(e);
        return l;
      });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/BROKEN .*line 3 \(record seq 3\).*edited/);
    });

    it('fails on a removed record, naming the place', async () => {
      const r = await tamper('removed', (l) => [...l.slice(0, 2), ...l.slice(3)]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/BROKEN .*line 3 \(record seq 4\).*removed/);
    });

    it('fails on reordered records', async () => {
      const r = await tamper('reordered', (l) => [l[0]!, l[2]!, l[1]!, ...l.slice(3)]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/BROKEN .*line 2 \(record seq 3\)/);
    });

    it('fails on a record whose hash was recomputed but whose link was not', async () => {
      const r = await tamper('rehashed', (l) => {
        const e = JSON.parse(l[1]!);
        e.hash = 'f'.repeat(64);
        l[1] = JSON.stringify(e);
        return l;
      });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/BROKEN .*line 2 \(record seq 2\)/);
    });

    it('fails on an edited record in the store itself', async () => {
      const { DatabaseSync } = await import('node:sqlite');
      const copy = join(dir, 'data-copy');
      mkdirSync(copy, { recursive: true });
      const db = new DatabaseSync(join(data(), 'broker.db'));
      db.exec(`VACUUM INTO '${join(copy, 'broker.db')}'`);
      db.close();
      const edit = new DatabaseSync(join(copy, 'broker.db'));
      edit.prepare(`UPDATE audit SET record = replace(record, '"decision":"deny"', '"decision":"allow"') WHERE seq = 2`).run();
      edit.close();
      const r = await runCli(['audit', 'verify', '--data', copy]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/BROKEN in the store at record seq 2/);
    });
  });
});
