// Where the Node broker and the CLI get the key-encryption key: BROKER_KEK in production; otherwise a
// development KEK generated once into the data folder, with a warning, so that `npm start` works on a fresh
// machine. BROKER_KEK_PREVIOUS keeps old KEKs readable while `secret rewrap` rewraps the store.
import { randomUUID } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { splitList } from '../../src/settings.ts';
import { generateKekBase64 } from '../../src/store/envelope.ts';
import { importNamedKek, importPreviousKeks } from '../../src/store/keks.ts';
import type { Kek } from '../../src/store/envelope.ts';

export const DEV_KEK_FILE = 'dev-kek';

export interface LoadedKek {
  kek: Kek;
  /** Old KEKs from BROKER_KEK_PREVIOUS, still accepted for reading; never the current one. */
  previous: Kek[];
  source: 'env' | 'generated' | 'file';
  warning?: string;
}

export async function loadKek(env: Record<string, string | undefined>, dataDir: string): Promise<LoadedKek> {
  const previous = await importPreviousKeks(splitList(env.BROKER_KEK_PREVIOUS));
  const configured = env.BROKER_KEK;
  if (configured !== undefined) {
    // Set but empty is a deployment mistake (a missing secret), not a request for the development KEK.
    if (configured.trim() === '') {
      throw new Error('BROKER_KEK is set but empty: set it to 32 random bytes in base64, or unset it for development');
    }
    const kek = await importNamedKek(configured, 'BROKER_KEK');
    return { kek, previous: previous.filter((k) => k.id !== kek.id), source: 'env' };
  }

  const path = join(dataDir, DEV_KEK_FILE);
  const created = createDevKek(dataDir, path);
  const kek = await importNamedKek(readFileSync(path, 'utf8'), `the development KEK ${path}`);
  let warning =
    `using a development KEK from ${path}: anyone who can read the data folder can decrypt the stored ` +
    `secrets. Production must set BROKER_KEK (32 random bytes in base64: openssl rand -base64 32).`;
  if ((statSync(path).mode & 0o077) !== 0) warning += ` ${path} is readable by other users: chmod 600 it.`;
  return { kek, previous: previous.filter((k) => k.id !== kek.id), source: created ? 'generated' : 'file', warning };
}

/**
 * Creates the development KEK file unless it exists; returns whether this call created it. The key is
 * written to a temporary file and hard-linked into place, so two processes starting together agree on one
 * key and neither ever reads a half-written file.
 */
function createDevKek(dataDir: string, path: string): boolean {
  if (existsSync(path)) return false;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const temp = join(dataDir, `.${DEV_KEK_FILE}.${randomUUID()}`);
  writeFileSync(temp, `${generateKekBase64()}\n`, { mode: 0o600, flag: 'wx', flush: true });
  try {
    linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temp);
  }
}
