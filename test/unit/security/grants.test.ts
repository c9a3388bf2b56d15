// The exchange's `grants` field, adversarially: it selects a subset of the role's own grants (by type or by a
// secret grant's env name) and can never widen what the policy grants. Every entry must select something of
// this role, compared exactly; anything malformed is refused before the token is verified (and not spent).
import { beforeEach, describe, expect, it } from 'vitest';
import type { Minters } from '../../../broker/src/mint/types.ts';
import { MAX_GRANT_SELECTORS } from '../../../broker/src/policy/select-grants.ts';
import { AUDIENCE, buildTestBroker, ISSUER_URL, ISSUERS_YAML, ROLE_LOCKED, T0, type TestBroker } from '../../helpers/broker.ts';
import { baseClaims, sign } from '../../helpers/issuer.ts';

const NOW_S = T0 / 1000;
const good = { repository_id: '123', ref: 'refs/heads/main' };

const ROLE_MULTI = `role: multi
issuer: ci
max_ttl: 10m
allow:
  - repository_id: "123"
grants:
  - type: secret
    name: DB_URL
    env: DATABASE_URL
  - type: aws
    role_arn: arn:aws:iam::111122223333:role/deploy
    region: eu-west-1
  - type: secret
    name: API_KEY
`;
// Another role the same identity may use: its grants must never leak into a "multi" exchange.
const ROLE_OTHER = `role: other
issuer: ci
max_ttl: 10m
allow:
  - repository_id: "123"
grants:
  - type: secret
    name: OTHER_SECRET
    env: OTHER_ENV
  - type: gcp
    workload_identity_provider: projects/1/locations/global/workloadIdentityPools/p/providers/q
`;

let b: TestBroker;
let minted: string[];
beforeEach(async () => {
  minted = [];
  const aws: Minters = {
    aws: {
      mint: async (grant) => {
        minted.push(`aws:${grant.role_arn}`);
        return {
          ok: true,
          credential: { type: 'aws', access_key_id: 'ASIAFAKE', secret_access_key: 'fake-secret', role_arn: grant.role_arn },
          summary: { type: 'aws', target: grant.role_arn, expires_at: '2026-11-28T01:05:00Z' },
        };
      },
    },
    gcp: {
      mint: async () => {
        minted.push('gcp');
        return { ok: false, code: 'ERR_UPSTREAM', detail: 'gcp.never_called' };
      },
    },
  };
  b = await buildTestBroker({
    files: [
      { path: 'issuers.yaml', text: ISSUERS_YAML },
      { path: 'roles/multi.yaml', text: ROLE_MULTI },
      { path: 'roles/other.yaml', text: ROLE_OTHER },
      { path: 'roles/locked.yaml', text: ROLE_LOCKED },
    ],
    extraMinters: aws,
  });
  await b.vault.put('API_KEY', 'api-key-value', NOW_S);
  await b.vault.put('OTHER_SECRET', 'other-value', NOW_S);
});

