// The bindings of the workers-postgres project (vitest.config.ts).
import type { D1Database, KVNamespace } from '@cloudflare/workers-types';
import type { D1Migration } from 'cloudflare:test';

declare global {
  interface BrokerTestEnv {
    TEST_MIGRATIONS: D1Migration[];
    LEASES_DB: D1Database;
    /** The Worker handler's own D1 (the cron test), apart from LEASES_DB. */
    HANDLER_DB: D1Database;
    JWKS_CACHE: KVNamespace;
    /** Set when the cluster could not start (no PostgreSQL installed): the suite skips, saying why. */
    PG_SKIP?: string;
    PG_MANAGER_DSN: string;
    PG_SUPERUSER_URL: string;
    PG_PORT: string;
  }
}
