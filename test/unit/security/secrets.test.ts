// Stored secrets, adversarially, against an attacker who can write the database but has no KEK: every name
// has a sealed head (its newest version, bound to the name under the KEK), so deleting the newest version,
// deleting the head with it, replaying an older head, swapping or forging heads is detected and nothing is
// served (ERR_UPSTREAM at the exchange), instead of silently rolling the secret back. Rotation, KEK rewrap
// and reading older versions by number keep working. Memory and node:sqlite here; D1 in
// test/workers/secrets.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase, SqliteSecretStore } from '../../../broker/entry/node/sqlite.ts';
import { createApp } from '../../../broker/src/app.ts';
import { createSecretMinter } from '../../../broker/src/mint/secret.ts';
import { generateKekBase64, importKek, sealSecret, type Kek } from '../../../broker/src/store/envelope.ts';
import type { SecretHead, SecretStore } from '../../../broker/src/store/ports.ts';
import { SecretVault } from '../../../broker/src/store/secrets.ts';
import { utf8 } from '../../../broker/src/util/encoding.ts';
import { AUDIENCE, buildTestBroker, ISSUER_URL, T0 } from '../../helpers/broker.ts';
import { baseClaims, sign } from '../../helpers/issuer.ts';
import { MemorySecretStore } from '../../helpers/memory-stores.ts';

const NOW = 1_800_000_000;
const TAMPERED = { name: 'SecretTamperedError', message: expect.stringMatching(/tampered/) };

/** What the attacker can do to the database: plain row edits, no KEK. */
interface Tamper {
  store: SecretStore;
  deleteRow(name: string, version: number): void;
  deleteHead(name: string): void;
  head(name: string): SecretHead | undefined;
  /** Overwrites (or creates) a head row as given, bypassing every rule of the store. */
  setHead(head: SecretHead): void;
  /** Overwrites one stored field of a version's row. */
  editRow(name: string, version: number, field: 'ciphertext' | 'wrapped_key' | 'iv', value: string): void;
  close(): void;
}

