// Opens the data folder's stores for CLI commands (the same files the Node broker uses).
import { SecretVault } from '../../broker/src/store/secrets.ts';
import { loadKek } from '../../broker/entry/node/kek.ts';
import { openDatabase, SqliteAuditStore, SqliteSecretStore } from '../../broker/entry/node/sqlite.ts';
import type { CommandContext } from '../context.ts';

export function openAuditStore(ctx: CommandContext): { store: SqliteAuditStore; close(): void } {
  const db = openDatabase(ctx.dataDir);
  return { store: new SqliteAuditStore(db), close: () => db.close() };
}

export async function openVault(ctx: CommandContext): Promise<{ vault: SecretVault; close(): void }> {
  const db = openDatabase(ctx.dataDir);
  const kek = await loadKek(ctx.env, ctx.dataDir);
  if (kek.warning) ctx.err(`WARNING: ${kek.warning}`);
  return { vault: new SecretVault(new SqliteSecretStore(db), { current: kek.kek, previous: kek.previous }), close: () => db.close() };
}
