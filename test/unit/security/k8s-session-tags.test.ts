// AWS session tags from nested claims: a session_tags value starting with "/" is a JSON Pointer read by the
// conditions' own rules (own properties only, arrays by canonical index, a missing step is no value), so
// IAM ABAC conditions can see a pod's namespace and service account. A tag that would be missing or not a
// scalar refuses the mint, as for top-level claims; a pointer that cannot name a claim is refused at load,
// and the lint checks pointers against the Kubernetes vocabulary.
import { describe, expect, it } from 'vitest';
import { sessionTagsOf } from '../../../broker/src/mint/aws.ts';
import { loadPolicy, type PolicyFile } from '../../../broker/src/policy/load.ts';
import { checkPolicy } from '../../../broker/src/policy/review/check.ts';

const ISSUERS = `issuers:
  cluster:
    url: https://kubernetes.default.svc
    audience: https://broker.example.com
    kind: kubernetes
`;

function files(tags: Record<string, string>): PolicyFile[] {
  const lines = Object.entries(tags)
    .map(([k, v]) => `      ${k}: ${JSON.stringify(v)}\n`)
    .join('');
  return [
    { path: 'issuers.yaml', text: ISSUERS },
    {
      path: 'roles/r.yaml',
      text: `role: r\nissuer: cluster\nmax_ttl: 15m\nallow:\n  - /kubernetes.io/namespace: payments\n    /kubernetes.io/serviceaccount/name: api\ngrants:\n  - type: aws\n    role_arn: arn:aws:iam::111122223333:role/pods\n    region: us-east-1\n    session_tags:\n${lines}`,
    },
  ];
}

const claims = {
  sub: 'system:serviceaccount:payments:api',
  groups: ['a', 'b'],
  'kubernetes.io': {
    namespace: 'payments',
    serviceaccount: { name: 'api', uid: 'u-1' },
    pod: { name: 'api-7d9', uid: 'p-1' },
    ready: true,
  },
};

describe('aws session_tags from JSON Pointers', () => {
  it('session_tags accept a JSON Pointer and tag the session with the nested claim it reads', async () => {
    const tags = {
      Namespace: '/kubernetes.io/namespace',
      ServiceAccount: '/kubernetes.io/serviceaccount/name',
      Ready: '/kubernetes.io/ready',
      Sub: 'sub',
    };
    const loaded = await loadPolicy(files(tags));
    expect(loaded.ok ? [] : loaded.problems).toEqual([]);
    expect(sessionTagsOf(tags, claims)).toEqual({
      ok: true,
      tags: [
        ['Namespace', 'payments'],
        ['ServiceAccount', 'api'],
        ['Ready', 'true'],
        ['Sub', 'system:serviceaccount:payments:api'],
      ],
    });
    expect(sessionTagsOf({ First: '/groups/0' }, claims)).toEqual({ ok: true, tags: [['First', 'a']] });
  });

  it.each([
    ['a missing nested step', '/kubernetes.io/serviceaccount/missing'],
    ['a pointer through a scalar', '/kubernetes.io/namespace/x'],
    ['an object', '/kubernetes.io/serviceaccount'],
    ['an array', '/groups'],
    ['an inherited property', '/kubernetes.io/toString'],
    ['an array length', '/groups/length'],
    ['a non-canonical index', '/groups/01'],
    ['an index past the end', '/groups/2'],
    ['a flattened key that is not there', '/kubernetes.io~1namespace'],
  ])('a session tag pointer to %s has no value and refuses the mint', (_why, pointer) => {
    expect(sessionTagsOf({ T: pointer }, claims)).toMatchObject({
      ok: false,
      code: 'ERR_UPSTREAM',
      detail: 'aws.session_tag_claim_missing:T',
    });
  });

  it('session tag pointers that cannot name a claim are refused when the policy loads', async () => {
    for (const bad of ['/', '/a//b', '/a/', '/__proto__/x', '/a/constructor', '/a~2b', `/${'x/'.repeat(9)}x`]) {
      const loaded = await loadPolicy(files({ T: bad }));
      expect(loaded.ok, bad).toBe(false);
    }
  });

  it('the lint checks session tag pointers against the kubernetes vocabulary', async () => {
    const rules = async (pointer: string) => (await checkPolicy(files({ T: pointer }))).findings.map((f) => `${f.severity}:${f.rule}`);
    expect(await rules('/kubernetes.io/namespace')).not.toContain('error:unknown-claim');
    expect(await rules('/kubernetes.io/namespce')).toContain('error:unknown-claim');
  });
});
