// Runs inside workerd before each test file: brings every D1 database to the schema in migrations/
// (applyD1Migrations records what it applied, so repeating it is harmless).
import { applyD1Migrations, env } from 'cloudflare:test';

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await applyD1Migrations(env.SCRATCH_DB, env.TEST_MIGRATIONS);
await applyD1Migrations(env.CONTRACT_DB, env.TEST_MIGRATIONS);
