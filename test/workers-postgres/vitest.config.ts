// The `workers-postgres` project: the postgres grant's code (minter, remover, sweeper, D1LeaseStore) inside
// workerd, through postgres.js's Workers build (cloudflare:sockets), against a throwaway PostgreSQL cluster
// that this config starts on the Node side (test/helpers/postgres.ts) on loopback. A project of its own
// because postgres.js on Workers needs nodejs_compat (node:buffer, node:events, node:stream), which the
// broker's own Worker (wrangler.toml, the `workers` project) does without.
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { defineConfig } from 'vitest/config';
import { generateIssuerKey, issuerDocuments } from '../../cli/lib/test-issuer.ts';
import { postgresAvailable, prepareGrantDatabase, skipWithoutPostgres, startPostgres } from '../helpers/postgres.ts';

const path = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/** The cluster, its manager role and group (helpers/postgres.ts prepareGrantDatabase); null without PostgreSQL. */
async function cluster(): Promise<Record<string, string> | null> {
  // In CI a missing server fails the run (never a silent skip).
  if (skipWithoutPostgres('workers-postgres')) return null;
  const pg = await startPostgres();
  const appUrl = await pg.createDatabase('app');
  const admin = postgres(appUrl, { max: 1, onnotice: () => {} });
  let managerDsn: string;
  try {
    managerDsn = await prepareGrantDatabase(admin, pg.port);
  } finally {
    await admin.end();
  }
  return {
    PG_MANAGER_DSN: managerDsn,
    PG_SUPERUSER_URL: appUrl,
    PG_PORT: String(pg.port),
  };
}

/** The test issuer's URL (issuers.yaml in the test); its two documents are answered by outboundService. */
const ISSUER_URL = 'http://127.0.0.1:9999';

export default defineConfig(async () => {
  const pg = await cluster();
  const issuerKey = await generateIssuerKey();
  const documents = issuerDocuments(ISSUER_URL, issuerKey);
  return {
    plugins: [
      cloudflareTest({
        // Only for the replay Durable Object the exchange test's handler uses.
        main: path('./worker.ts'),
        miniflare: {
          compatibilityDate: '2026-08-01',
          compatibilityFlags: ['nodejs_compat'],
          bindings: {
            TEST_MIGRATIONS: await readD1Migrations(path('../../migrations')),
            TEST_ISSUER_URL: ISSUER_URL,
            TEST_ISSUER_JWK: JSON.stringify(issuerKey.privateJwk),
            ...(pg ?? { PG_SKIP: postgresAvailable() ?? 'no PostgreSQL' }),
          },
          d1Databases: { LEASES_DB: 'leases', HANDLER_DB: 'handler', EXCHANGE_DB: 'exchange' },
          kvNamespaces: ['JWKS_CACHE'],
          durableObjects: { REPLAY: { className: 'ReplayGuardObject', useSQLite: true } },
          // The issuer's documents; nothing else (TCP to PostgreSQL goes through connect(), not fetch).
          outboundService: (request: Request) => {
            const body = request.method === 'GET' ? documents[request.url] : undefined;
            return body === undefined
              ? Response.json({ error: `no network in tests: ${request.method} ${request.url}` }, { status: 502 })
              : Response.json(body);
          },
        },
      }),
    ],
    test: {
      name: 'workers-postgres',
      include: ['**/*.test.ts'],
      setupFiles: ['./setup.ts'],
      testTimeout: 30_000,
    },
  };
});
