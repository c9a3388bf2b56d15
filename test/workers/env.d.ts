// The bindings the workers tests see: the Worker's own (wrangler.toml) plus what vitest.config.ts adds.
import type { D1Database } from '@cloudflare/workers-types';
import type { D1Migration } from 'cloudflare:test';
import type { WorkerEnv } from '../../broker/entry/workers/handler.ts';

declare global {
  interface BrokerTestEnv extends WorkerEnv {
    BROKER_KEK: string;
    TEST_ISSUER_URL: string;
    TEST_ISSUER_JWK: string;
    TEST_POLICY_HASH: string;
    TEST_MIGRATIONS: D1Migration[];
    SCRATCH_DB: D1Database;
    CONTRACT_DB: D1Database;
  }
}
