// Token reuse by design (issuers.yaml `replay: reuse`): a kubelet hands a pod one projected token for most of
// its lifetime, so one jti is presented many times. Only the token that first presented the jti (by its
// SHA-256) may present it again; each use is audited with its count; exp, max_token_age and
// max_token_lifetime bound it as any token. Everything else keeps the CI rule: one jti, one exchange.
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../broker/src/audit/record.ts';
import { loadPolicy, type PolicyFile } from '../../../broker/src/policy/load.ts';
import { checkPolicy } from '../../../broker/src/policy/review/check.ts';
import { diffPolicies } from '../../../broker/src/policy/review/diff.ts';
import { AUDIENCE, buildTestBroker, ISSUER_URL, T0, type TestBroker } from '../../helpers/broker.ts';
import { baseClaims, sign } from '../../helpers/issuer.ts';
import { MemoryReplayGuard } from '../../helpers/memory-stores.ts';

const OTHER_URL = 'https://other-issuer.test';

function issuersYaml(ciReplay: 'reuse' | 'single_use', otherReplay: 'reuse' | 'single_use' = 'single_use'): string {
  return `issuers:
  ci:
    url: ${ISSUER_URL}
    audience: ${AUDIENCE}
    kind: kubernetes
    replay: ${ciReplay}
    max_token_age: 10m
    max_token_lifetime: 1h
  other:
    url: ${OTHER_URL}
    audience: ${AUDIENCE}
    kind: kubernetes
    replay: ${otherReplay}
`;
}

const role = (name: string, issuer: string) => `role: ${name}
issuer: ${issuer}
max_ttl: 10m
allow:
  - /kubernetes.io/namespace: payments
    /kubernetes.io/serviceaccount/name: api
grants:
  - type: secret
    name: DB_URL
`;

const files = (ciReplay: 'reuse' | 'single_use', otherReplay: 'reuse' | 'single_use' = 'single_use'): PolicyFile[] => [
  { path: 'issuers.yaml', text: issuersYaml(ciReplay, otherReplay) },
  { path: 'roles/app.yaml', text: role('app', 'ci') },
  { path: 'roles/other.yaml', text: role('other', 'other') },
];

const NOW_S = Math.floor(T0 / 1000);

function k8s(issuer: string, extra: Record<string, unknown> = {}) {
  return baseClaims(issuer, AUDIENCE, NOW_S, {
    sub: 'system:serviceaccount:payments:api',
    exp: NOW_S + 3600,
    'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'api', uid: 'u-1' } },
    ...extra,
  });
}

const records = (b: TestBroker) => b.audit.entries.map((e) => JSON.parse(e.record) as AuditRecord);
const exchange = (b: TestBroker, token: string, roleName = 'app') => b.post({ token, role: roleName });
async function codeOf(res: Response): Promise<string> {
  if (res.status === 200) return 'OK';
  return ((await res.json()) as { error: string }).error;
}

