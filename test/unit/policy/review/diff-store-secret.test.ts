// `policy diff` on secret-store grants: who gains or loses which secret, and under which names.
import { describe, expect, it } from 'vitest';
import { diffPolicies } from '../../../../broker/src/policy/review/diff.ts';
import { BASE, role, side } from './diff-fixtures.ts';

const AWS = (extra: string) =>
  `  - type: aws_secret\n    secret_id: prod/db\n    region: us-east-1\n    role_arn: arn:aws:iam::111122223333:role/r\n${extra}`;
const GCP = (extra: string) =>
  `  - type: gcp_secret\n    secret: projects/p/secrets/s/versions/latest\n    workload_identity_provider: projects/1/locations/global/workloadIdentityPools/p/providers/q\n${extra}`;

async function changes(before: string, after: string) {
  const diff = diffPolicies(
    await side({ r: role('r', BASE, `grants:\n${before}`) }),
    await side({ r: role('r', BASE, `grants:\n${after}`) }),
  );
  return diff.roles.flatMap((r) => r.changes).map((c) => [c.kind, c.direction, c.summary]);
}

describe('policy diff reports who gains or loses which secret', () => {
  it('a new secret-store grant names the secret and its env names', async () => {
    expect(await changes(AWS('    env: A\n'), AWS('    env: A\n') + GCP('    env: B\n'))).toEqual([
      ['grant-added', 'widened', 'new grant: `gcp_secret projects/p/secrets/s/versions/latest as B`'],
    ]);
  });

  it('a removed one, and another secret read in its place, are a loss and a gain (not a target change)', async () => {
    const out = await changes(AWS('    env: A\n'), AWS('    env: A\n').replace('prod/db', 'prod/other'));
    expect(out.map((c) => c[0]).sort()).toEqual(['grant-added', 'grant-removed']);
  });

  it('json_keys that export a name more, or fewer, or another version or reader', async () => {
    expect(await changes(AWS('    json_keys: {U: u}\n'), AWS('    json_keys: {U: u, P: p}\n'))).toEqual([
      ['secret-names-added', 'widened', 'now also exports `P`'],
    ]);
    expect(await changes(AWS('    json_keys: {U: u, P: p}\n'), AWS('    json_keys: {U: u}\n'))).toEqual([
      ['secret-names-removed', 'narrowed', 'no longer exports `P`'],
    ]);
    expect((await changes(AWS('    env: A\n'), AWS('    env: A\n    version_stage: AWSPREVIOUS\n'))).map((c) => c[0])).toEqual([
      'secret-version-changed',
    ]);
    expect((await changes(AWS('    env: A\n'), AWS('    env: A\n').replace('role/r', 'role/admin'))).map((c) => c[0])).toEqual([
      'secret-reader-changed',
    ]);
    expect((await changes(GCP('    env: A\n'), GCP('    env: A\n    secret_manager_url: https://x.example\n'))).map((c) => c[0])).toEqual([
      'endpoint-changed',
    ]);
  });
});
