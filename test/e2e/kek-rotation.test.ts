// KEK rotation end to end through the CLI: secrets and the broker's signing keys sealed under KEK A are
// rewrapped under KEK B by `secret rewrap`, after which B alone opens everything and A alone opens nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase, SqliteKeyStore, SqliteSecretStore } from '../../broker/entry/node/sqlite.ts';
import { BrokerIssuer } from '../../broker/src/issuer/issuer.ts';
import { generateKekBase64, importKek } from '../../broker/src/store/envelope.ts';
import { SecretVault } from '../../broker/src/store/secrets.ts';
import { runCli } from '../helpers/processes.ts';

let dir: string;
const A = generateKekBase64();
const B = generateKekBase64();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-kek-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function open(kekBase64: string) {
  const db = openDatabase(dir);
  const kek = await importKek(kekBase64);
  const vault = new SecretVault(new SqliteSecretStore(db), { current: kek });
  const issuer = new BrokerIssuer({
    store: new SqliteKeyStore(db),
    keks: { current: kek },
    publicUrl: 'https://broker.test',
    now: Date.now,
    cacheMs: 0,
  });
  return { db, vault, issuer };
}

it('rewraps every secret version and signing key, so the old KEK can be dropped', async () => {
  const withA = { BROKER_KEK: A };
  expect((await runCli(['secret', 'put', 'DB_URL', '--data', dir], { env: withA, input: 'postgres://one\n' })).code).toBe(0);
  expect((await runCli(['secret', 'put', 'DB_URL', '--data', dir], { env: withA, input: 'postgres://two\n' })).code).toBe(0);
  expect((await runCli(['keys', 'rotate', '--activate-in', '0', '--data', dir], { env: withA })).code).toBe(0);

  // Without the old KEK the new one cannot read anything yet.
  const before = await open(B);
  await expect(before.vault.get('DB_URL')).rejects.toThrow();
  before.db.close();

  const rewrap = await runCli(['secret', 'rewrap', '--data', dir], { env: { BROKER_KEK: B, BROKER_KEK_PREVIOUS: A } });
  expect(rewrap.code, rewrap.stderr).toBe(0);
  expect(rewrap.stdout).toMatch(/rewrapped 2 secret version\(s\) and 2 signing key\(s\)/);
  expect(rewrap.stdout + rewrap.stderr).not.toContain('postgres://');

  const after = await open(B);
  try {
    expect((await after.vault.get('DB_URL'))?.value).toBe('postgres://two');
    expect((await after.vault.get('DB_URL', 1))?.value).toBe('postgres://one');
    // Both signing keys open under B alone: the issuer signs with the current one.
    const signed = await after.issuer.sign({ subject: 'role:x', audience: 'sts.amazonaws.com', ttl: 60, claims: {} });
    expect(signed.token.split('.')).toHaveLength(3);
  } finally {
    after.db.close();
  }
  const old = await open(A);
  try {
    await expect(old.vault.get('DB_URL')).rejects.toThrow();
  } finally {
    old.db.close();
  }
});

it('refuses to run without BROKER_KEK', async () => {
  const r = await runCli(['secret', 'rewrap', '--data', dir], { env: { BROKER_KEK: '' } });
  expect(r.code).not.toBe(0);
});
