// A throwaway broker setup on loopback: an RS256 test issuer serving discovery and JWKS, a policy set with a
// `bench` role (GitHub-like bindings and one secret grant), the secret stored with the real CLI, and a KEK.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKekBase64 } from '../../../broker/src/store/envelope.ts';
import { generateIssuerKey, publicJwks, serveTestIssuer, type IssuerKey } from '../../../cli/lib/test-issuer.ts';
import { runCli } from '../../helpers/processes.ts';
import { githubLikeClaims, type TokenSpec } from './tokens.ts';

export const AUDIENCE = 'https://broker.bench.test';
export const SECRET_VALUE = 'postgres://bench:s3cr3t@db.internal:5432/app';

export const BENCH_ROLE = `role: bench
description: the benchmark's role, bound like a production deploy
issuer: local
max_ttl: 15m
allow:
  - repository_id: "123456"
    repository_owner_id: "7890"
    ref: refs/heads/main
    environment: production
    event_name: [push, workflow_dispatch]
    runner_environment: github-hosted
deny:
  - event_name: [pull_request_target, workflow_run]
grants:
  - type: secret
    name: DATABASE_URL
`;

export interface Fixture {
  dir: string;
  policiesDir: string;
  dataDir: string;
  key: IssuerKey;
  issuer: { url: string; close(): Promise<void> };
  kek: string;
  /** Environment for `secret-broker serve` and the CLI. */
  env: Record<string, string>;
  spec(claims?: Record<string, unknown>): TokenSpec;
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** Extra role files: name -> YAML. */
  roles?: Record<string, string>;
  /** An issuer already serving (for one with a flaky JWKS); by default a well-behaved one is started. */
  issuer?: { url: string; close(): Promise<void> };
  key?: IssuerKey;
  env?: Record<string, string>;
}

export async function createFixture(opts: FixtureOptions = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-'));
  const key = opts.key ?? (await generateIssuerKey());
  const issuer: { url: string; close(): Promise<void> } = opts.issuer ?? (await serveTestIssuer(key));
  const policiesDir = join(dir, 'policies');
  const dataDir = join(dir, 'data');
  mkdirSync(join(policiesDir, 'roles'), { recursive: true });
  writeFileSync(
    join(policiesDir, 'issuers.yaml'),
    `issuers:\n  local:\n    url: ${issuer.url}\n    audience: ${AUDIENCE}\n    algorithms: [RS256]\n`,
  );
  writeFileSync(join(policiesDir, 'roles/bench.yaml'), BENCH_ROLE);
  for (const [name, yaml] of Object.entries(opts.roles ?? {})) writeFileSync(join(policiesDir, `roles/${name}.yaml`), yaml);
  const kek = generateKekBase64();
  const env = { BROKER_KEK: kek, ...opts.env };
  const put = await runCli(['secret', 'put', 'DATABASE_URL', '--policies', policiesDir, '--data', dataDir], {
    input: `${SECRET_VALUE}\n`,
    env,
  });
  if (put.code !== 0) throw new Error(`secret put failed: ${put.stderr}`);
  return {
    dir,
    policiesDir,
    dataDir,
    key,
    issuer,
    kek,
    env,
    spec: (claims = {}) => ({ privateJwk: key.privateJwk, issuer: issuer.url, audience: AUDIENCE, claims: githubLikeClaims(claims) }),
    close: async () => {
      await issuer.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { publicJwks };
