// BROKER_RATE_LIMITS on the real Node entry: a malformed setting refuses to start; a set one answers 429.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startNodeBroker } from '../../broker/entry/node.ts';
import { generateKekBase64 } from '../../broker/src/store/envelope.ts';
import { generateIssuerKey, serveTestIssuer, signTestToken, type IssuerKey, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';

let dir: string;
let issuer: TestIssuerServer;
let key: IssuerKey;
const AUD = 'https://broker.rl.test';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-rl-'));
  key = await generateIssuerKey();
  issuer = await serveTestIssuer(key);
  mkdirSync(join(dir, 'policies/roles'), { recursive: true });
  writeFileSync(join(dir, 'policies/issuers.yaml'), `issuers:\n  ci:\n    url: ${issuer.url}\n    audience: ${AUD}\n`);
  writeFileSync(
    join(dir, 'policies/roles/app.yaml'),
    `role: app\nissuer: ci\nmax_ttl: 5m\nallow:\n  - repository_id: "1"\ngrants:\n  - type: secret\n    name: S\n`,
  );
});

afterAll(async () => {
  await issuer.close();
  rmSync(dir, { recursive: true, force: true });
});

const opts = (limits: string, data: string) => ({
  policiesDir: join(dir, 'policies'),
  dataDir: join(dir, data),
  port: 0,
  host: '127.0.0.1',
  env: { BROKER_KEK: generateKekBase64(), BROKER_RATE_LIMITS: limits },
  log: () => {},
});

it('refuses to start with a malformed BROKER_RATE_LIMITS', async () => {
  await expect(startNodeBroker(opts('clients=5', 'bad'))).rejects.toThrow(/BROKER_RATE_LIMITS/);
});

it('answers 429 ERR_RATE_LIMITED past the per-identity limit', async () => {
  const broker = await startNodeBroker(opts('subject=2/1m', 'ok'));
  try {
    await broker.vault.put('S', 'value', Math.floor(Date.now() / 1000));
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const token = await signTestToken(key, { iss: issuer.url, aud: AUD, sub: 'repo:a/b', repository_id: '1' });
      const res = await fetch(`${broker.url}/v1/exchange`, { method: 'POST', body: JSON.stringify({ token, role: 'app' }) });
      statuses.push(res.status);
      if (res.status === 429) expect(((await res.json()) as { error: string }).error).toBe('ERR_RATE_LIMITED');
      else await res.body?.cancel();
    }
    expect(statuses).toEqual([200, 200, 429]);
  } finally {
    await broker.stop();
  }
});