describe('replay: reuse (an issuer whose tokens are reused by design)', () => {
  it('replay: reuse lets the same token present its jti again within its lifetime, each use audited with its use count', async () => {
    const b = await buildTestBroker({ files: files('reuse') });
    const token = await sign(b.key, k8s(ISSUER_URL));
    for (let i = 0; i < 3; i++) {
      b.clock.now = T0 + i * 120_000;
      expect(await codeOf(await exchange(b, token))).toBe('OK');
    }
    expect(records(b).map((r) => [r.code, r.token_uses])).toEqual([
      ['OK', 1],
      ['OK', 2],
      ['OK', 3],
    ]);
    // Given as a Bearer header it is the same token: the same count goes on.
    const res = await b.app.request('/v1/exchange', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ role: 'app' }),
    });
    expect(res.status).toBe(200);
    expect(records(b).at(-1)?.token_uses).toBe(4);
  });

  it('replay: reuse still refuses a different token with a seen jti (ERR_TOKEN_REPLAYED), whatever differs', async () => {
    const b = await buildTestBroker({ files: files('reuse') });
    const claims = k8s(ISSUER_URL);
    const first = await sign(b.key, claims);
    expect(await codeOf(await exchange(b, first))).toBe('OK');
    const others = [
      await sign(b.key, { ...claims, iat: NOW_S - 1, exp: NOW_S + 3598 }),
      await sign(b.key, { ...claims, exp: NOW_S + 3599 }),
      await sign(b.key, { ...claims, 'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'api', uid: 'u-2' } } }),
      // The same claims in another order: another token, though it says the same.
      await sign(b.key, Object.fromEntries(Object.entries(claims).reverse())),
      await sign(b.key, { ...claims, extra: 'x' }),
    ];
    for (const other of others) {
      expect(other).not.toBe(first);
      expect(await codeOf(await exchange(b, other))).toBe('ERR_TOKEN_REPLAYED');
    }
    expect(
      records(b)
        .filter((r) => r.code === 'ERR_TOKEN_REPLAYED')
        .every((r) => r.reason === 'token.replayed' && r.token_uses === undefined),
    ).toBe(true);
    // The refusals took nothing over: the first token goes on counting.
    expect(await codeOf(await exchange(b, first))).toBe('OK');
    expect(records(b).at(-1)?.token_uses).toBe(2);
  });

  it('replay: reuse refuses the token once it is expired, however often it was used before', async () => {
    const b = await buildTestBroker({ files: files('reuse') });
    const token = await sign(b.key, k8s(ISSUER_URL, { exp: NOW_S + 300 }));
    expect(await codeOf(await exchange(b, token))).toBe('OK');
    b.clock.now = T0 + 299_000;
    expect(await codeOf(await exchange(b, token))).toBe('OK');
    b.clock.now = T0 + 400_000;
    expect(await codeOf(await exchange(b, token))).toBe('ERR_TOKEN_EXPIRED');
    expect(records(b).at(-1)?.reason).toBe('token.exp_expired');
  });

  it('replay: reuse is bounded by max_token_age: a reused token older than it is refused even before exp', async () => {
    const b = await buildTestBroker({ files: files('reuse') });
    const token = await sign(b.key, k8s(ISSUER_URL));
    expect(await codeOf(await exchange(b, token))).toBe('OK');
    b.clock.now = T0 + 9 * 60_000;
    expect(await codeOf(await exchange(b, token))).toBe('OK');
    b.clock.now = T0 + 11 * 60_000;
    expect(await codeOf(await exchange(b, token))).toBe('ERR_TOKEN_EXPIRED');
    expect(records(b).at(-1)?.reason).toBe('token.iat_expired');
  });

  it('replay: reuse is per issuer: a single_use issuer beside it still refuses a second use, and one jti is counted per issuer', async () => {
    const b = await buildTestBroker({ files: files('reuse', 'single_use') });
    const jti = crypto.randomUUID();
    const ci = await sign(b.key, k8s(ISSUER_URL, { jti }));
    const other = await sign(b.otherKey, k8s(OTHER_URL, { jti }));
    expect(await codeOf(await exchange(b, ci))).toBe('OK');
    expect(await codeOf(await exchange(b, other, 'other'))).toBe('OK');
    expect(await codeOf(await exchange(b, other, 'other'))).toBe('ERR_TOKEN_REPLAYED');
    expect(await codeOf(await exchange(b, ci))).toBe('OK');
    expect(records(b).map((r) => [r.issuer, r.code, r.token_uses])).toEqual([
      ['ci', 'OK', 1],
      ['other', 'OK', undefined],
      ['other', 'ERR_TOKEN_REPLAYED', undefined],
      ['ci', 'OK', 2],
    ]);
  });

  it('replay: single_use (the default) accepts a jti once, even for a kubernetes issuer', async () => {
    const yaml = issuersYaml('single_use').replace(/ {4}replay: single_use\n/g, '');
    expect(yaml).not.toContain('replay:');
    const b = await buildTestBroker({ files: [{ path: 'issuers.yaml', text: yaml }, ...files('single_use').slice(1)] });
    const token = await sign(b.key, k8s(ISSUER_URL));
    expect(await codeOf(await exchange(b, token))).toBe('OK');
    expect(await codeOf(await exchange(b, token))).toBe('ERR_TOKEN_REPLAYED');
    expect(records(b).map((r) => r.token_uses)).toEqual([undefined, undefined]);
  });

  it('replay: switching an issuer between reuse and single_use never grants a live jti another use by the wrong rule', async () => {
    const guard = new MemoryReplayGuard();
    const reuse = await buildTestBroker({ files: files('reuse'), replay: guard });
    const single = await buildTestBroker({ files: files('single_use'), replay: guard });
    // Claimed under reuse, then presented under single_use: refused.
    const a = await sign(reuse.key, k8s(ISSUER_URL));
    expect(await codeOf(await exchange(reuse, a))).toBe('OK');
    expect(await codeOf(await exchange(single, await sign(single.key, k8s(ISSUER_URL, { jti: decodeJti(a) }))))).toBe('ERR_TOKEN_REPLAYED');
    // Claimed single-use, then presented under reuse by the same token: refused too.
    const c = await sign(single.key, k8s(ISSUER_URL));
    expect(await codeOf(await exchange(single, c))).toBe('OK');
    const again = await sign(reuse.key, k8s(ISSUER_URL, { jti: decodeJti(c) }));
    expect(await codeOf(await exchange(reuse, again))).toBe('ERR_TOKEN_REPLAYED');
  });

  it('replay: reuse under concurrency: all uses of one token succeed with distinct counts; of different tokens with one jti exactly one wins', async () => {
    const b = await buildTestBroker({ files: files('reuse') });
    const token = await sign(b.key, k8s(ISSUER_URL));
    const codes = await Promise.all(Array.from({ length: 12 }, async () => codeOf(await exchange(b, token))));
    expect(codes.every((c) => c === 'OK')).toBe(true);
    expect(
      records(b)
        .map((r) => r.token_uses)
        .sort((x, y) => (x ?? 0) - (y ?? 0)),
    ).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));

    const jti = crypto.randomUUID();
    const rivals = await Promise.all(Array.from({ length: 8 }, (_, i) => sign(b.key, k8s(ISSUER_URL, { jti, n: i }))));
    const results = await Promise.all(rivals.map(async (t) => codeOf(await exchange(b, t))));
    expect(results.filter((c) => c === 'OK')).toHaveLength(1);
    expect(results.filter((c) => c === 'ERR_TOKEN_REPLAYED')).toHaveLength(7);
  });

  it('replay: reuse fails closed when the replay store cannot answer', async () => {
    const b = await buildTestBroker({ files: files('reuse') });
    const token = await sign(b.key, k8s(ISSUER_URL));
    expect(await codeOf(await exchange(b, token))).toBe('OK');
    b.replay.broken = true;
    expect(await codeOf(await exchange(b, token))).toBe('ERR_UNAVAILABLE');
    expect(records(b).at(-1)?.reason).toBe('replay.store_failed');
  });
});

