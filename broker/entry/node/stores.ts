// The Node stores, for the broker and the CLI alike: PostgreSQL when BROKER_DATABASE_URL (or --database) names
// one, so that several replicas share replay claims, the audit chain, secrets, keys and rate limits; otherwise
// node:sqlite in the data folder, as a single broker always had.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryRateCounter } from '../../src/ratelimit.ts';
import type { Settings } from '../../src/settings.ts';
import type {
  AuditStore,
  CheckpointStore,
  KeyStore,
  LeaseStore,
  RateCounter,
  ReplayGuard,
  RevocationStore,
  SecretStore,
} from '../../src/store/ports.ts';
import { DATABASE_FILE } from './database-file.ts';

export interface NodeStores {
  /** Where they live, for the start line: the data folder's file, or PostgreSQL (never the URL: it may hold a password). */
  kind: 'sqlite' | 'postgres';
  replay: ReplayGuard;
  audit: AuditStore;
  checkpoints: CheckpointStore;
  secrets: SecretStore;
  keys: KeyStore;
  revocations: RevocationStore;
  rateCounter: RateCounter;
  /** PostgreSQL logins handed out by `postgres` grants, until the sweeper removed them. */
  leases: LeaseStore;
  close(): Promise<void>;
}

export interface NodeStoreOptions {
  dataDir: string;
  database: Settings['database'];
  log?: (line: Record<string, unknown>) => void;
}

/** Whether stores exist already (the CLI's audit commands never create a database where there is none). */
export function nodeStoresExist(opts: NodeStoreOptions): boolean {
  return opts.database.url !== undefined || existsSync(join(opts.dataDir, DATABASE_FILE));
}

/** Opens (and migrates) the stores; the caller closes them. */
export async function openNodeStores(opts: NodeStoreOptions): Promise<NodeStores> {
  const { url, poolSize, statementTimeoutMs } = opts.database;
  // Each driver is loaded only when used: node:sqlite does not exist before Node 22.13, and the CLI's client
  // commands must still start on Node 20.
  if (url !== undefined) {
    const {
      openPostgres,
      PgAuditStore,
      PgCheckpointStore,
      PgKeyStore,
      PgLeaseStore,
      PgRateCounter,
      PgReplayGuard,
      PgRevocationStore,
      PgSecretStore,
    } = await import('./postgres.ts');
    const db = await openPostgres({ url, poolSize, statementTimeoutMs, ...(opts.log ? { log: opts.log } : {}) });
    return {
      kind: 'postgres',
      replay: new PgReplayGuard(db),
      audit: new PgAuditStore(db),
      checkpoints: new PgCheckpointStore(db),
      secrets: new PgSecretStore(db),
      keys: new PgKeyStore(db),
      revocations: new PgRevocationStore(db),
      leases: new PgLeaseStore(db),
      rateCounter: new PgRateCounter(db),
      close: () => db.end(),
    };
  }
  const {
    openDatabase,
    SqliteAuditStore,
    SqliteCheckpointStore,
    SqliteKeyStore,
    SqliteLeaseStore,
    SqliteReplayGuard,
    SqliteRevocationStore,
    SqliteSecretStore,
  } = await import('./sqlite.ts');
  const db = openDatabase(opts.dataDir);
  return {
    kind: 'sqlite',
    replay: new SqliteReplayGuard(db),
    audit: new SqliteAuditStore(db),
    checkpoints: new SqliteCheckpointStore(db),
    secrets: new SqliteSecretStore(db),
    keys: new SqliteKeyStore(db),
    revocations: new SqliteRevocationStore(db),
    leases: new SqliteLeaseStore(db),
    // One process: its memory is the only counter there is.
    rateCounter: new MemoryRateCounter(),
    close: async () => {
      if (db.isOpen) db.close();
    },
  };
}
