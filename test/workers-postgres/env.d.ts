// The bindings of the workers-postgres project (vitest.config.ts).
import type { D1Database, DurableObjectNamespace, KVNamespace } from '@cloudflare/workers-types';
import type { ReplayGuardObject } from '../../broker/entry/workers/replay.ts';
import type { D1Migration } from 'cloudflare:test';

declare global {
  interface BrokerTestEnv {
    TEST_MIGRATIONS: D1Migration[];
    LEASES_DB: D1Database;
    /** The Worker handler's own D1 (the cron test), apart from LEASES_DB. */
    HANDLER_DB: D1Database;
    JWKS_CACHE: KVNamespace;
    /** The exchange test's handler D1. */
    EXCHANGE_DB: D1Database;
    REPLAY: DurableObjectNamespace<ReplayGuardObject>;
    TEST_ISSUER_URL: string;
    TEST_ISSUER_JWK: string;
    /** Set when the cluster could not start (no PostgreSQL installed): the suite skips, saying why. */
    PG_SKIP?: string;
    PG_MANAGER_DSN: string;
    PG_SUPERUSER_URL: string;
    PG_PORT: string;
  }
}