describe('replay: reuse in review', () => {
  it('the lint warns on replay: reuse outside kind: kubernetes, and not on a kubernetes issuer', async () => {
    const rules = async (kind: string) => {
      const yaml = issuersYaml('reuse').replace('    kind: kubernetes\n    replay: reuse', `    kind: ${kind}\n    replay: reuse`);
      return (await checkPolicy([{ path: 'issuers.yaml', text: yaml }, ...files('reuse').slice(1)])).findings.map(
        (f) => `${f.severity}:${f.rule}`,
      );
    };
    expect(await rules('kubernetes')).not.toContain('warning:replay-reuse');
    for (const kind of ['github', 'gitlab', 'generic']) expect(await rules(kind)).toContain('warning:replay-reuse');
    // Without kind, a GitHub URL is github: warned as well.
    const gh = issuersYaml('reuse').replace('    kind: kubernetes\n    replay: reuse', '    replay: reuse');
    const ghFiles = [
      { path: 'issuers.yaml', text: gh.replace(ISSUER_URL, 'https://token.actions.githubusercontent.com') },
      ...files('reuse').slice(1),
    ];
    expect((await checkPolicy(ghFiles)).findings.map((f) => f.rule)).toContain('replay-reuse');
  });

  it('the policy diff shows single_use -> reuse as a widening', async () => {
    const side = async (f: PolicyFile[]) => {
      const loaded = await loadPolicy(f);
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
      return loaded.policy;
    };
    const diff = diffPolicies(await side(files('single_use')), await side(files('reuse')));
    const changes = diff.issuers.flatMap((i) => i.changes);
    expect(changes.map((c) => [c.kind, c.direction])).toContainEqual(['replay-reuse-allowed', 'widened']);
  });
});

function decodeJti(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string };
  return payload.jti;
}
