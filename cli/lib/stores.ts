// Opens the data folder's stores for CLI commands (the same files the Node broker uses).
import { DEFAULT_PUBLIC_URL } from '../../broker/src/settings.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerIssuer } from '../../broker/src/issuer/issuer.ts';
import type { Kek } from '../../broker/src/store/envelope.ts';
import { SecretVault } from '../../broker/src/store/secrets.ts';
import { DEV_KEK_FILE, loadKek } from '../../broker/entry/node/kek.ts';
import { openDatabase, SqliteKeyStore, SqliteSecretStore } from '../../broker/entry/node/sqlite.ts';
import type { CommandContext } from '../context.ts';

export async function openVault(ctx: CommandContext): Promise<{ vault: SecretVault; close(): void }> {
  const db = openDatabase(ctx.dataDir);
  const kek = await loadKek(ctx.env, ctx.dataDir);
  if (kek.warning) ctx.err(`WARNING: ${kek.warning}`);
  return { vault: new SecretVault(new SqliteSecretStore(db), { current: kek.kek, previous: kek.previous }), close: () => db.close() };
}

export interface OpenedIssuer {
  issuer: BrokerIssuer;
  kek: Kek;
  /** Closes the database opened here (none when the caller passed its own key store). */
  close(): void;
}

export interface OpenIssuerOptions {
  /** The key store of a database the caller has open (and closes); otherwise the data folder's is opened. */
  keys?: SqliteKeyStore;
  /**
   * Only an existing KEK (BROKER_KEK or the development KEK file): without one, null, and no development KEK
   * is created, since no stored key would open under a fresh one (audit: no store key is trusted then).
   */
  existingKek?: boolean;
}

/** The broker's issuer over the data folder's signing keys (keys rotate/list, secret rewrap, audit). */
export async function openIssuer(ctx: CommandContext, opts?: OpenIssuerOptions & { existingKek?: false }): Promise<OpenedIssuer>;
export async function openIssuer(ctx: CommandContext, opts: OpenIssuerOptions): Promise<OpenedIssuer | null>;
export async function openIssuer(ctx: CommandContext, opts: OpenIssuerOptions = {}): Promise<OpenedIssuer | null> {
  if (opts.existingKek && ctx.env.BROKER_KEK === undefined && !existsSync(join(ctx.dataDir, DEV_KEK_FILE))) return null;
  let store = opts.keys;
  let close = () => {};
  if (!store) {
    const db = openDatabase(ctx.dataDir);
    store = new SqliteKeyStore(db);
    close = () => db.close();
  }
  const kek = await loadKek(ctx.env, ctx.dataDir);
  if (kek.warning) ctx.err(`WARNING: ${kek.warning}`);
  const issuer = new BrokerIssuer({
    store,
    keks: { current: kek.kek, previous: kek.previous },
    publicUrl: ctx.env.BROKER_PUBLIC_URL ?? DEFAULT_PUBLIC_URL,
    now: Date.now,
    cacheMs: 0,
  });
  return { issuer, kek: kek.kek, close };
}
