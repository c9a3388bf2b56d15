// The `workers` project: the real Worker (wrangler.toml: D1, KV, the replay Durable Object) inside workerd,
// driven through SELF.fetch. Everything the Worker needs from outside is made here, on the Node side, when
// the config loads:
// - a test OIDC issuer: an RS256 key pair; the private JWK goes to the tests as a binding (they sign tokens
//   with it), and the Worker's outbound fetches are answered by `outboundService` below, which serves the
//   issuer's discovery document and JWKS for http://127.0.0.1:9999 and refuses everything else, so no real
//   network is ever used;
// - the policy set: test/workers/fixtures/policies, checked and rendered by the same generator that
//   wrangler's build runs, and served to the Worker in place of broker/entry/policy-bundle.gen.ts (the
//   production bundle of ./policies) by a resolver plugin;
// - a fresh BROKER_KEK, and the D1 migrations (applied by setup.ts before each test file).
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vitest/config';
import { hashPolicyFiles } from '../../broker/src/policy/load.ts';
import { generateKekBase64 } from '../../broker/src/store/envelope.ts';
import { generateIssuerKey, issuerDocuments, type IssuerKey } from '../../cli/lib/test-issuer.ts';
import { readCheckedPolicies, renderPolicyBundle } from '../../scripts/bundle-policies.ts';
import { startMintFakes } from '../fakes/mint-outbound.ts';

const path = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/** Must equal the issuer url in fixtures/policies/issuers.yaml. */
const ISSUER_URL = 'http://127.0.0.1:9999';

/** Answers the Worker's outbound fetches: the test issuer's two documents, and nothing else. */
function issuerService(key: IssuerKey) {
  const documents = issuerDocuments(ISSUER_URL, key);
  return (request: Request): Response => {
    const body = request.method === 'GET' ? documents[request.url] : undefined;
    if (body === undefined) return Response.json({ error: `no network in tests: ${request.method} ${request.url}` }, { status: 502 });
    return Response.json(body);
  };
}

/** Points the Worker entry's `./policy-bundle.gen.ts` import at the fixture bundle (a virtual module). */
function testPolicyBundle(moduleText: string): Plugin {
  const id = '\0test-policy-bundle.js';
  return {
    name: 'secret-broker:test-policy-bundle',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source === './policy-bundle.gen.ts' && importer?.replaceAll('\\', '/').endsWith('/broker/entry/worker.ts')) return id;
      return undefined;
    },
    load(loadId) {
      return loadId === id ? moduleText : undefined;
    },
  };
}

export default defineConfig(async () => {
  const issuerKey = await generateIssuerKey();
  const policyFiles = await readCheckedPolicies(path('./fixtures/policies'));
  const migrations = await readD1Migrations(path('../../migrations'));
  // The cloud and secret-store fakes that the Worker's outbound fetches reach (see test/fakes/mint-outbound.ts).
  const mintFakes = await startMintFakes();
  const issuerOutbound = issuerService(issuerKey);
  return {
    plugins: [
      testPolicyBundle(renderPolicyBundle(policyFiles, 'test/workers/fixtures/policies')),
      cloudflareTest({
        wrangler: { configPath: path('../../wrangler.toml') },
        miniflare: {
          bindings: {
            BROKER_KEK: generateKekBase64(),
            TEST_ISSUER_URL: ISSUER_URL,
            TEST_ISSUER_JWK: JSON.stringify(issuerKey.privateJwk),
            TEST_POLICY_HASH: await hashPolicyFiles(policyFiles),
            TEST_MIGRATIONS: migrations,
            ...mintFakes.bindings,
          },
          // Empty databases for the store tests and the port contract suites, so that the exchange tests own
          // DB's audit chain.
          d1Databases: { SCRATCH_DB: 'scratch', CONTRACT_DB: 'contract' },
          outboundService: (request: Request) => mintFakes.outbound(request) ?? issuerOutbound(request),
        },
      }),
    ],
    test: {
      name: 'workers',
      include: ['**/*.test.ts'],
      setupFiles: ['./setup.ts'],
      testTimeout: 30_000,
    },
  };
});
