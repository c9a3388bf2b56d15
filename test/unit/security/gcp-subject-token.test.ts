// The gcp grant's `hand_out: subject_token` (the broker token for the workload identity provider, which the
// caller's google-auth-library exchanges itself): the minter talks to no Google endpoint, the token is
// bound to the provider's audience and the role, an access boundary cannot be combined with it (the caller
// would do the exchange and could leave it out), the lint warns, and the clients mask it, export no variable,
// and write Google's executable response only from such a credential.
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { ExecutableResponse } from 'google-auth-library/build/src/auth/executable-response.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcpMinter } from '../../../broker/src/mint/gcp.ts';
import { roleSchema } from '../../../broker/src/policy/schema.ts';
import { loadPolicy } from '../../../broker/src/policy/load.ts';
import { checkPolicy } from '../../../broker/src/policy/review/check.ts';
import { diffPolicies } from '../../../broker/src/policy/review/diff.ts';
import { isoSeconds } from '../../../broker/src/util/duration.ts';
import { parseExchangeResponse, type Credential } from '../../../client/credentials.ts';
import { envVarsFor } from '../../../client/env.ts';
import { valuesToMask } from '../../../client/mask.ts';
import { formatGcpExecutable, gcpSubjectCredential } from '../../../cli/lib/client-formats.ts';
import { grantOf, mintContext } from '../../fakes/mint-context.ts';
import { serveBrokerIssuer, type ServedIssuer } from '../../helpers/broker-issuer.ts';

const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/ci/providers/secret-broker';
const SA = 'deployer@acme-prod.iam.gserviceaccount.com';
const BOUNDARY = [
  { available_resource: '//storage.googleapis.com/projects/_/buckets/b', available_permissions: ['inRole:roles/storage.objectViewer'] },
];
const clock = { now: Date.UTC(2026, 10, 28, 1, 0, 0) };
const NOW = clock.now / 1000;

let issuer: ServedIssuer;
beforeAll(async () => {
  issuer = await serveBrokerIssuer(clock);
});
afterAll(async () => {
  await issuer.close();
});

/** A fetch that fails the test: subject_token mode must not call Google (nor anything else). */
const calls: string[] = [];
const noFetch = async (input: Request | string | URL): Promise<Response> => {
  calls.push(String(input instanceof Request ? input.url : input));
  throw new Error(`unexpected fetch ${String(input)}`);
};

async function mint(fields: Record<string, unknown>, maxTtl = '1h') {
  const grant = grantOf('gcp', { workload_identity_provider: PROVIDER, ...fields });
  // The context's role is compiled without the boundary: a role with both would not parse (see below).
  const { access_boundary: _, ...roleGrant } = grant;
  const ctx = mintContext({ grant: roleGrant as typeof grant, now: NOW, maxTtl });
  return createGcpMinter({ fetch: noFetch, issuer: issuer.issuer, timeoutMs: 1000, secrets: { get: async () => null } }).mint(grant, ctx);
}

describe('hand_out: subject_token in the minter', () => {
  it('a subject_token gcp grant makes no upstream call and hands out a broker token bound to the provider audience and the role, for at most five minutes', async () => {
    calls.length = 0;
    for (const fields of [{ hand_out: 'subject_token', service_account: SA }, { hand_out: 'subject_token' }]) {
      const result = await mint(fields);
      expect(result.ok, JSON.stringify(result)).toBe(true);
      if (!result.ok) return;
      const c = result.credential as Record<string, unknown>;
      expect(Object.keys(c).sort()).toEqual([
        'audience',
        'expires_at',
        'project_id',
        'service_account',
        'subject_token',
        'subject_token_type',
        'type',
      ]);
      expect(c).toMatchObject({
        type: 'gcp',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        audience: `//iam.googleapis.com/${PROVIDER}`,
        service_account: 'service_account' in fields ? SA : null,
      });
      expect(c.access_token).toBeUndefined();
      const token = c.subject_token as string;
      // Signed by the broker's key, as the provider would verify it.
      const kid = decodeProtectedHeader(token).kid;
      const jwk = (await issuer.issuer.jwks()).keys.find((k) => k.kid === kid);
      const { payload } = await jwtVerify(token, await importJWK(jwk!, jwk!.alg), {
        issuer: issuer.url,
        audience: `https://iam.googleapis.com/${PROVIDER}`,
        currentDate: new Date(clock.now),
      });
      expect(payload.sub).toBe('role:deploy-web-prod');
      expect(payload.repository_id).toBe('123456');
      expect((payload.exp ?? 0) - NOW).toBeLessThanOrEqual(300);
      expect(c.expires_at).toBe(isoSeconds(payload.exp ?? 0));
      expect(result.summary.target).toMatch(/^subject_token:/);
    }
    // A role with max_ttl below five minutes bounds the token too.
    const short = await mint({ hand_out: 'subject_token' }, '2m');
    if (!short.ok) throw new Error('not minted');
    expect((decodeJwt(short.credential.subject_token as string).exp ?? 0) - NOW).toBeLessThanOrEqual(120);
    expect(calls).toEqual([]);
  });

  it('the default (and hand_out: access_token) still exchanges at Google: the new field changes nothing for existing grants', async () => {
    calls.length = 0;
    for (const fields of [{}, { hand_out: 'access_token' }]) {
      const result = await mint({ ...fields, sts_url: 'http://127.0.0.1:9/v1/token' });
      expect(result.ok).toBe(false);
    }
    expect(calls).toEqual(['http://127.0.0.1:9/v1/token', 'http://127.0.0.1:9/v1/token']);
  });
});

