import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadKek } from '../../../broker/entry/node/kek.ts';
import { generateKekBase64, importKek } from '../../../broker/src/store/envelope.ts';

let dir: string;
let dataDir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'broker-kek-'));
  dataDir = join(dir, 'data');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('loadKek', () => {
  it('uses BROKER_KEK and writes nothing', async () => {
    const value = generateKekBase64();
    const loaded = await loadKek({ BROKER_KEK: value }, dataDir);
    expect(loaded.source).toBe('env');
    expect(loaded.kek.id).toBe((await importKek(value)).id);
    expect(loaded.warning).toBeUndefined();
    expect(loaded.previous).toEqual([]);
    expect(() => statSync(dataDir)).toThrow();
  });

  it.each([
    ['short', Buffer.alloc(16).toString('base64')],
    ['garbage', 'not-a-key'],
    ['empty', ''],
    ['blank', '  '],
  ])('refuses an invalid BROKER_KEK (%s) without falling back or echoing it', async (_, value) => {
    const error = await loadKek({ BROKER_KEK: value }, dataDir).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^BROKER_KEK is/);
    if (value.trim() !== '') expect((error as Error).message).not.toContain(value);
    expect(() => statSync(join(dataDir, 'dev-kek'))).toThrow();
  });

  it('generates a development KEK once, privately, with a warning', async () => {
    const first = await loadKek({}, dataDir);
    expect(first.source).toBe('generated');
    expect(first.warning).toMatch(/development KEK/);
    expect(first.warning).toMatch(/BROKER_KEK/);
    const path = join(dataDir, 'dev-kek');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dataDir)).toEqual(['dev-kek']); // no temporary files left behind

    const second = await loadKek({}, dataDir);
    expect(second.source).toBe('file');
    expect(second.kek.id).toBe(first.kek.id);
    expect(second.warning).toMatch(/development KEK/);
    expect((await importKek(readFileSync(path, 'utf8'))).id).toBe(first.kek.id);
  });

  it('threads starting together agree on one development KEK', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.module)
        .then(({ loadKek }) => loadKek({}, workerData.dataDir))
        .then((l) => parentPort.postMessage({ id: l.kek.id, source: l.source }))
        .catch((error) => parentPort.postMessage({ error: String(error) }));
    `;
    const module = pathToFileURL(join(import.meta.dirname, '../../../broker/entry/node/kek.ts')).href;
    const run = () =>
      new Promise<{ id: string; source: string }>((resolve, reject) => {
        const worker = new Worker(code, { eval: true, workerData: { module, dataDir } });
        worker.once('message', (m: { id: string; source: string; error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m)));
        worker.once('error', reject);
      });
    const loaded = await Promise.all(Array.from({ length: 6 }, run));
    expect(new Set(loaded.map((l) => l.id)).size).toBe(1);
    expect(loaded.filter((l) => l.source === 'generated')).toHaveLength(1);
    expect((await loadKek({}, dataDir)).kek.id).toBe(loaded[0]?.id);
    expect(readdirSync(dataDir)).toEqual(['dev-kek']);
  });

  it('warns about a development KEK readable by others and refuses a damaged one', async () => {
    await loadKek({}, dataDir);
    const path = join(dataDir, 'dev-kek');
    chmodSync(path, 0o644);
    expect((await loadKek({}, dataDir)).warning).toMatch(/chmod 600/);
    writeFileSync(path, 'damaged');
    await expect(loadKek({}, dataDir)).rejects.toThrow(/development KEK .* is invalid/);
  });

  it('loads BROKER_KEK_PREVIOUS for reading during rotation', async () => {
    const current = generateKekBase64();
    const old1 = generateKekBase64();
    const old2 = generateKekBase64();
    const loaded = await loadKek({ BROKER_KEK: current, BROKER_KEK_PREVIOUS: ` ${old1}, ${old2},,${current}` }, dataDir);
    expect(loaded.previous.map((k) => k.id)).toEqual([(await importKek(old1)).id, (await importKek(old2)).id]);
    await expect(loadKek({ BROKER_KEK: current, BROKER_KEK_PREVIOUS: `${old1},nope` }, dataDir)).rejects.toThrow(
      /BROKER_KEK_PREVIOUS entry 2 is invalid/,
    );
    const dev = await loadKek({ BROKER_KEK_PREVIOUS: old1 }, dataDir);
    expect(dev.previous).toHaveLength(1);
  });
});
