// Runs inside workerd before each test file: the D1 schema from migrations/ (the leases table is 0006).
import { applyD1Migrations, env } from 'cloudflare:test';

await applyD1Migrations(env.LEASES_DB, env.TEST_MIGRATIONS);
await applyD1Migrations(env.HANDLER_DB, env.TEST_MIGRATIONS);
await applyD1Migrations(env.EXCHANGE_DB, env.TEST_MIGRATIONS);
