// The secret store as the broker and the CLI see it: named, versioned, envelope-encrypted values over any
// SecretStore port. Plain Errors with readable messages: the callers are the CLI and startup code; the
// secret minter (mint/secret.ts) maps SecretTamperedError to ERR_UPSTREAM and anything else to ERR_UNAVAILABLE.
import { isCountedRow, openSecret, rewrapRow, sealHead, sealSecret, verifyHead } from './envelope.ts';
import type { Kek } from './envelope.ts';
import type { SecretHead, SecretMeta, SecretRow, SecretStore } from './ports.ts';
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

/**
 * The store does not hold what the broker wrote: a newest version is gone, a head is missing, forged, moved
 * or replayed. Nothing of the named secrets is served until the database is restored.
 */
export class SecretTamperedError extends Error {
  readonly names: string[];

  constructor(problems: { name: string; problem: string }[]) {
    super(
      `the secret store was tampered with: ${problems.map((p) => `${p.name}: ${p.problem}`).join('; ')}. ` +
        'Nothing is served for these secrets; restore the database from a backup',
    );
    this.name = 'SecretTamperedError';
    this.names = problems.map((p) => p.name);
  }
}

export function checkSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new Error(
      `invalid secret name ${JSON.stringify(name.slice(0, 140))}: use letters, digits, '_', '.', '-', ` +
        `start with a letter or '_', at most 128 characters`,
    );
  }
}

/** A secret whose newest version is older than its max_age (rotation overdue). */
export interface OverdueSecret {
  name: string;
  version: number;
  max_age: number;
  /** Seconds since the newest version was stored. */
  age: number;
}

/** The secrets past their rotation policy at `now` (epoch seconds), by name. */
export function overdueSecrets(metas: readonly SecretMeta[], now: number): OverdueSecret[] {
  return metas
    .filter((m) => m.max_age !== undefined && now - m.created_at > m.max_age)
    .map((m) => ({ name: m.name, version: m.version, max_age: m.max_age!, age: now - m.created_at }));
}

/** Opened versions kept at most (SecretVault.get). */
const OPENED_MAX = 256;

/** Every field of the row and the head a value was opened from, and the version asked for. */
function openedKey(version: number | undefined, row: SecretRow, head: SecretHead): string {
  return [
    version ?? '',
    row.name,
    row.version,
    row.kek_id,
    row.wrapped_key,
    row.iv,
    row.ciphertext,
    row.created_at,
    row.max_age ?? '',
    head.name,
    head.version,
    head.kek_id,
    head.seal,
  ].join('\u0000');
}

export class SecretVault {
  readonly #store: SecretStore;
  #keys: SecretKeys;
  /**
   * Values by the exact row and head they were opened from, so that serving a version again costs a string
   * comparison instead of the head's MAC, the unwrap and the decryption: three WebCrypto calls, each a
   * thread-pool round trip on Node, on every exchange. Any change to the row or the head in the store misses
   * and is checked in full; a KEK change empties it. A value stays in memory no longer than the process.
   */
  #opened = new Map<string, SecretValue>();

  constructor(store: SecretStore, keys: SecretKeys) {
    this.#store = store;
    this.#keys = keys;
  }

  /** Every KEK that may have wrapped a stored row. */
  get #readKeys(): Kek[] {
    return [this.#keys.current, ...(this.#keys.previous ?? [])];
  }