const adapters: [string, () => Tamper][] = [
  [
    'memory',
    () => {
      const store = new MemorySecretStore();
      return {
        store,
        deleteRow: (name, version) => {
          store.rows = store.rows.filter((r) => !(r.name === name && r.version === version));
        },
        deleteHead: (name) => void store.headsByName.delete(name),
        head: (name) => {
          const h = store.headsByName.get(name);
          return h && { ...h };
        },
        setHead: (head) => void store.headsByName.set(head.name, { ...head }),
        editRow: (name, version, field, value) => {
          store.rows = store.rows.map((r) => (r.name === name && r.version === version ? { ...r, [field]: value } : r));
        },
        close() {},
      };
    },
  ],
  [
    'node:sqlite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'sb-secrets-'));
      const db: DatabaseSync = openDatabase(dir);
      return {
        store: new SqliteSecretStore(db),
        deleteRow: (name, version) => void db.prepare('DELETE FROM secrets WHERE name = ? AND version = ?').run(name, version),
        deleteHead: (name) => void db.prepare('DELETE FROM secret_heads WHERE name = ?').run(name),
        head: (name) =>
          db.prepare('SELECT name, version, kek_id, seal FROM secret_heads WHERE name = ?').get(name) as SecretHead | undefined,
        setHead: (h) =>
          void db
            .prepare('INSERT OR REPLACE INTO secret_heads (name, version, kek_id, seal) VALUES (?, ?, ?, ?)')
            .run(h.name, h.version, h.kek_id, h.seal),
        editRow: (name, version, field, value) =>
          void db.prepare(`UPDATE secrets SET ${field} = ? WHERE name = ? AND version = ?`).run(value, name, version),
        close: () => {
          db.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  ],
];

describe.each(adapters)('secret versions over %s', (_adapter, open) => {
  let t: Tamper;
  let kek: Kek;
  let vault: SecretVault;
  beforeEach(async () => {
    t = open();
    kek = await importKek(generateKekBase64());
    vault = new SecretVault(t.store, { current: kek });
    await vault.put('DB_URL', 'v1', NOW);
    await vault.put('DB_URL', 'v2', NOW + 1);
    await vault.put('DB_URL', 'v3', NOW + 2);
    await vault.put('OTHER', 'o1', NOW + 3);
  });
  afterEach(() => t.close());

  it('deleting the newest secret version is detected: the read fails closed instead of serving the older one', async () => {
    t.deleteRow('DB_URL', 3);
    await expect(vault.get('DB_URL')).rejects.toMatchObject(TAMPERED);
    await expect(vault.list()).rejects.toMatchObject({ ...TAMPERED, names: ['DB_URL'] });
    // Other secrets are unaffected; so is an older version asked for by number (the rotation grace period).
    expect((await vault.get('OTHER'))?.value).toBe('o1');
    expect((await vault.get('DB_URL', 1))?.value).toBe('v1');
  });

  it('deleting the newest secret version is detected, also when its version counter is deleted with it', async () => {
    t.deleteRow('DB_URL', 3);
    t.deleteHead('DB_URL');
    await expect(vault.get('DB_URL')).rejects.toMatchObject(TAMPERED);
    await expect(vault.get('DB_URL', 1)).rejects.toMatchObject(TAMPERED);
    await expect(vault.list()).rejects.toMatchObject(TAMPERED);
    // Deleting only the counter is caught as well.
    t.deleteHead('OTHER');
    await expect(vault.get('OTHER')).rejects.toMatchObject(TAMPERED);
  });

  it('deleting the newest secret version is detected: every version deleted but the counter', async () => {
    for (const v of [1, 2, 3]) t.deleteRow('DB_URL', v);
    await expect(vault.get('DB_URL')).rejects.toMatchObject(TAMPERED);
    await expect(vault.list()).rejects.toMatchObject({ names: ['DB_URL'] });
  });

  it('a replayed older version counter is detected while newer versions exist', async () => {
    const older = t.head('OTHER')!;
    await vault.put('OTHER', 'o2', NOW + 4);
    t.setHead(older);
    await expect(vault.get('OTHER')).rejects.toMatchObject(TAMPERED);
    await expect(vault.list()).rejects.toMatchObject({ names: ['OTHER'] });
  });

  it('version counters are bound to their name: swapped or copied counters are detected', async () => {
    await vault.put('OTHER', 'o2', NOW + 4);
    await vault.put('OTHER', 'o3', NOW + 5); // both names now at version 3
    const a = t.head('DB_URL')!;
    const b = t.head('OTHER')!;
    t.setHead({ ...b, name: 'DB_URL' });
    t.setHead({ ...a, name: 'OTHER' });
    await expect(vault.get('DB_URL')).rejects.toMatchObject(TAMPERED);
    await expect(vault.get('OTHER')).rejects.toMatchObject(TAMPERED);
    await expect(vault.list()).rejects.toMatchObject({ names: ['DB_URL', 'OTHER'] });
  });

  it.each([
    ['a raised version', (h: SecretHead) => ({ ...h, version: h.version + 1 })],
    ['a lowered version', (h: SecretHead) => ({ ...h, version: h.version - 1 })],
    [
      'a flipped bit in the seal',
      (h: SecretHead) => ({ ...h, seal: `${h.seal.slice(0, 10)}${h.seal[10] === 'A' ? 'B' : 'A'}${h.seal.slice(11)}` }),
    ],
    ['an empty seal', (h: SecretHead) => ({ ...h, seal: '' })],
  ])('a forged version counter is detected: %s', async (_case, forge) => {
    t.setHead(forge(t.head('DB_URL')!));
    await expect(vault.get('DB_URL')).rejects.toMatchObject(TAMPERED);
  });

  it("a forged version counter is detected: a row's own wrapped key passed off as the seal", async () => {
    const row = (await t.store.get('DB_URL', 2))!;
    t.deleteRow('DB_URL', 3);
    t.setHead({ name: 'DB_URL', version: 2, kek_id: row.kek_id, seal: row.wrapped_key });
    await expect(vault.get('DB_URL')).rejects.toMatchObject(TAMPERED);
  });

  it('a counter sealed under a KEK the broker does not have is a missing key (ERR_INTERNAL), not served', async () => {
    const stranger = await importKek(generateKekBase64());
    await new SecretVault(t.store, { current: stranger }).put('DB_URL', 'v4', NOW + 4);
    await expect(vault.get('DB_URL')).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
  });

  it('a deleted newest version number is never given to another value', async () => {
    t.deleteRow('DB_URL', 3);
    expect(await vault.put('DB_URL', 'v4', NOW + 4)).toEqual({ name: 'DB_URL', version: 4 });
    expect(await vault.get('DB_URL')).toMatchObject({ version: 4, value: 'v4' });
    expect(await vault.get('DB_URL', 3)).toBeNull();
  });

  it('rotation and KEK rewrap keep working: counters follow the new KEK and still catch a deleted newest version', async () => {
    const next = await importKek(generateKekBase64());
    expect(await vault.rotateKek(next)).toBe(4);
    expect(t.head('DB_URL')!.kek_id).toBe(next.id);
    const fresh = new SecretVault(t.store, { current: next });
    expect((await fresh.get('DB_URL'))?.value).toBe('v3');
    expect((await fresh.get('DB_URL', 2))?.value).toBe('v2');
    expect(await fresh.list()).toMatchObject([
      { name: 'DB_URL', version: 3 },
      { name: 'OTHER', version: 1 },
    ]);
    expect((await fresh.put('DB_URL', 'v4', NOW + 9)).version).toBe(4);
    t.deleteRow('DB_URL', 4);
    await expect(fresh.get('DB_URL')).rejects.toMatchObject(TAMPERED);
    // A tampered store is not rewrapped (which would seal the rollback): nothing changes.
    await expect(fresh.rotateKek(kek)).rejects.toMatchObject(TAMPERED);
    expect(t.head('DB_URL')!.kek_id).toBe(next.id);
  });

  it('secrets stored before version counters existed are served, and `secret rewrap` gives them one', async () => {
    // The way the broker used to write: no head, a wrap without the counted marker.
    for (const version of [1, 2]) {
      expect(await t.store.insert(await sealSecret(kek, 'LEGACY', version, utf8(`l${version}`), NOW))).toBe(true);
    }
    expect((await vault.get('LEGACY'))?.value).toBe('l2');
    expect(await vault.list()).toContainEqual({ name: 'LEGACY', version: 2, versions: 2, created_at: NOW });
    // The upgrade step: rewrap under the current KEK seals a head and marks the rows.
    expect(await vault.rotateKek(kek)).toBe(2);
    expect(await vault.rotateKek(kek)).toBe(0);
    t.deleteRow('LEGACY', 2);
    t.deleteHead('LEGACY');
    await expect(vault.get('LEGACY')).rejects.toMatchObject(TAMPERED);
  });

  const flip = (s: string, at = 10) => `${s.slice(0, at)}${s[at] === 'A' ? 'B' : 'A'}${s.slice(at + 1)}`;
  const flipField = async (t: Tamper, field: 'ciphertext' | 'wrapped_key' | 'iv') => {
    const row = (await t.store.get('DB_URL', 3))!;
    t.editRow('DB_URL', 3, field, flip(row[field], 4));
  };
  it.each<[string, (t: Tamper) => Promise<void> | void]>([
    ['the newest version deleted', (t) => t.deleteRow('DB_URL', 3)],
    [
      'the newest version and its counter deleted',
      (t) => {
        t.deleteRow('DB_URL', 3);
        t.deleteHead('DB_URL');
      },
    ],
    ['the counter deleted', (t) => t.deleteHead('DB_URL')],
    ['a flipped bit in the seal', (t) => t.setHead({ ...t.head('DB_URL')!, seal: flip(t.head('DB_URL')!.seal) })],
    ['a flipped bit in the ciphertext', (t) => flipField(t, 'ciphertext')],
    ['a flipped bit in the wrapped key', (t) => flipField(t, 'wrapped_key')],
    ['a flipped bit in the IV', (t) => flipField(t, 'iv')],
    [
      'another version’s wrapped key, IV and ciphertext grafted on',
      async (t) => {
        const v1 = (await t.store.get('DB_URL', 1))!;
        t.editRow('DB_URL', 3, 'wrapped_key', v1.wrapped_key);
        t.editRow('DB_URL', 3, 'iv', v1.iv);
        t.editRow('DB_URL', 3, 'ciphertext', v1.ciphertext);
      },
    ],
  ])('a value served before is no shield: %s after a read is still detected', async (_case, attack) => {
    expect(await vault.get('DB_URL')).toMatchObject({ version: 3, value: 'v3' });
    await attack(t);
    await expect(vault.get('DB_URL')).rejects.toThrow();
  });

  it('a value served before is no shield: an older counter replayed after a read is still detected', async () => {
    const older = t.head('OTHER')!;
    await vault.put('OTHER', 'o2', NOW + 4);
    expect(await vault.get('OTHER')).toMatchObject({ version: 2, value: 'o2' });
    t.setHead(older);
    await expect(vault.get('OTHER')).rejects.toMatchObject(TAMPERED);
  });

  it('a version is opened once per stored row and counter, and again once either changes', async () => {
    const decrypt = vi.spyOn(crypto.subtle, 'decrypt');
    try {
      expect((await vault.get('DB_URL'))?.value).toBe('v3');
      expect((await vault.get('DB_URL'))?.value).toBe('v3');
      expect((await vault.get('DB_URL', 1))?.value).toBe('v1');
      expect((await vault.get('DB_URL', 1))?.value).toBe('v1');
      expect(decrypt).toHaveBeenCalledTimes(2);
      await vault.put('DB_URL', 'v4', NOW + 4);
      expect((await vault.get('DB_URL'))?.value).toBe('v4');
      // The head moved, so an older version asked for by number is checked against it again.
      expect((await vault.get('DB_URL', 1))?.value).toBe('v1');
      expect(decrypt).toHaveBeenCalledTimes(4);
    } finally {
      decrypt.mockRestore();
    }
  });

  it('concurrent writes and reads never raise a false alarm', async () => {
    // Rounds of four writers: more than that exhaust put's retries whatever the counters do.
    for (let round = 0; round < 3; round++) {
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 4; i++) work.push(vault.put('DB_URL', `c${round}.${i}`, NOW + 10), vault.get('DB_URL'), vault.list());
      await Promise.all(work);
    }
    expect(await vault.get('DB_URL')).toMatchObject({ version: 15 });
  });
});

describe('the exchange over a store whose newest version was deleted', () => {
  it('deleting the newest secret version is detected: the exchange answers ERR_UPSTREAM and serves nothing', async () => {
    const b = await buildTestBroker();
    const store = new MemorySecretStore();
    const vault = new SecretVault(store, { current: await importKek(generateKekBase64()) });
    await vault.put('DB_URL', 'postgres://old', T0 / 1000);
    await vault.put('DB_URL', 'postgres://new', T0 / 1000);
    store.rows = store.rows.filter((r) => r.version !== 2);
    const app = createApp({ ...b.deps, minters: { secret: createSecretMinter(vault) } });
    const token = await sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, T0 / 1000, { repository_id: '123', ref: 'refs/heads/main' }));
    const res = await app.request('/v1/exchange', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, role: 'app' }),
    });
    const text = await res.text();
    expect([res.status, JSON.parse(text).error]).toEqual([502, 'ERR_UPSTREAM']);
    expect(text).not.toContain('postgres://');
    expect(b.audit.records().at(-1)).toMatchObject({ decision: 'deny', code: 'ERR_UPSTREAM', reason: 'secret.tampered:DB_URL' });
  });
});
