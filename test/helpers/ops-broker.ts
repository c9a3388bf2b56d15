// An in-process Node broker (startNodeBroker) on a loopback OIDC issuer, for the operations tests: a policy
// directory the test may edit, a data folder, a KEK, the log lines it wrote, and a token signer.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningBroker, startNodeBroker } from '../../broker/entry/node.ts';
import { generateKekBase64 } from '../../broker/src/store/envelope.ts';
import { generateIssuerKey, type IssuerKey, serveTestIssuer, signTestToken, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';

export const OPS_AUD = 'https://broker.ops.test';

/** allow repository_id 1, grant the secret S. */
export const roleApp = (repo = '1') =>
  `role: app\nissuer: ci\nmax_ttl: 5m\nallow:\n  - repository_id: "${repo}"\ngrants:\n  - type: secret\n    name: S\n`;

export interface OpsFixture {
  dir: string;
  policies: string;
  key: IssuerKey;
  issuer: TestIssuerServer;
  kek: string;
  /** A token of repository `repo` for the issuer `ci`. */
  token(repo?: string, extra?: Record<string, unknown>): Promise<string>;
  writeRole(name: string, text: string): void;
  start(opts?: { env?: Record<string, string>; data?: string; kek?: string }): Promise<OpsBroker>;
  close(): Promise<void>;
}

export interface OpsBroker {
  broker: RunningBroker;
  lines: Record<string, unknown>[];
  exchange(token: string, role?: string, headers?: Record<string, string>): Promise<{ status: number; body: Record<string, any> }>;
}

export async function opsFixture(name: string): Promise<OpsFixture> {
  const dir = mkdtempSync(join(tmpdir(), `sb-${name}-`));
  const key = await generateIssuerKey();
  const issuer = await serveTestIssuer(key);
  const policies = join(dir, 'policies');
  mkdirSync(join(policies, 'roles'), { recursive: true });
  writeFileSync(join(policies, 'issuers.yaml'), `issuers:\n  ci:\n    url: ${issuer.url}\n    audience: ${OPS_AUD}\n`);
  writeFileSync(join(policies, 'roles/app.yaml'), roleApp());
  const kek = generateKekBase64();
  const running: RunningBroker[] = [];
  return {
    dir,
    policies,
    key,
    issuer,
    kek,
    token: (repo = '1', extra = {}) =>
      signTestToken(key, { iss: issuer.url, aud: OPS_AUD, sub: `repo:acme/r${repo}`, repository_id: repo, ...extra }),
    writeRole: (role, text) => writeFileSync(join(policies, `roles/${role}.yaml`), text),
    async start(opts = {}) {
      const lines: Record<string, unknown>[] = [];
      const broker = await startNodeBroker({
        policiesDir: policies,
        dataDir: join(dir, opts.data ?? 'data'),
        port: 0,
        host: '127.0.0.1',
        env: { BROKER_KEK: opts.kek ?? kek, ...opts.env },
        log: (l) => lines.push(l),
      });
      running.push(broker);
      if (!(await broker.vault.list()).some((s) => s.name === 'S'))
        await broker.vault.put('S', 'the-secret-value', Math.floor(Date.now() / 1000));
      return {
        broker,
        lines,
        async exchange(token, role = 'app', headers = {}) {
          const res = await fetch(`${broker.url}/v1/exchange`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify({ token, role }),
          });
          return { status: res.status, body: (await res.json()) as Record<string, any> };
        },
      };
    },
    async close() {
      for (const b of running) await b.stop().catch(() => {});
      await issuer.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