const token = () => sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, good));
const exchange = async (grants: unknown, role = 'multi', tok?: string) => {
  const res = await b.post({ token: tok ?? (await token()), role, grants });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const types = (body: Record<string, unknown>) =>
  (body.credentials as { type: string; env?: string }[]).map((c) => (c.type === 'secret' ? `secret:${c.env}` : c.type));
const allMints = () => [...b.mintCalls, ...minted];

describe('grants can only narrow', () => {
  it('grants can only narrow: the broker mints exactly the selected grants of the role, in the role order', async () => {
    const cases: [string[], string[]][] = [
      [['aws'], ['aws']],
      [['DATABASE_URL'], ['secret:DATABASE_URL']],
      [
        ['API_KEY', 'aws'],
        ['aws', 'secret:API_KEY'],
      ],
      [['secret'], ['secret:DATABASE_URL', 'secret:API_KEY']],
      // Overlapping entries select a grant once.
      [
        ['secret', 'DATABASE_URL', 'API_KEY'],
        ['secret:DATABASE_URL', 'secret:API_KEY'],
      ],
      [
        ['aws', 'secret'],
        ['secret:DATABASE_URL', 'aws', 'secret:API_KEY'],
      ],
    ];
    for (const [grants, expected] of cases) {
      b.mintCalls.length = 0;
      minted.length = 0;
      const res = await exchange(grants);
      expect(res.status, JSON.stringify(grants)).toBe(200);
      expect(types(res.body)).toEqual(expected);
      expect(allMints()).toHaveLength(expected.length);
    }
  });

  it('without grants, every grant of the role is minted, as before', async () => {
    const res = await b.post({ token: await token(), role: 'multi' });
    expect(res.status).toBe(200);
    expect(types((await res.json()) as Record<string, unknown>)).toEqual(['secret:DATABASE_URL', 'aws', 'secret:API_KEY']);
  });

  it('grants can never widen: an entry that selects nothing of this role is refused with ERR_REQUEST_INVALID and nothing is minted', async () => {
    const cases: string[][] = [
      // A type the role lacks.
      ['gcp'],
      ['github'],
      ['azure'],
      // Grants of another role the same identity may use: its env name, its store name, its type.
      ['OTHER_ENV'],
      ['OTHER_SECRET'],
      // The store name of a grant whose env name differs: env names only.
      ['DB_URL'],
      // Exact comparison: no case folding.
      ['AWS'],
      ['Secret'],
      ['database_url'],
      ['Database_Url'],
      ['api_key'],
      // Prototype and object keys are plain strings here.
      ['__proto__'],
      ['constructor'],
      ['toString'],
      ['hasOwnProperty'],
      // One good entry does not carry a bad one.
      ['aws', 'gcp'],
      ['DATABASE_URL', 'OTHER_ENV'],
    ];
    for (const grants of cases) {
      const res = await exchange(grants);
      expect(res.status, JSON.stringify(grants)).toBe(400);
      expect(res.body.error).toBe('ERR_REQUEST_INVALID');
      expect(res.body).not.toHaveProperty('credentials');
      expect(b.audit.records().at(-1)).toMatchObject({ decision: 'deny', code: 'ERR_REQUEST_INVALID', requested_grants: grants });
      expect(b.audit.records().at(-1)?.reason).toMatch(/^request\.grants_unmatched:/);
    }
    expect(allMints()).toEqual([]);
  });

  it('a malformed grants field is refused before the token is verified, so the token is not spent', async () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `G${i}`);
    const cases: unknown[] = [
      null,
      'aws',
      'aws,secret',
      1,
      true,
      {},
      { 0: 'aws', length: 1 },
      [],
      many(MAX_GRANT_SELECTORS + 1),
      many(1000),
      Array(1000).fill('aws'),
      [1],
      [null],
      [true],
      [['aws']],
      [{}],
      [{ type: 'aws' }],
      ['aws', 'aws'],
      ['DATABASE_URL', 'DATABASE_URL'],
      [''],
      [' aws'],
      ['aws '],
      ['aws\n'],
      ['aws\u0000'],
      ['a=b'],
      ['*'],
      ['secret:*'],
      ['.*'],
      ['1aws'],
      ['\u0430ws'], // Cyrillic a
      ['ａｗｓ'], // full width
      ['x'.repeat(129)],
    ];
    const tok = await token();
    for (const grants of cases) {
      const res = await exchange(grants, 'multi', tok);
      expect(res.status, JSON.stringify(grants)?.slice(0, 80)).toBe(400);
      expect(res.body.error).toBe('ERR_REQUEST_INVALID');
      expect(b.audit.records().at(-1)?.reason).toMatch(/^request\.grants_/);
      expect(b.audit.records().at(-1)?.jti).toBeNull();
    }
    expect(allMints()).toEqual([]);
    // The same token still works: nothing above claimed its jti.
    expect((await exchange(['aws'], 'multi', tok)).status).toBe(200);
  });

  it('grants are looked at only after the policy allows: a denied identity gets the same 403 whatever it selects', async () => {
    for (const grants of [['DATABASE_URL'], ['gcp'], ['nothing-here']]) {
      const res = await exchange(grants, 'locked');
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('ERR_ACCESS_DENIED');
    }
    expect((await exchange(['aws'], 'nope')).status).toBe(403);
    expect(allMints()).toEqual([]);
  });

  it('a __proto__ key in the body or in grants changes nothing', async () => {
    const tok = await token();
    const raw = (body: string) => b.app.request('/v1/exchange', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    for (const body of [
      `{"token":"${tok}","role":"multi","grants":{"__proto__":["aws"]}}`,
      `{"token":"${tok}","role":"multi","__proto__":{"grants":["aws"]}}`,
      `{"token":"${tok}","role":"multi","grants":["aws"],"grants":"x"}`,
    ]) {
      const res = await raw(body);
      expect(res.status, body).toBe(400);
    }
    expect(allMints()).toEqual([]);
  });

  it('revoke takes no grants field', async () => {
    const res = await b.app.request('/v1/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: await token(), request_id: '01JAAAAAAAAAAAAAAAAAAAAAA1', grants: ['aws'] }),
    });
    expect(res.status).toBe(400);
  });
});
