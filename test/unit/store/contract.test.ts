// The port contract suites (test/contract/ports.ts) against the in-memory adapters, node:sqlite and
// PostgreSQL (a throwaway cluster, test/helpers/postgres.ts); the same suites run against D1 and the Durable
// Objects in test/workers/contract.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll } from 'vitest';
import {
  openPostgres,
  PgAuditStore,
  PgCheckpointStore,
  PgKeyStore,
  PgLeaseStore,
  PgRateCounter,
  PgReplayGuard,
  PgRevocationStore,
  PgSecretStore,
  type PostgresDatabase,
} from '../../../broker/entry/node/postgres.ts';
import {
  openDatabase,
  SqliteAuditStore,
  SqliteCheckpointStore,
  SqliteKeyStore,
  SqliteLeaseStore,
  SqliteReplayGuard,
  SqliteRevocationStore,
  SqliteSecretStore,
} from '../../../broker/entry/node/sqlite.ts';
import { MemoryRateCounter } from '../../../broker/src/ratelimit.ts';
import {
  auditStoreContract,
  checkpointStoreContract,
  keyStoreContract,
  leaseStoreContract,
  rateCounterContract,
  replayGuardContract,
  revocationStoreContract,
  secretStoreContract,
} from '../../contract/ports.ts';
import {
  MemoryAuditStore,
  MemoryCheckpointStore,
  MemoryKeyStore,
  MemoryLeaseStore,
  MemoryReplayGuard,
  MemoryRevocationStore,
  MemorySecretStore,
} from '../../helpers/memory-stores.ts';
import { skipWithoutPostgres, startPostgres, type PostgresCluster } from '../../helpers/postgres.ts';

const root = mkdtempSync(join(tmpdir(), 'broker-contract-'));
const databases: DatabaseSync[] = [];
afterAll(() => {
  for (const db of databases) if (db.isOpen) db.close();
  rmSync(root, { recursive: true, force: true });
});

/** A fresh, empty node:sqlite database in its own data folder. */
function sqlite(): DatabaseSync {
  const db = openDatabase(mkdtempSync(join(root, 'db-')));
  databases.push(db);
  return db;
}

const withPostgres = !skipWithoutPostgres('port contracts on PostgreSQL');
let cluster: PostgresCluster | undefined;
const pools: PostgresDatabase[] = [];
if (withPostgres) {
  beforeAll(async () => {
    cluster = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    cluster?.stop();
  });
}

/** A fresh, empty, migrated PostgreSQL database of its own. */
async function pg(): Promise<PostgresDatabase> {
  const db = await openPostgres({ url: await cluster!.createDatabase(), poolSize: 4, statementTimeoutMs: 5000 });
  pools.push(db);
  return db;
}

replayGuardContract('memory', () => new MemoryReplayGuard());
replayGuardContract('node:sqlite', () => new SqliteReplayGuard(sqlite()));

auditStoreContract('memory', () => new MemoryAuditStore());
auditStoreContract('node:sqlite', () => new SqliteAuditStore(sqlite()));

checkpointStoreContract('memory', () => {
  const audit = new MemoryAuditStore();
  return { audit, checkpoints: new MemoryCheckpointStore(audit) };
});
checkpointStoreContract('node:sqlite', () => {
  const db = sqlite();
  return { audit: new SqliteAuditStore(db), checkpoints: new SqliteCheckpointStore(db) };
});

rateCounterContract('memory', () => new MemoryRateCounter());

secretStoreContract('memory', () => new MemorySecretStore());
secretStoreContract('node:sqlite', () => new SqliteSecretStore(sqlite()));

keyStoreContract('memory', () => new MemoryKeyStore());
keyStoreContract('node:sqlite', () => new SqliteKeyStore(sqlite()));

revocationStoreContract('memory', () => new MemoryRevocationStore());
revocationStoreContract('node:sqlite', () => new SqliteRevocationStore(sqlite()));

leaseStoreContract('memory', () => new MemoryLeaseStore());
leaseStoreContract('node:sqlite', () => new SqliteLeaseStore(sqlite()));

if (withPostgres) {
  replayGuardContract('postgres', async () => new PgReplayGuard(await pg()));
  auditStoreContract('postgres', async () => new PgAuditStore(await pg()));
  checkpointStoreContract('postgres', async () => {
    const db = await pg();
    return { audit: new PgAuditStore(db), checkpoints: new PgCheckpointStore(db) };
  });
  rateCounterContract('postgres', async () => new PgRateCounter(await pg()));
  secretStoreContract('postgres', async () => new PgSecretStore(await pg()));
  keyStoreContract('postgres', async () => new PgKeyStore(await pg()));
  revocationStoreContract('postgres', async () => new PgRevocationStore(await pg()));
  leaseStoreContract('postgres', async () => new PgLeaseStore(await pg()));
}
