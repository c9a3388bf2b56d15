// The setup most end-to-end tests share: a loopback OIDC issuer, a policy directory, secrets stored through
// the real CLI, and a real `secret-broker serve` process on it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateIssuerKey, serveTestIssuer, type IssuerKey, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';
import { runCli, serveBroker, type ServedBroker } from './processes.ts';

export interface E2eBroker {
  dir: string;
  key: IssuerKey;
  issuer: TestIssuerServer;
  broker: ServedBroker;
  policies: string;
  data: string;
  close(): Promise<void>;
}

export interface E2eBrokerOptions {
  /** Temp dir prefix. */
  name: string;
  issuerName: string;
  audience: string;
  /** Role files by role name; `issuer` in them is filled in with issuerName where written as ${ISSUER}. */
  roles: Record<string, string>;
  /** Stored through `secret-broker secret put` (a trailing newline is added and dropped again, as on stdin). */
  secrets: Record<string, string>;
  /** Runs after the issuer is up and before the broker starts (e.g. a token service that needs the issuer). */
  beforeServe?: (ctx: { dir: string; key: IssuerKey; issuer: TestIssuerServer }) => Promise<void>;
  /** Extra environment for the broker process (e.g. BROKER_ADMIN_TOKEN). */
  env?: Record<string, string>;
}

export async function startE2eBroker(opts: E2eBrokerOptions): Promise<E2eBroker> {
  const dir = mkdtempSync(join(tmpdir(), `sb-${opts.name}-`));
  const { key } = await loadOrCreateIssuerKey(join(dir, 'issuer-key.json'));
  const issuer = await serveTestIssuer(key);
  const policies = join(dir, 'policies');
  mkdirSync(join(policies, 'roles'), { recursive: true });
  writeFileSync(
    join(policies, 'issuers.yaml'),
    `issuers:\n  ${opts.issuerName}:\n    url: ${issuer.url}\n    audience: ${opts.audience}\n`,
  );
  for (const [name, text] of Object.entries(opts.roles)) writeFileSync(join(policies, `roles/${name}.yaml`), text);
  const data = join(dir, 'data');
  for (const [name, value] of Object.entries(opts.secrets)) {
    const put = await runCli(['secret', 'put', name, '--data', data, '--policies', policies], { input: `${value}\n` });
    if (put.code !== 0) throw new Error(`secret put ${name} failed: ${put.stderr}`);
  }
  await opts.beforeServe?.({ dir, key, issuer });
  // The secrets above were sealed with the development KEK that `secret put` created in the data folder.
  const broker = await serveBroker(['--dev', '--policies', policies, '--data', data], opts.env);
  return {
    dir,
    key,
    issuer,
    broker,
    policies,
    data,
    close: async () => {
      await broker.stop();
      await issuer.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
