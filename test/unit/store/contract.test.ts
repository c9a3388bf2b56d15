// The port contract suites (test/contract/ports.ts) against the in-memory adapters and node:sqlite; the
// same suites run against D1 and the Durable Objects in test/workers/contract.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterAll } from 'vitest';
import {
  openDatabase,
  SqliteAuditStore,
  SqliteCheckpointStore,
  SqliteKeyStore,
  SqliteReplayGuard,
  SqliteRevocationStore,
  SqliteSecretStore,
} from '../../../broker/entry/node/sqlite.ts';
import { MemoryRateCounter } from '../../../broker/src/ratelimit.ts';
import {
  auditStoreContract,
  checkpointStoreContract,
  keyStoreContract,
  rateCounterContract,
  replayGuardContract,
  revocationStoreContract,
  secretStoreContract,
} from '../../contract/ports.ts';
import {
  MemoryAuditStore,
  MemoryCheckpointStore,
  MemoryKeyStore,
  MemoryReplayGuard,
  MemoryRevocationStore,
  MemorySecretStore,
} from '../../helpers/memory-stores.ts';

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
