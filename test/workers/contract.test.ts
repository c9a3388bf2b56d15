// The port contract suites (test/contract/ports.ts) against the Workers adapters on their real bindings:
// D1 (CONTRACT_DB, emptied before each suite's store is made; the leases table from migrations/0006, shared
// with node:sqlite) and the replay Durable Objects. The same suites
// run against memory and node:sqlite in test/unit/store/contract.test.ts.
import { env } from 'cloudflare:test';
import { D1AuditStore, D1CheckpointStore, D1LeaseStore, D1SecretStore } from '../../broker/entry/workers/d1.ts';
import { D1KeyStore, D1RevocationStore } from '../../broker/entry/workers/d1-issuer.ts';
import { DoRateCounter, DoReplayGuard } from '../../broker/entry/workers/replay.ts';
import {
  auditStoreContract,
  checkpointStoreContract,
  keyStoreContract,
  leaseStoreContract,
  rateCounterContract,
  replayGuardContract,
  revocationStoreContract,
  secretStoreContract,
} from '../contract/ports.ts';

/** Deletes every row of every table the migrations made, so each suite's store starts empty. */
async function emptyDatabase(): Promise<typeof env.CONTRACT_DB> {
  const db = env.CONTRACT_DB;
  const { results } = await db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations'",
    )
    .all<{ name: string }>();
  if (results.length > 0) await db.batch(results.map((t) => db.prepare(`DELETE FROM "${t.name}"`)));
  return db;
}

replayGuardContract('Durable Object', () => new DoReplayGuard(env.REPLAY));
auditStoreContract('D1', async () => new D1AuditStore(await emptyDatabase()));
checkpointStoreContract('D1', async () => {
  const db = await emptyDatabase();
  return { audit: new D1AuditStore(db), checkpoints: new D1CheckpointStore(db) };
});
rateCounterContract('Durable Object', () => new DoRateCounter(env.REPLAY));
secretStoreContract('D1', async () => new D1SecretStore(await emptyDatabase()));
keyStoreContract('D1', async () => new D1KeyStore(await emptyDatabase()));
revocationStoreContract('D1', async () => new D1RevocationStore(await emptyDatabase()));
leaseStoreContract('D1', async () => new D1LeaseStore(await emptyDatabase()));
