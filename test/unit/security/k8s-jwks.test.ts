// Issuers without reachable discovery (private clusters) give their keys in the policy: `jwks:` inline or
// `jwks_file: jwks/NAME.json`. Public signing keys only, within the issuer's pinned algorithms; nothing is
// fetched for such an issuer; the file is part of the policy set (hash, reload, Worker bundle).
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { readPolicyDir } from '../../../broker/entry/node/policy-files.ts';
import { loadPolicy, type PolicyFile } from '../../../broker/src/policy/load.ts';
import { AUDIENCE, buildTestBroker, T0 } from '../../helpers/broker.ts';
import { baseClaims, makeKey, sign, type TestKey } from '../../helpers/issuer.ts';

const URL_K8S = 'https://kubernetes.default.svc';

function issuersYaml(keys: string, algorithms = '[RS256]'): string {
  return `issuers:
  cluster:
    url: ${URL_K8S}
    audience: ${AUDIENCE}
    kind: kubernetes
    algorithms: ${algorithms}
${keys}`;
}

const ROLE = `role: pods
issuer: cluster
max_ttl: 10m
allow:
  - /kubernetes.io/namespace: payments
    /kubernetes.io/serviceaccount/name: api
grants:
  - type: secret
    name: DB_URL
`;

function inline(jwk: object): string {
  return `    jwks:\n      keys:\n        - ${JSON.stringify(jwk)}\n`;
}

function k8sClaims(nowS: number, ns = 'payments'): Record<string, unknown> {
  return {
    ...baseClaims(URL_K8S, AUDIENCE, nowS),
    sub: `system:serviceaccount:${ns}:api`,
    'kubernetes.io': { namespace: ns, serviceaccount: { name: 'api', uid: 'u-1' } },
  };
}

async function problemsOf(files: PolicyFile[]): Promise<string[]> {
  const loaded = await loadPolicy(files);
  return loaded.ok ? [] : loaded.problems.map((p) => `${p.file}:${p.line}: ${p.message}`);
}

describe('an issuer with inline jwks or jwks_file verifies tokens against those keys, without discovery', () => {
  it('a Kubernetes-shaped token signed by an inline key is allowed for the right workload, denied for another namespace; nothing is fetched', async () => {
    const key = await makeKey('k8s-1');
    const files = [
      { path: 'issuers.yaml', text: issuersYaml(inline(key.publicJwk)) },
      { path: 'roles/pods.yaml', text: ROLE },
    ];
    const b = await buildTestBroker({ files });
    const ok = await b.post({ token: await sign(key, k8sClaims(T0 / 1000) as never), role: 'pods' });
    expect(ok.status).toBe(200);
    const other = await b.post({ token: await sign(key, k8sClaims(T0 / 1000, 'other') as never), role: 'pods' });
    expect(other.status).toBe(403);
    expect(b.fetchCalls).toEqual([]);
    const record = b.audit.records().at(0);
    expect(record?.identity['/kubernetes.io/namespace']).toBe('payments');
  });

  it('a token signed by another key with the same kid, or with an unknown kid, is refused', async () => {
    const key = await makeKey('k8s-1');
    const impostor = await makeKey('k8s-1');
    const stranger: TestKey = { ...(await makeKey('k8s-2')) };
    const b = await buildTestBroker({
      files: [
        { path: 'issuers.yaml', text: issuersYaml(inline(key.publicJwk)) },
        { path: 'roles/pods.yaml', text: ROLE },
      ],
    });
    for (const k of [impostor, stranger]) {
      const res = await b.post({ token: await sign(k, k8sClaims(T0 / 1000) as never), role: 'pods' });
      expect(res.status).toBe(401);
    }
    expect(b.fetchCalls).toEqual([]);
  });

  it('a jwks_file is read from jwks/ in the policy directory, is covered by the policy hash, and a changed file is read anew', async () => {
    const key = await makeKey('k8s-1');
    const dir = mkdtempSync(join(tmpdir(), 'k8s-jwks-'));
    mkdirSync(join(dir, 'roles'));
    mkdirSync(join(dir, 'jwks'));
    writeFileSync(join(dir, 'issuers.yaml'), issuersYaml('    jwks_file: jwks/cluster.json\n'));
    writeFileSync(join(dir, 'roles/pods.yaml'), ROLE);
    writeFileSync(join(dir, 'jwks/cluster.json'), JSON.stringify({ keys: [key.publicJwk] }));
    const first = await loadPolicy(readPolicyDir(dir));
    expect(first.ok && first.policy.issuers.get('cluster')?.jwks?.keys[0]?.kid).toBe('k8s-1');
    const rotated = await makeKey('k8s-2');
    writeFileSync(join(dir, 'jwks/cluster.json'), JSON.stringify({ keys: [rotated.publicJwk] }));
    const second = await loadPolicy(readPolicyDir(dir));
    expect(second.ok && second.policy.issuers.get('cluster')?.jwks?.keys[0]?.kid).toBe('k8s-2');
    expect(first.ok && second.ok && first.policy.hash !== second.policy.hash).toBe(true);

    const b = await buildTestBroker({ files: readPolicyDir(dir) });
    expect((await b.post({ token: await sign(rotated, k8sClaims(T0 / 1000) as never), role: 'pods' })).status).toBe(200);
    expect((await b.post({ token: await sign(key, k8sClaims(T0 / 1000) as never), role: 'pods' })).status).toBe(401);
  });
});

