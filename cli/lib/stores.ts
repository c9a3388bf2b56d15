// Opens the data folder's stores for CLI commands (the same files the Node broker uses).
import { BrokerIssuer } from '../../broker/src/issuer/issuer.ts';
import type { Kek } from '../../broker/src/store/envelope.ts';
import { SecretVault } from '../../broker/src/store/secrets.ts';
import { loadKek } from '../../broker/entry/node/kek.ts';
import { openDatabase, SqliteAuditStore, SqliteKeyStore, SqliteSecretStore } from '../../broker/entry/node/sqlite.ts';
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

/** The broker's issuer over the data folder's signing keys (keys rotate/list, secret rewrap). */
export async function openIssuer(ctx: CommandContext): Promise<{ issuer: BrokerIssuer; kek: Kek; close(): void }> {
  const db = openDatabase(ctx.dataDir);
  const kek = await loadKek(ctx.env, ctx.dataDir);
  if (kek.warning) ctx.err(`WARNING: ${kek.warning}`);
  const issuer = new BrokerIssuer({
    store: new SqliteKeyStore(db),
    keks: { current: kek.kek, previous: kek.previous },
    publicUrl: ctx.env.BROKER_PUBLIC_URL ?? 'http://127.0.0.1:8787',
    now: Date.now,
    cacheMs: 0,
  });
  return { issuer, kek: kek.kek, close: () => db.close() };
}