const roleWith = (grant: Record<string, unknown>) => ({
  role: 'deploy-web-prod',
  issuer: 'github',
  max_ttl: '1h',
  allow: [{ repository_id: '123456' }],
  grants: [{ type: 'gcp', workload_identity_provider: PROVIDER, ...grant }],
});

describe('access_boundary with hand_out: subject_token', () => {
  it('access_boundary cannot be combined with hand_out: subject_token: the schema refuses the role (so the broker never loads it), the lint reports it, and the minter refuses it', async () => {
    for (const grant of [
      { hand_out: 'subject_token', access_boundary: BOUNDARY },
      { hand_out: 'subject_token', access_boundary: BOUNDARY, service_account: SA },
      // An empty boundary is a boundary the caller could equally drop: refused as well.
      { hand_out: 'subject_token', access_boundary: [] },
    ]) {
      const parsed = roleSchema.safeParse(roleWith(grant));
      expect(parsed.success).toBe(false);
      expect(JSON.stringify(parsed.error?.issues)).toMatch(/access_boundary cannot be enforced with hand_out: subject_token/);
    }
    for (const grant of [
      { access_boundary: BOUNDARY },
      { hand_out: 'access_token', access_boundary: BOUNDARY },
      { hand_out: 'subject_token' },
    ]) {
      expect(roleSchema.safeParse(roleWith(grant)).success).toBe(true);
    }
    const report = await checkPolicy([
      {
        path: 'issuers.yaml',
        text: 'issuers:\n  github:\n    url: https://token.actions.githubusercontent.com\n    audience: https://broker.example.com\n',
      },
      {
        path: 'roles/r.yaml',
        text: `role: r\nissuer: github\nmax_ttl: 1h\nallow:\n  - repository_id: "1"\n    repository_owner_id: "2"\ngrants:\n  - type: gcp\n    workload_identity_provider: ${PROVIDER}\n    hand_out: subject_token\n    access_boundary:\n      - available_resource: //storage.googleapis.com/projects/_/buckets/b\n        available_permissions: [inRole:roles/storage.objectViewer]\n`,
      },
    ]);
    const errors = report.findings.filter((f) => f.severity === 'error' && f.rule === 'schema');
    expect(errors.map((f) => f.message).join('\n')).toMatch(/access_boundary cannot be enforced with hand_out: subject_token/);
    // A grant that reaches the minter without the role schema (grantSchema alone) is refused there, with no call.
    calls.length = 0;
    const result = await mint({ hand_out: 'subject_token', access_boundary: BOUNDARY });
    expect(result).toMatchObject({ ok: false, code: 'ERR_UPSTREAM', detail: 'gcp.subject_token_with_access_boundary' });
    expect(calls).toEqual([]);
  });

  it('the lint warns that a subject token is as powerful as the federation it opens (gcp-subject-token), also naming a lifetime it cannot apply', async () => {
    const files = (extra: string) => [
      {
        path: 'issuers.yaml',
        text: 'issuers:\n  github:\n    url: https://token.actions.githubusercontent.com\n    audience: https://broker.example.com\n',
      },
      {
        path: 'roles/r.yaml',
        text: `role: r\nissuer: github\nmax_ttl: 1h\nallow:\n  - repository_id: "1"\n    repository_owner_id: "2"\ngrants:\n  - type: gcp\n    workload_identity_provider: ${PROVIDER}\n${extra}`,
      },
    ];
    const warned = (await checkPolicy(files('    hand_out: subject_token\n    lifetime: 10m\n'))).findings.filter(
      (f) => f.rule === 'gcp-subject-token',
    );
    expect(warned).toHaveLength(1);
    expect(warned[0]?.severity).toBe('warning');
    expect(warned[0]?.message).toMatch(/whatever the federation grants role:r, and lifetime is not applied/);
    for (const extra of ['', '    hand_out: access_token\n'])
      expect((await checkPolicy(files(extra))).findings.map((f) => f.rule)).not.toContain('gcp-subject-token');
  });
});

