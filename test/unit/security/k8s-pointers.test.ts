// JSON Pointer conditions (RFC 6901) into nested claims, as a Kubernetes service-account token carries them.
// Same rules as a top-level claim: a missing step never matches, exact values, no normalisation, own
// properties only (no prototype walk); arrays by canonical index only. Keys that cannot name a claim are
// refused when the policy loads.
import { describe, expect, it } from 'vitest';
import { identityOf } from '../../../broker/src/audit/record.ts';
import { compilePolicy, type CompiledRole } from '../../../broker/src/policy/compile.ts';
import { loadPolicy, type PolicyFile } from '../../../broker/src/policy/load.ts';
import { decide, traceDecision } from '../../../broker/src/policy/match.ts';
import { checkPolicy } from '../../../broker/src/policy/review/check.ts';
import { conditionSetSchema } from '../../../broker/src/policy/schema.ts';

const ISSUERS = `issuers:
  cluster:
    url: https://kubernetes.default.svc
    audience: https://broker.example.com
    kind: kubernetes
`;

function files(allow: string): PolicyFile[] {
  return [
    { path: 'issuers.yaml', text: ISSUERS },
    { path: 'roles/r.yaml', text: `role: r\nissuer: cluster\nmax_ttl: 15m\nallow:\n${allow}grants:\n  - type: secret\n    name: S\n` },
  ];
}

async function roleOf(allow: string): Promise<CompiledRole> {
  const loaded = await loadPolicy(files(allow));
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const role = compilePolicy(loaded.policy).roles.get('r');
  if (!role) throw new Error('no role');
  return role;
}

const K8S_ALLOW = `  - /kubernetes.io/namespace: payments
    /kubernetes.io/serviceaccount/name: api
`;

function k8sClaims(ns = 'payments', sa = 'api', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify({
      sub: `system:serviceaccount:${ns}:${sa}`,
      'kubernetes.io': { namespace: ns, serviceaccount: { name: sa, uid: 'u-1' }, pod: { name: 'p', uid: 'pu' } },
      ...extra,
    }),
  ) as Record<string, unknown>;
}