describe('an inline or file key set holds public signing keys only, within the pinned algorithms', () => {
  it('a JWK with private key material (d, p, q, dp, dq, qi, oth) or a symmetric key (k, kty oct) is refused', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const priv = { ...(await exportJWK(privateKey)), kid: 'x' };
    expect((await problemsOf([{ path: 'issuers.yaml', text: issuersYaml(inline(priv)) }])).join()).toMatch(/private key material/);
    const { publicJwk } = await makeKey('x');
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth']) {
      const problems = await problemsOf([{ path: 'issuers.yaml', text: issuersYaml(inline({ ...publicJwk, [member]: 'AQAB' })) }]);
      expect(problems.length, member).toBeGreaterThan(0);
    }
    expect(
      (await problemsOf([{ path: 'issuers.yaml', text: issuersYaml(inline({ kty: 'oct', kid: 'h', k: 'c2VjcmV0' })) }])).length,
    ).toBeGreaterThan(0);
    expect(
      (await problemsOf([{ path: 'issuers.yaml', text: issuersYaml(inline({ ...publicJwk, kty: 'RSA', k: 'c2VjcmV0' })) }])).length,
    ).toBeGreaterThan(0);
    // the same rules for a jwks_file
    const viaFile = await problemsOf([
      { path: 'issuers.yaml', text: issuersYaml('    jwks_file: jwks/c.json\n') },
      { path: 'jwks/c.json', text: JSON.stringify({ keys: [priv] }) },
    ]);
    expect(viaFile.join()).toMatch(/issuers\.yaml:\d+: jwks_file: jwks\/c\.json: keys\.0\.d: private key material/);
  });

  it('a key whose alg is outside the issuer algorithms, an encryption key, or a key without kid is refused', async () => {
    const { publicJwk } = await makeKey('x');
    const cases = [
      { ...publicJwk, alg: 'RS512' },
      { ...publicJwk, alg: 'HS256' },
      { ...publicJwk, alg: 'none' },
      { ...publicJwk, use: 'enc' },
      { ...publicJwk, kid: undefined },
      { ...publicJwk, kid: '' },
    ];
    for (const jwk of cases) {
      expect(
        (await problemsOf([{ path: 'issuers.yaml', text: issuersYaml(inline(JSON.parse(JSON.stringify(jwk)) as object)) }])).length,
        JSON.stringify(jwk),
      ).toBeGreaterThan(0);
    }
    // alg RS512 is fine once the issuer pins it
    expect(
      await problemsOf([{ path: 'issuers.yaml', text: issuersYaml(inline({ ...publicJwk, alg: 'RS512' }), '[RS256, RS512]') }]),
    ).toEqual([]);
  });

  it('a token signed with an algorithm the issuer does not pin is refused even though its key is listed', async () => {
    const es = await makeKey('es-1', 'ES256');
    const b = await buildTestBroker({
      files: [
        { path: 'issuers.yaml', text: issuersYaml(inline({ ...es.publicJwk, alg: undefined })) },
        { path: 'roles/pods.yaml', text: ROLE },
      ],
    });
    expect((await b.post({ token: await sign(es, k8sClaims(T0 / 1000) as never), role: 'pods' })).status).toBe(401);
  });

  it('jwks and jwks_file together, a jwks_file outside jwks/, a missing file, duplicate kids, or a non-JSON file are refused', async () => {
    const { publicJwk } = await makeKey('x');
    const refused: PolicyFile[][] = [
      [
        { path: 'issuers.yaml', text: issuersYaml(`${inline(publicJwk)}    jwks_file: jwks/c.json\n`) },
        { path: 'jwks/c.json', text: JSON.stringify({ keys: [publicJwk] }) },
      ],
      [{ path: 'issuers.yaml', text: issuersYaml('    jwks_file: ../c.json\n') }],
      [{ path: 'issuers.yaml', text: issuersYaml('    jwks_file: jwks/../issuers.yaml\n') }],
      [{ path: 'issuers.yaml', text: issuersYaml('    jwks_file: /etc/passwd\n') }],
      [{ path: 'issuers.yaml', text: issuersYaml('    jwks_file: jwks/missing.json\n') }],
      [
        { path: 'issuers.yaml', text: issuersYaml('    jwks_file: jwks/c.json\n') },
        { path: 'jwks/c.json', text: '{keys: [' },
      ],
      [
        { path: 'issuers.yaml', text: issuersYaml('    jwks_file: jwks/c.json\n') },
        { path: 'jwks/c.json', text: JSON.stringify({ keys: [publicJwk, publicJwk] }) },
      ],
      [
        { path: 'issuers.yaml', text: issuersYaml('    jwks_file: jwks/c.json\n') },
        { path: 'jwks/c.json', text: JSON.stringify({ keys: [] }) },
      ],
    ];
    for (const files of refused) expect((await problemsOf(files)).length, JSON.stringify(files[0]?.text)).toBeGreaterThan(0);
  });
});
