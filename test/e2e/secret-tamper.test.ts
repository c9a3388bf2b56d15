// The CLI over a database whose newest secret version was deleted by someone without the KEK: `secret list`
// and `secret rotate` say the store was tampered with (exit 1) instead of showing the older version.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase } from '../../broker/entry/node/sqlite.ts';
import { generateKekBase64 } from '../../broker/src/store/envelope.ts';
import { runCli } from '../helpers/processes.ts';

let dir: string;
const env = { BROKER_KEK: generateKekBase64() };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-tamper-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('deleting the newest secret version is detected: secret list and secret rotate say the store was tampered with', async () => {
  for (const value of ['one', 'two'])
    expect((await runCli(['secret', 'put', 'DB_URL', '--data', dir], { env, input: `${value}\n` })).code).toBe(0);
  expect((await runCli(['secret', 'list', '--data', dir], { env })).stdout).toMatch(/DB_URL\s+v2\s+2 version/);

  const db = openDatabase(dir);
  db.prepare('DELETE FROM secrets WHERE name = ? AND version = 2').run('DB_URL');
  db.close();

  for (const args of [
    ['secret', 'list'],
    ['secret', 'rotate', 'DB_URL', '--generate'],
    ['secret', 'rewrap'],
  ]) {
    const run = await runCli([...args, '--data', dir], { env });
    expect(run.code, args.join(' ')).toBe(1);
    expect(run.stderr).toMatch(/tampered with: DB_URL: its newest version 2 is missing/);
    expect(run.stdout).not.toMatch(/v1/);
  }
});