describe('hand_out in the policy diff', () => {
  it('the policy diff shows hand_out: access_token -> subject_token as a high-risk widening, and back as a narrowing', async () => {
    const side = async (extra: string) => {
      const loaded = await loadPolicy([
        {
          path: 'issuers.yaml',
          text: 'issuers:\n  github:\n    url: https://token.actions.githubusercontent.com\n    audience: https://broker.example.com\n',
        },
        {
          path: 'roles/r.yaml',
          text: `role: r\nissuer: github\nmax_ttl: 1h\nallow:\n  - repository_id: "1"\ngrants:\n  - type: gcp\n    workload_identity_provider: ${PROVIDER}\n${extra}`,
        },
      ]);
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
      return loaded.policy;
    };
    const changes = (a: string, b: string) => async () =>
      diffPolicies(await side(a), await side(b)).roles.flatMap((r) => r.changes.map((c) => [c.kind, c.direction, c.risk]));
    expect(await changes('', '    hand_out: subject_token\n')()).toContainEqual(['subject-token-handed-out', 'widened', 'high']);
    expect(await changes('    hand_out: subject_token\n', '')()).toContainEqual(['access-token-handed-out', 'narrowed', 'low']);
    // Spelling out the default is no change.
    expect(await changes('', '    hand_out: access_token\n')()).toEqual([]);
  });
});

const subjectCredential = {
  type: 'gcp',
  subject_token: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJyb2xlOmQifQ.c2ln',
  subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  audience: `//iam.googleapis.com/${PROVIDER}`,
  expires_at: '2026-11-28T01:05:00Z',
  service_account: SA,
  project_id: 'acme-prod',
};
const body = (credentials: unknown[]) => ({ request_id: 'r1', role: 'deploy', expires_at: '2026-11-28T01:05:00Z', credentials });

describe('a gcp subject token in the clients', () => {
  it('the clients mask a gcp subject token, export it as no variable, and accept exactly one of access_token and subject_token', () => {
    const parsed = parseExchangeResponse(body([subjectCredential]));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(valuesToMask(body([subjectCredential]))).toContain(subjectCredential.subject_token);
    expect(valuesToMask(body([subjectCredential]))).not.toContain(subjectCredential.audience);
    expect(envVarsFor(parsed.response.credentials)).toEqual({ ok: true, vars: [] });
    for (const [bad, why] of [
      [{ ...subjectCredential, access_token: 'ya29.x' }, /both present/],
      [{ type: 'gcp', expires_at: 'x' }, /"access_token" is missing/],
      [{ ...subjectCredential, audience: undefined }, /"audience" is missing/],
      [{ ...subjectCredential, subject_token_type: 7 }, /"subject_token_type" is not a string/],
      [{ ...subjectCredential, subject_token: 42 }, /"subject_token" is not a string/],
    ] as const) {
      const r = parseExchangeResponse(body([bad]));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(why);
    }
  });

  it('the gcp-executable answer is written only from exactly one gcp subject token, and google-auth-library reads it back', () => {
    const access: Credential = { type: 'gcp', access_token: 'ya29.secret', expires_at: '2026-11-28T01:05:00Z' };
    const subject = subjectCredential as Credential;
    expect(gcpSubjectCredential([access])).toMatchObject({ ok: false, problem: expect.stringMatching(/hand_out: subject_token/) });
    expect(gcpSubjectCredential([subject, subject])).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/select one with --grants/),
    });
    expect(gcpSubjectCredential([])).toMatchObject({ ok: false, problem: expect.stringMatching(/no gcp credential/) });
    expect(
      gcpSubjectCredential([subject], '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/x/providers/y'),
    ).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE/),
    });
    expect(gcpSubjectCredential([access, subject])).toMatchObject({ ok: false, problem: expect.stringMatching(/2 gcp credentials/) });
    const other: Credential = { type: 'secret', name: 'A', env: 'A', value: 'v' };
    const one = gcpSubjectCredential([other, subject], subjectCredential.audience);
    if (!one.ok) throw new Error(one.problem);
    const text = formatGcpExecutable(one.credential);
    expect(text.endsWith('\n')).toBe(true);
    const response = new ExecutableResponse(JSON.parse(text));
    expect(response.success).toBe(true);
    expect(response.version).toBe(1);
    expect(response.subjectToken).toBe(subjectCredential.subject_token);
    expect(response.tokenType).toBe('urn:ietf:params:oauth:token-type:jwt');
    expect(response.expirationTime).toBe(Date.parse(subjectCredential.expires_at) / 1000);
  });
});