describe('a condition key starting with "/" is a JSON Pointer into the claims', () => {
  it('allows the right namespace and service account, denies another namespace, a missing nested claim or a uid mismatch', async () => {
    const role = await roleOf(`${K8S_ALLOW}    /kubernetes.io/serviceaccount/uid: u-1\n`);
    expect(decide(k8sClaims(), role).effect).toBe('allow');
    expect(decide(k8sClaims('other'), role).effect).toBe('deny');
    const noSa = k8sClaims();
    delete (noSa['kubernetes.io'] as Record<string, unknown>).serviceaccount;
    expect(decide(noSa, role).effect).toBe('deny');
    const wrongUid = k8sClaims();
    ((wrongUid['kubernetes.io'] as Record<string, unknown>).serviceaccount as Record<string, unknown>).uid = 'u-2';
    expect(decide(wrongUid, role).effect).toBe('deny');
  });

  it('a pointer matches exactly, without normalisation: case, whitespace and a flattened top-level key do not match', async () => {
    const role = await roleOf(K8S_ALLOW);
    expect(decide(k8sClaims('Payments'), role).effect).toBe('deny');
    expect(decide(k8sClaims('payments '), role).effect).toBe('deny');
    // a top-level claim literally named "kubernetes.io/namespace" is not the nested one
    expect(decide({ 'kubernetes.io/namespace': 'payments', 'kubernetes.io/serviceaccount/name': 'api' }, role).effect).toBe('deny');
    // a non-string where a string is expected
    expect(
      decide(k8sClaims(undefined, undefined, { 'kubernetes.io': { namespace: ['payments'], serviceaccount: { name: 'api' } } }), role)
        .effect,
    ).toBe('deny');
  });

  it('a pointer reads own properties only: nothing is reached through the prototype chain', async () => {
    const role = await roleOf('  - /kubernetes.io/namespace/length: "8"\n');
    // a string's length, an object's toString: never a claim
    expect(decide(k8sClaims(), role).effect).toBe('deny');
    const proto = await roleOf('  - /kubernetes.io/toString: x\n');
    expect(decide(k8sClaims(), proto).effect).toBe('deny');
    const inherited = Object.create({ namespace: 'payments' }) as Record<string, unknown>;
    const role2 = await roleOf('  - /kubernetes.io/namespace: payments\n');
    expect(decide({ 'kubernetes.io': inherited }, role2).effect).toBe('deny');
    // JSON.parse makes "__proto__" an own property; it is still only reachable by a key the schema refuses
    const poisoned = JSON.parse('{"kubernetes.io": {"__proto__": {"namespace": "payments"}}}') as Record<string, unknown>;
    expect(decide(poisoned, role2).effect).toBe('deny');
  });

  it('arrays are entered by canonical index only: not "length", not "-", not a leading zero', async () => {
    const claims = { groups: ['admins', 'devs'] };
    expect(decide(claims, await roleOf('  - /groups/0: admins\n')).effect).toBe('allow');
    expect(decide(claims, await roleOf('  - /groups/1: devs\n')).effect).toBe('allow');
    expect(decide(claims, await roleOf('  - /groups/01: devs\n')).effect).toBe('deny');
    expect(decide(claims, await roleOf('  - /groups/2: devs\n')).effect).toBe('deny');
    expect(decide(claims, await roleOf('  - /groups/length: "2"\n')).effect).toBe('deny');
    expect(decide(claims, await roleOf('  - {/groups/length: {equals: 2}}\n')).effect).toBe('deny');
    // a numeric token into an object is a key name, as RFC 6901 says
    expect(decide({ m: { '0': 'zero' } }, await roleOf('  - /m/0: zero\n')).effect).toBe('allow');
  });

  it('escapes: ~1 is "/" and ~0 is "~", decoded in that order', async () => {
    expect(decide({ 'a/b': { 'c~d': 'v' } }, await roleOf('  - /a~1b/c~0d: v\n')).effect).toBe('allow');
    // ~01 means "~1" literally, not "/"
    expect(decide({ '~1': 'v' }, await roleOf('  - /~01: v\n')).effect).toBe('allow');
    expect(decide({ '/': 'v' }, await roleOf('  - /~01: v\n')).effect).toBe('deny');
  });

  it('a pointer that cannot name a claim is refused when the policy loads', () => {
    const refused = [
      '/__proto__',
      '/kubernetes.io/__proto__/x',
      '/constructor',
      '/a/constructor/prototype',
      '/a/prototype',
      '/a~2b',
      '/a~',
      '/kubernetes.io/',
      '/',
      '//a',
      '/a//b',
      `/${'a/'.repeat(8)}a`,
      `/${'x'.repeat(129)}`,
      '/a b',
      '/a\u0000b',
    ];
    for (const key of refused) {
      expect(conditionSetSchema.safeParse({ [key]: 'v' }).success, key).toBe(false);
    }
    expect(conditionSetSchema.safeParse({ '/kubernetes.io/serviceaccount/name': 'api' }).success).toBe(true);
    expect(conditionSetSchema.safeParse({ [`/${'a/'.repeat(7)}a`]: 'v' }).success).toBe(true);
  });

  it('the trace shows the nested value a pointer read, or null when a step is missing', async () => {
    const role = await roleOf(K8S_ALLOW);
    const trace = traceDecision(k8sClaims('other'), role);
    expect(trace).toContainEqual(expect.objectContaining({ claim: '/kubernetes.io/namespace', actual: '"other"', result: false }));
    const missing = traceDecision({}, role);
    expect(missing.every((t) => t.actual === null && !t.result)).toBe(true);
  });

  it('the audit identity records the nested Kubernetes claims under their pointers', () => {
    const identity = identityOf(k8sClaims());
    expect(identity['/kubernetes.io/namespace']).toBe('payments');
    expect(identity['/kubernetes.io/serviceaccount/name']).toBe('api');
    expect(identity['/kubernetes.io/serviceaccount/uid']).toBe('u-1');
    const inherited = Object.create({ namespace: 'x' }) as Record<string, unknown>;
    expect(identityOf({ 'kubernetes.io': inherited })['/kubernetes.io/namespace']).toBeUndefined();
  });
});

describe('the lint knows the Kubernetes vocabulary and its binding rule', () => {
  it('a misspelt Kubernetes pointer is an unknown-claim error with a did-you-mean', async () => {
    const report = await checkPolicy(files('  - /kubernetes.io/namespce: payments\n    /kubernetes.io/serviceaccount/name: api\n'));
    const finding = report.findings.find((f) => f.rule === 'unknown-claim');
    expect(finding?.message).toContain('/kubernetes.io/namespace');
  });

  it('a Kubernetes allow set binds the namespace and the service account name exactly', async () => {
    const rulesOf = async (allow: string) => (await checkPolicy(files(allow))).findings.map((f) => f.rule);
    expect(await rulesOf(K8S_ALLOW)).not.toContain('workload-binding');
    expect(await rulesOf('  - /kubernetes.io/namespace: payments\n')).toContain('workload-binding');
    expect(await rulesOf('  - /kubernetes.io/serviceaccount/name: api\n')).toContain('workload-binding');
    expect(await rulesOf('  - /kubernetes.io/namespace: {glob: "pay*"}\n    /kubernetes.io/serviceaccount/name: api\n')).toContain(
      'workload-binding',
    );
    // sub names both (system:serviceaccount:NS:NAME) when exact
    expect(await rulesOf('  - sub: system:serviceaccount:payments:api\n')).not.toContain('workload-binding');
    // no GitHub rule speaks about repositories for a cluster
    expect(await rulesOf(K8S_ALLOW)).not.toContain('repository-binding');
  });
});
