// The secret store as the broker and the CLI see it: named, versioned, envelope-encrypted values over any
// SecretStore port. Plain Errors with readable messages: the callers are the CLI and startup code; the
// broker's exchange maps anything thrown here to ERR_INTERNAL.
import { openSecret, rewrapRow, sealSecret } from './envelope.ts';
import type { Kek } from './envelope.ts';
import type { SecretMeta, SecretStore } from './ports.ts';
import { utf8 } from '../util/encoding.ts';

export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
export const MAX_SECRET_BYTES = 64 * 1024;
/** Concurrent writers of one name race on the next version number; the loser re-reads and retries. */
const PUT_ATTEMPTS = 5;

export interface SecretKeys {
  /** Wraps every new version. */
  current: Kek;
  /** Still accepted for reading (during a KEK rotation). */
  previous?: Kek[];
}

export interface SecretValue {
  name: string;
  version: number;
  value: string;
  created_at: number;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function checkSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new Error(
      `invalid secret name ${JSON.stringify(name.slice(0, 140))}: use letters, digits, '_', '.', '-', ` +
        `start with a letter or '_', at most 128 characters`,
    );
  }
}

export class SecretVault {
  readonly #store: SecretStore;
  #keys: SecretKeys;

  constructor(store: SecretStore, keys: SecretKeys) {
    this.#store = store;
    this.#keys = keys;
  }

  /** Every KEK that may have wrapped a stored row. */
  get #readKeys(): Kek[] {
    return [this.#keys.current, ...(this.#keys.previous ?? [])];
  }

  /** Stores a new version of `name` (1 for a new name) and returns its number. */
  async put(name: string, value: string | Uint8Array, now: number): Promise<{ name: string; version: number }> {
    checkSecretName(name);
    const bytes = typeof value === 'string' ? utf8(value) : value;
    if (bytes.length === 0) throw new Error(`secret ${name}: the value is empty`);
    if (bytes.length > MAX_SECRET_BYTES) {
      throw new Error(`secret ${name}: the value is ${bytes.length} bytes, the limit is ${MAX_SECRET_BYTES}`);
    }
    // get() returns text: refuse bytes that would not come back unchanged (binary: store it as base64).
    try {
      strictUtf8.decode(bytes);
    } catch {
      throw new Error(`secret ${name}: the value is not UTF-8 text (encode binary values as base64)`);
    }
    for (let attempt = 0; attempt < PUT_ATTEMPTS; attempt++) {
      const latest = await this.#store.get(name);
      const version = (latest?.version ?? 0) + 1;
      // Sealed per attempt: the version is bound into the ciphertext as associated data.
      const row = await sealSecret(this.#keys.current, name, version, bytes, now);
      if (await this.#store.insert(row)) return { name, version };
    }
    throw new Error(`secret ${name}: ${PUT_ATTEMPTS} concurrent writes conflicted; try again`);
  }

  /** The newest version, or the given one; null when there is no such secret or version. */
  async get(name: string, version?: number): Promise<SecretValue | null> {
    checkSecretName(name);
    if (version !== undefined && !(Number.isSafeInteger(version) && version > 0)) {
      throw new Error(`secret ${name}: version must be a positive integer`);
    }
    const row = await this.#store.get(name, version);
    if (!row) return null;
    // A store that answers with another row must not be trusted to have been asked the right question.
    if (row.name !== name || (version !== undefined && row.version !== version)) {
      throw new Error(`secret ${name}: the store returned a different row`);
    }
    const plain = await openSecret(this.#readKeys, row);
    return { name, version: row.version, value: strictUtf8.decode(plain), created_at: row.created_at };
  }

  /** Names, newest version and version count; never values. */
  list(): Promise<SecretMeta[]> {
    return this.#store.list();
  }

  /**
   * Rewraps every stored data key under `newKek` and makes it the current KEK (the old one stays readable
   * as a previous key of this vault). Rows already under `newKek` are skipped, so an interrupted rotation
   * can simply be run again. Returns the number of rows rewrapped.
   */
  async rotateKek(newKek: Kek): Promise<number> {
    const from = this.#readKeys;
    let count = 0;
    for (const row of await this.#store.all()) {
      if (row.kek_id === newKek.id) continue;
      const next = await rewrapRow(from, newKek, row);
      await this.#store.rewrap(next.name, next.version, next.kek_id, next.wrapped_key);
      count++;
    }
    const previous = this.#readKeys.filter((k) => k.id !== newKek.id);
    this.#keys = { current: newKek, previous };
    return count;
  }
}
