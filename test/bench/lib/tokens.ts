// Token pools for load tests. Every request needs its own token (the replay guard is on), and RS256 signing
// costs ~0.6 ms of CPU, so pools are signed before a measurement starts, with node:crypto (about twice as
// fast as WebCrypto here) and, for large pools, on worker threads so that both cores sign.
import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { JWK } from 'jose';

export interface TokenSpec {
  privateJwk: JWK & { kid: string };
  issuer: string;
  audience: string;
  /** Claims besides iss, aud, iat, nbf, exp and jti. */
  claims: Record<string, unknown>;
  /** Token lifetime in seconds. */
  ttl?: number;
}

/** Claims shaped like a GitHub Actions ID token (about the same size), for the repository the bench role binds. */
export function githubLikeClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: 'repo:acme/web:environment:production',
    ref: 'refs/heads/main',
    sha: 'd3b07384d113edec49eaa6238ad5ff00c86e4f2b',
    repository: 'acme/web',
    repository_owner: 'acme',
    repository_owner_id: '7890',
    repository_id: '123456',
    repository_visibility: 'private',
    run_id: '9876543210',
    run_number: '42',
    run_attempt: '1',
    runner_environment: 'github-hosted',
    actor: 'octocat',
    actor_id: '583231',
    workflow: 'deploy',
    workflow_ref: 'acme/web/.github/workflows/deploy.yml@refs/heads/main',
    workflow_sha: 'd3b07384d113edec49eaa6238ad5ff00c86e4f2b',
    job_workflow_ref: 'acme/web/.github/workflows/deploy.yml@refs/heads/main',
    job_workflow_sha: 'd3b07384d113edec49eaa6238ad5ff00c86e4f2b',
    head_ref: '',
    base_ref: '',
    event_name: 'push',
    ref_type: 'branch',
    ref_protected: 'true',
    environment: 'production',
    environment_node_id: 'EN_kwDOabcdefg',
    ...extra,
  };
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** A synchronous signer: each call returns a fresh token with a distinct jti. */
export function tokenSigner(spec: TokenSpec): (overrides?: Record<string, unknown>) => string {
  const key: KeyObject = createPrivateKey({ key: spec.privateJwk as never, format: 'jwk' });
  const header = b64url(JSON.stringify({ alg: 'RS256', kid: spec.privateJwk.kid, typ: 'JWT' }));
  const ttl = spec.ttl ?? 600;
  return (overrides = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: spec.issuer,
      aud: spec.audience,
      ...spec.claims,
      iat: now,
      nbf: now,
      exp: now + ttl,
      jti: randomUUID(),
      ...overrides,
    };
    const input = `${header}.${b64url(JSON.stringify(payload))}`;
    return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
  };
}

export function signTokens(spec: TokenSpec, count: number): string[] {
  const next = tokenSigner(spec);
  return Array.from({ length: count }, () => next());
}

/** Signs `count` tokens on worker threads (one per core); small pools are signed inline. */
export async function signTokensParallel(spec: TokenSpec, count: number): Promise<string[]> {
  const workers = Math.min(availableParallelism(), 4);
  if (count < 2000 || workers < 2) return signTokens(spec, count);
  const share = Math.ceil(count / workers);
  const parts = await Promise.all(
    Array.from({ length: workers }, (_, i) => {
      const n = Math.max(0, Math.min(share, count - i * share));
      return new Promise<string[]>((resolve, reject) => {
        const worker = new Worker(new URL('./sign-worker.ts', import.meta.url), { workerData: { spec, count: n } });
        worker.once('message', (tokens: string[]) => resolve(tokens));
        worker.once('error', reject);
        worker.once('exit', (code) => code !== 0 && reject(new Error(`sign worker exited with ${code}`)));
      });
    }),
  );
  return parts.flat();
}
