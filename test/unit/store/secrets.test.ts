import { describe, expect, it } from 'vitest';
import { generateKekBase64, importKek } from '../../../broker/src/store/envelope.ts';
import type { SecretHead, SecretMeta, SecretRow, SecretStore } from '../../../broker/src/store/ports.ts';
import { MAX_SECRET_BYTES, SecretVault } from '../../../broker/src/store/secrets.ts';
import { utf8 } from '../../../broker/src/util/encoding.ts';

const NOW = 1_800_000_000;

/** The SecretStore contract in a few lines, with hooks to simulate a racing writer. */
class MemorySecretStore implements SecretStore {
  rows: SecretRow[] = [];
  headsByName = new Map<string, SecretHead>();
  /** Called before each insert; lets a test slip a concurrent write in. */
  beforeInsert: ((row: SecretRow) => void) | undefined;

  async get(name: string, version?: number): Promise<SecretRow | null> {
    const mine = this.rows.filter((r) => r.name === name && (version === undefined || r.version === version));
    return mine.sort((a, b) => b.version - a.version)[0] ?? null;
  }
  async read(name: string, version?: number): Promise<{ row: SecretRow | null; head: SecretHead | null }> {
    // Through get(), so that a test replacing get() changes what read() answers too.
    return { row: await this.get(name, version), head: this.headsByName.get(name) ?? null };
  }
  async insert(row: SecretRow, head?: SecretHead): Promise<boolean> {
    this.beforeInsert?.(row);
    if (this.rows.some((r) => r.name === row.name && r.version === row.version)) return false;
    this.rows.push({ ...row });
    if (head && (this.headsByName.get(head.name)?.version ?? 0) < head.version) this.headsByName.set(head.name, { ...head });
    return true;
  }
  async heads(): Promise<SecretHead[]> {
    return [...this.headsByName.values()].map((h) => ({ ...h }));
  }
  async putHead(head: SecretHead): Promise<void> {
    if ((this.headsByName.get(head.name)?.version ?? 0) <= head.version) this.headsByName.set(head.name, { ...head });
  }
  async rewrap(name: string, version: number, kekId: string, wrappedKey: string): Promise<void> {
    const row = this.rows.find((r) => r.name === name && r.version === version);
    if (!row) throw new Error('no such row');
    row.kek_id = kekId;
    row.wrapped_key = wrappedKey;
  }
  async all(): Promise<SecretRow[]> {
    return this.rows.map((r) => ({ ...r }));
  }
  async list(): Promise<SecretMeta[]> {
    const byName = new Map<string, SecretMeta>();
    for (const r of this.rows) {
      const seen = byName.get(r.name);
      const versions = (seen?.versions ?? 0) + 1;
      if (!seen || r.version > seen.version) {
        byName.set(r.name, { name: r.name, version: r.version, versions, created_at: r.created_at });
      } else seen.versions = versions;
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

async function setup() {
  const store = new MemorySecretStore();
  const kek = await importKek(generateKekBase64());
  return { store, kek, vault: new SecretVault(store, { current: kek }) };
}

describe('SecretVault', () => {
  it('stores versions that increase and reads the newest or a given one', async () => {
    const { vault } = await setup();
    expect(await vault.put('DATABASE_URL', 'one', NOW)).toEqual({ name: 'DATABASE_URL', version: 1 });
    expect(await vault.put('DATABASE_URL', utf8('two'), NOW + 1)).toEqual({ name: 'DATABASE_URL', version: 2 });
    expect(await vault.put('OTHER', 'x', NOW + 2)).toEqual({ name: 'OTHER', version: 1 });
    expect(await vault.get('DATABASE_URL')).toEqual({ name: 'DATABASE_URL', version: 2, value: 'two', created_at: NOW + 1 });
    expect(await vault.get('DATABASE_URL', 1)).toMatchObject({ version: 1, value: 'one' });
    expect(await vault.get('DATABASE_URL', 3)).toBeNull();
    expect(await vault.get('MISSING')).toBeNull();
    expect(await vault.list()).toEqual([
      { name: 'DATABASE_URL', version: 2, versions: 2, created_at: NOW + 1 },
      { name: 'OTHER', version: 1, versions: 1, created_at: NOW + 2 },
    ]);
  });

  it('keeps unicode and multi-line values exact', async () => {
    const { vault } = await setup();
    const pem = '-----BEGIN KEY-----\nabc\r\n–ü€😀\n-----END KEY-----\n';
    await vault.put('APP_KEY', pem, NOW);
    expect((await vault.get('APP_KEY'))?.value).toBe(pem);
  });

  it('stores only ciphertext', async () => {
    const { vault, store } = await setup();
    await vault.put('TOKEN', 'hunter2-hunter2', NOW);
    expect(JSON.stringify(store.rows)).not.toContain('hunter2');
  });

  it('retries when a concurrent writer takes the version', async () => {
    const { vault, store, kek } = await setup();
    const rival = new SecretVault(store, { current: kek });
    await vault.put('A', 'v1', NOW);
    let raced = false;
    store.beforeInsert = (row) => {
      if (raced || row.version !== 2) return;
      raced = true;
      store.rows.push({ ...row, ciphertext: 'rival' }); // the rival's v2 lands first
    };
    expect(await vault.put('A', 'mine', NOW)).toEqual({ name: 'A', version: 3 });
    expect((await vault.get('A'))?.value).toBe('mine');
    store.beforeInsert = undefined;
    expect((await rival.put('A', 'rival v4', NOW)).version).toBe(4);
  });

  it('gives up after a few conflicts', async () => {
    const { vault, store } = await setup();
    store.insert = async () => false;
    await expect(vault.put('A', 'x', NOW)).rejects.toThrow(/conflict/);
  });

  it('concurrent puts of one name all land on distinct versions', async () => {
    const { vault } = await setup();
    const results = await Promise.all(Array.from({ length: 4 }, (_, i) => vault.put('A', `v${i}`, NOW)));
    expect(results.map((r) => r.version).sort()).toEqual([1, 2, 3, 4]);
  });

  it.each([
    ['', 'empty'],
    ['1ABC', 'leading digit'],
    ['-A', 'leading dash'],
    ['A B', 'space'],
    ['A/B', 'slash'],
    ['A\nB', 'newline'],
    ['A=B', 'equals'],
    ['__proto__x/..', 'path'],
    ['A'.repeat(129), 'too long'],
    ['É', 'non-ascii'],
  ])('rejects the name %j (%s)', async (name) => {
    const { vault } = await setup();
    await expect(vault.put(name, 'x', NOW)).rejects.toThrow(/invalid secret name/);
    await expect(vault.get(name)).rejects.toThrow(/invalid secret name/);
  });

  it.each(['A', '_x', 'a.b-c_D9', 'A'.repeat(128), '__proto__'])('accepts the name %j', async (name) => {
    const { vault } = await setup();
    await vault.put(name, 'x', NOW);
    expect((await vault.get(name))?.value).toBe('x');
  });

  it('limits values to 64 KiB of UTF-8 text and refuses empty ones', async () => {
    const { vault } = await setup();
    await vault.put('MAX', 'a'.repeat(MAX_SECRET_BYTES), NOW);
    await expect(vault.put('BIG', 'a'.repeat(MAX_SECRET_BYTES + 1), NOW)).rejects.toThrow(/limit/);
    // Multi-byte characters count as bytes, not characters.
    await expect(vault.put('BIG', '€'.repeat(MAX_SECRET_BYTES / 2), NOW)).rejects.toThrow(/limit/);
    await expect(vault.put('EMPTY', '', NOW)).rejects.toThrow(/empty/);
    await expect(vault.put('BIN', new Uint8Array([0xff, 0xfe]), NOW)).rejects.toThrow(/UTF-8/);
  });

  it('rejects bad version numbers', async () => {
    const { vault } = await setup();
    for (const v of [0, -1, 1.5, Number.NaN]) await expect(vault.get('A', v)).rejects.toThrow(/version/);
  });

  it('refuses a row that the store returned for another name', async () => {
    const { vault, store } = await setup();
    await vault.put('A', 'a-value', NOW);
    const original = store.get.bind(store);
    store.get = async () => original('A');
    await expect(vault.get('B')).rejects.toThrow(/different row/);
  });

  it('fails closed (ERR_INTERNAL) on a tampered row', async () => {
    const { vault, store } = await setup();
    await vault.put('A', 'a-value', NOW);
    await vault.put('B', 'b-value', NOW);
    const [a, b] = store.rows as [SecretRow, SecretRow];
    b.ciphertext = a.ciphertext;
    b.iv = a.iv;
    b.wrapped_key = a.wrapped_key;
    await expect(vault.get('B')).rejects.toMatchObject({ code: 'ERR_INTERNAL', detail: 'secret.decrypt_failed:B' });
  });

  it('rotates the KEK: values stay readable and the old KEK is no longer needed', async () => {
    const { vault, store, kek: oldKek } = await setup();
    await vault.put('A', 'a1', NOW);
    await vault.put('A', 'a2', NOW);
    await vault.put('B', 'b1', NOW);
    const newKek = await importKek(generateKekBase64());
    const ciphertexts = store.rows.map((r) => r.ciphertext);

    expect(await vault.rotateKek(newKek)).toBe(3);
    expect(store.rows.every((r) => r.kek_id === newKek.id)).toBe(true);
    expect(store.rows.map((r) => r.ciphertext)).toEqual(ciphertexts); // only the wrapping changed
    expect(await vault.rotateKek(newKek)).toBe(0); // idempotent: a resumed rotation skips done rows

    const fresh = new SecretVault(store, { current: newKek });
    expect((await fresh.get('A', 1))?.value).toBe('a1');
    expect((await fresh.get('A'))?.value).toBe('a2');
    expect((await fresh.get('B'))?.value).toBe('b1');
    // New writes on the rotated vault use the new KEK.
    await vault.put('C', 'c1', NOW);
    expect((await fresh.get('C'))?.value).toBe('c1');
    // And the old KEK alone no longer opens anything.
    const stale = new SecretVault(store, { current: oldKek });
    await expect(stale.get('A')).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
  });

  it('rotation resumes from a partly rotated store using previous keys', async () => {
    const { store, kek: k1 } = await setup();
    const k2 = await importKek(generateKekBase64());
    const k3 = await importKek(generateKekBase64());
    await new SecretVault(store, { current: k1 }).put('A', 'under k1', NOW);
    await new SecretVault(store, { current: k2 }).put('B', 'under k2', NOW);
    const vault = new SecretVault(store, { current: k2, previous: [k1] });
    expect((await vault.get('A'))?.value).toBe('under k1');
    expect(await vault.rotateKek(k3)).toBe(2);
    const fresh = new SecretVault(store, { current: k3 });
    expect((await fresh.get('A'))?.value).toBe('under k1');
    expect((await fresh.get('B'))?.value).toBe('under k2');
  });
});