  /**
   * Stores a new version of `name` (1 for a new name) and returns its number. `maxAge` (seconds) is the
   * rotation policy: absent, the new version keeps the previous version's; null removes it.
   */
  async put(
    name: string,
    value: string | Uint8Array,
    now: number,
    opts: { maxAge?: number | null } = {},
  ): Promise<{ name: string; version: number; max_age?: number }> {
    checkSecretName(name);
    if (opts.maxAge != null && !(Number.isSafeInteger(opts.maxAge) && opts.maxAge > 0)) {
      throw new Error(`secret ${name}: max_age must be a positive number of seconds`);
    }
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
      const { row: latest, head } = await this.#store.read(name);
      // Past the head too: the number of a version that went missing is never given to another value.
      const version = Math.max(latest?.version ?? 0, head?.version ?? 0) + 1;
      // Sealed per attempt: the version is bound into the ciphertext as associated data.
      const row = await sealSecret(this.#keys.current, name, version, bytes, now, { counted: true });
      const maxAge = opts.maxAge === undefined ? latest?.max_age : (opts.maxAge ?? undefined);
      if (maxAge !== undefined) row.max_age = maxAge;
      if (await this.#store.insert(row, await sealHead(this.#keys.current, name, version)))
        return { name, version, ...(maxAge === undefined ? {} : { max_age: maxAge }) };
    }
    throw new Error(`secret ${name}: ${PUT_ATTEMPTS} concurrent writes conflicted; try again`);
  }

  /** The newest version, or the given one; null when there is no such secret or version. */
  async get(name: string, version?: number): Promise<SecretValue | null> {
    checkSecretName(name);
    if (version !== undefined && !(Number.isSafeInteger(version) && version > 0)) {
      throw new Error(`secret ${name}: version must be a positive integer`);
    }
    const { row, head } = await this.#store.read(name, version);
    // A store that answers with another row must not be trusted to have been asked the right question.
    if (row && (row.name !== name || (version !== undefined && row.version !== version))) {
      throw new Error(`secret ${name}: the store returned a different row`);
    }
    // Only with a head: without one the check reads the newest row as well, which the key does not cover.
    const memo = row && head ? openedKey(version, row, head) : undefined;
    const known = memo === undefined ? undefined : this.#opened.get(memo);
    if (memo !== undefined && known) {
      this.#opened.delete(memo);
      this.#opened.set(memo, known);
      return { ...known };
    }
    const problem = await this.#checkHead(name, version, row, head);
    if (problem) throw new SecretTamperedError([{ name, problem }]);
    if (!row) return null;
    const plain = await openSecret(this.#readKeys, row);
    const value = { name, version: row.version, value: strictUtf8.decode(plain), created_at: row.created_at };
    if (memo !== undefined) {
      this.#opened.set(memo, value);
      if (this.#opened.size > OPENED_MAX) this.#opened.delete(this.#opened.keys().next().value!);
    }
    return { ...value };
  }

  /**
   * What is wrong with serving `row` (the newest version, or `version`) given the name's head, or null.
   * Older versions stay readable by number (the grace period of a rotation) while the head holds.
   */
  async #checkHead(name: string, version: number | undefined, row: SecretRow | null, head: SecretHead | null): Promise<string | null> {
    if (head) {
      if (head.name !== name || !(await verifyHead(this.#readKeys, head))) return 'its version counter does not verify';
      if (row && row.version > head.version) return `version ${row.version} is newer than its sealed counter (${head.version})`;
      if (version === undefined && (row?.version ?? 0) < head.version) return `its newest version ${head.version} is missing`;
      return null;
    }
    // No head: only a secret stored before counters existed may lack one, and its newest row says so.
    const newest = version === undefined ? row : await this.#store.get(name);
    if (newest && newest.name === name && (await isCountedRow(this.#readKeys, newest))) return 'its version counter is missing';
    return null;
  }

  /** Every problem between the rows and the heads of the whole store (`secret list`, before a rewrap). */
  async #checkAll(metas: SecretMeta[], heads: SecretHead[]): Promise<{ name: string; problem: string }[]> {
    const problems: { name: string; problem: string }[] = [];
    const byName = new Map(metas.map((m) => [m.name, m]));
    const headed = new Set<string>();
    for (const head of heads) {
      headed.add(head.name);
      const meta = byName.get(head.name);
      let problem: string | null = null;
      if (!(await verifyHead(this.#readKeys, head))) problem = 'its version counter does not verify';
      else if (!meta) problem = `every version is missing (its counter is at ${head.version})`;
      else if (meta.version > head.version) problem = `version ${meta.version} is newer than its sealed counter (${head.version})`;
      else if (meta.version < head.version) problem = `its newest version ${head.version} is missing`;
      if (problem) problems.push({ name: head.name, problem });
    }
    for (const meta of metas) {
      if (headed.has(meta.name)) continue;
      const problem = await this.#checkHead(meta.name, undefined, await this.#store.get(meta.name), null);
      if (problem) problems.push({ name: meta.name, problem });
    }
    return problems;
  }

  /** Names, newest version and version count; never values. Throws SecretTamperedError on a mismatch. */
  async list(): Promise<SecretMeta[]> {
    let problems: { name: string; problem: string }[] = [];
    // Two reads, so a put landing between them can make them disagree: look once more before alarming.
    for (let attempt = 0; attempt < 2; attempt++) {
      const [metas, heads] = await Promise.all([this.#store.list(), this.#store.heads()]);
      problems = await this.#checkAll(metas, heads);
      if (problems.length === 0) return metas;
    }
    throw new SecretTamperedError(problems);
  }

  /** The current KEK's id (stored in the clear with every row; never the key). */
  get currentKekId(): string {
    return this.#keys.current.id;
  }

  /**
   * Every version's metadata, oldest first: names, versions, times, KEK ids, rotation policies (the audit
   * report's evidence). Never a wrapped key or a ciphertext.
   */
  async versions(): Promise<{ name: string; version: number; created_at: number; kek_id: string; max_age?: number }[]> {
    return (await this.#store.all()).map(({ name, version, created_at, kek_id, max_age }) => ({
      name,
      version,
      created_at,
      kek_id,
      ...(max_age === undefined ? {} : { max_age }),
    }));
  }

  /**
   * Rewraps every stored data key under `newKek` and makes it the current KEK (the old one stays readable
   * as a previous key of this vault). Rows already under `newKek` are skipped, so an interrupted rotation
   * can simply be run again. Heads are resealed under `newKek` first, and secrets stored before version
   * counters existed get one (and their rows become counted), so running it with the current KEK is the
   * upgrade step. A tampered store is refused before anything changes. Returns the number of rows rewrapped.
   */
  async rotateKek(newKek: Kek): Promise<number> {
    const from = [...this.#readKeys, newKek];
    const metas = await this.list();
    // Heads before rows: a counted row must never exist without its name's head.
    const heads = new Map((await this.#store.heads()).map((h) => [h.name, h]));
    for (const meta of metas) {
      const head = heads.get(meta.name);
      if (head?.kek_id !== newKek.id) await this.#store.putHead(await sealHead(newKek, meta.name, head?.version ?? meta.version));
    }
    let count = 0;
    for (const row of await this.#store.all()) {
      if (row.kek_id === newKek.id && (await isCountedRow(from, row))) continue;
      const next = await rewrapRow(from, newKek, row, { count: true });
      await this.#store.rewrap(next.name, next.version, next.kek_id, next.wrapped_key);
      count++;
    }
    const previous = this.#readKeys.filter((k) => k.id !== newKek.id);
    this.#keys = { current: newKek, previous };
    this.#opened.clear();
    return count;
  }
}
