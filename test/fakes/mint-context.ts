// Building a minter's inputs the way the exchange does: the grant through the real policy schema (so its
// defaults apply), the role compiled, and a MintContext for a verified caller. Web-standard only, so the
// tests inside workerd use it too.
import { compileRole } from '../../broker/src/policy/compile.ts';
import { grantSchema, roleSchema, type Grant, type GrantOf } from '../../broker/src/policy/schema.ts';
import type { MintContext } from '../../broker/src/mint/types.ts';

export const GITHUB_CLAIMS = {
  iss: 'https://token.actions.githubusercontent.com',
  sub: 'repo:acme/web:environment:production',
  repository: 'acme/web',
  repository_id: '123456',
  repository_owner: 'acme',
  repository_owner_id: '7890',
  ref: 'refs/heads/main',
  environment: 'production',
  event_name: 'push',
  run_id: '9876543210',
  run_attempt: '1',
  actor: 'octocat',
  runner_environment: 'github-hosted',
};

export function grantOf<T extends Grant['type']>(type: T, fields: Record<string, unknown>): GrantOf<T> {
  return grantSchema.parse({ type, ...fields }) as GrantOf<T>;
}

export function mintContext(opts: {
  grant: Grant;
  maxTtl?: string;
  now: number;
  claims?: Record<string, unknown>;
  role?: string;
}): MintContext {
  const role = compileRole({
    file: 'roles/test.yaml',
    line: 1,
    value: roleSchema.parse({
      role: opts.role ?? 'deploy-web-prod',
      issuer: 'github',
      max_ttl: opts.maxTtl ?? '1h',
      allow: [{ repository_id: '123456' }],
      grants: [opts.grant],
    }),
  });
  return {
    role,
    claims: opts.claims ?? GITHUB_CLAIMS,
    issuer: 'github',
    requestId: '01JTESTREQUEST0000000000000',
    now: opts.now,
    maxTtl: role.maxTtl,
  };
}
