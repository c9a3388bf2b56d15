// Opens the broker's stores for CLI commands: the data folder's SQLite file, or the PostgreSQL database of
// --database / BROKER_DATABASE_URL (the same stores the Node broker uses).
import { DEFAULT_PUBLIC_URL, parseSettings, type Settings } from '../../broker/src/settings.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerIssuer } from '../../broker/src/issuer/issuer.ts';
import type { Kek } from '../../broker/src/store/envelope.ts';
import { SecretVault } from '../../broker/src/store/secrets.ts';
import { DEV_KEK_FILE, loadKek } from '../../broker/entry/node/kek.ts';
import { openNodeStores, type NodeStores } from '../../broker/entry/node/stores.ts';
import type { KeyStore } from '../../broker/src/store/ports.ts';
import type { CommandContext } from '../context.ts';

/** Where the command's stores are. A command scans more than a request reads: at least a minute per query. */
export function databaseOf(ctx: CommandContext): Settings['database'] {
  const parsed = parseSettings({ ...ctx.env, BROKER_DATABASE_URL: ctx.databaseUrl });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  const { database } = parsed.settings;
  return { url: database.url, poolSize: 2, statementTimeoutMs: Math.max(database.statementTimeoutMs, 60_000) };
}

export function openStores(ctx: CommandContext): Promise<NodeStores> {
  return openNodeStores({ dataDir: ctx.dataDir, database: databaseOf(ctx) });
}

export async function openVault(ctx: CommandContext): Promise<{ vault: SecretVault; close(): Promise<void> }> {
  const stores = await openStores(ctx);
  try {
    const kek = await loadKek(ctx.env, ctx.dataDir);
    if (kek.warning) ctx.err(`WARNING: ${kek.warning}`);
    return { vault: new SecretVault(stores.secrets, { current: kek.kek, previous: kek.previous }), close: () => stores.close() };
  } catch (error) {
    await stores.close();
    throw error;
  }
}

export interface OpenedIssuer {
  issuer: BrokerIssuer;
  kek: Kek;
  /** Closes the database opened here (none when the caller passed its own key store). */
  close(): Promise<void>;
}

export interface OpenIssuerOptions {
  /** The key store of a database the caller has open (and closes); otherwise the data folder's is opened. */
  keys?: KeyStore;
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
  let close = async () => {};
  if (!store) {
    const stores = await openStores(ctx);
    store = stores.keys;
    close = () => stores.close();
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
