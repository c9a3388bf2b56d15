// Stored-secret version counters on D1 inside workerd: a database writer without the KEK cannot roll a
// secret back by deleting its newest version (with or without the head), replaying or swapping heads; the
// Worker's exchange answers ERR_UPSTREAM instead. The Node adapters: test/unit/security/secrets.test.ts.
import { env, SELF } from 'cloudflare:test';
import { importJWK, SignJWT, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { D1SecretStore } from '../../broker/entry/workers/d1.ts';
import { generateKekBase64, importKek } from '../../broker/src/store/envelope.ts';
import type { SecretHead } from '../../broker/src/store/ports.ts';
import { SecretVault } from '../../broker/src/store/secrets.ts';

const NOW = Math.floor(Date.now() / 1000);
const TAMPERED = { name: 'SecretTamperedError' };

const db = env.SCRATCH_DB;
const deleteRow = (name: string, version: number) =>
  db.prepare('DELETE FROM secrets WHERE name = ? AND version = ?').bind(name, version).run();
const deleteHead = (name: string) => db.prepare('DELETE FROM secret_heads WHERE name = ?').bind(name).run();
const head = async (name: string) =>
  (await db.prepare('SELECT name, version, kek_id, seal FROM secret_heads WHERE name = ?').bind(name).first<SecretHead>())!;
const setHead = (h: SecretHead) =>
  db
    .prepare('INSERT OR REPLACE INTO secret_heads (name, version, kek_id, seal) VALUES (?, ?, ?, ?)')
    .bind(h.name, h.version, h.kek_id, h.seal)
    .run();

async function vaultWith(name: string, versions: number) {
  const kek = await importKek(generateKekBase64());
  const vault = new SecretVault(new D1SecretStore(db), { current: kek });
  for (let v = 1; v <= versions; v++) await vault.put(name, `${name}-v${v}`, NOW + v);
  return { vault, kek };
}

describe('D1SecretStore version counters', () => {
  it('deleting the newest secret version is detected: the read fails closed instead of serving the older one', async () => {
    const { vault } = await vaultWith('D1_DELETED', 3);
    await deleteRow('D1_DELETED', 3);
    await expect(vault.get('D1_DELETED')).rejects.toMatchObject(TAMPERED);
    expect((await vault.get('D1_DELETED', 2))?.value).toBe('D1_DELETED-v2');
  });

  it('deleting the newest secret version is detected, also when its version counter is deleted with it', async () => {
    const { vault } = await vaultWith('D1_BOTH', 2);
    await deleteRow('D1_BOTH', 2);
    await deleteHead('D1_BOTH');
    await expect(vault.get('D1_BOTH')).rejects.toMatchObject(TAMPERED);
  });

  it('a replayed older version counter, or one swapped from another name, is detected', async () => {
    const { vault } = await vaultWith('D1_REPLAY', 1);
    const older = await head('D1_REPLAY');
    await vault.put('D1_REPLAY', 'v2', NOW + 5);
    await setHead(older);
    await expect(vault.get('D1_REPLAY')).rejects.toMatchObject(TAMPERED);
    await vault.put('D1_SWAP', 'x', NOW);
    const other = await vaultWith('D1_SWAP_B', 1);
    await setHead({ ...(await head('D1_SWAP_B')), name: 'D1_SWAP' });
    await expect(other.vault.get('D1_SWAP')).rejects.toMatchObject(TAMPERED);
  });

  it('rotation and KEK rewrap keep working on D1, with the version and head written in one batch', async () => {
    // Only this test's secrets, all under one KEK.
    await db.batch([db.prepare('DELETE FROM secrets'), db.prepare('DELETE FROM secret_heads')]);
    const { vault } = await vaultWith('D1_ROTATE', 2);
    await vault.put('D1_GONE', 'x', NOW);
    await vault.put('D1_GONE', 'y', NOW);
    await deleteRow('D1_GONE', 2);
    const next = await importKek(generateKekBase64());
    // A tampered store is not rewrapped (which would seal the rollback).
    await expect(vault.rotateKek(next)).rejects.toMatchObject({ ...TAMPERED, names: ['D1_GONE'] });
    await db.prepare('DELETE FROM secrets WHERE name = ?').bind('D1_GONE').run();
    await deleteHead('D1_GONE');
    expect(await vault.rotateKek(next)).toBe(2);
    const fresh = new SecretVault(new D1SecretStore(db), { current: next });
    expect((await fresh.get('D1_ROTATE'))?.value).toBe('D1_ROTATE-v2');
    expect(await fresh.put('D1_ROTATE', 'v3', NOW + 9)).toEqual({ name: 'D1_ROTATE', version: 3 });
    expect(await head('D1_ROTATE')).toMatchObject({ version: 3, kek_id: next.id });
    await deleteRow('D1_ROTATE', 3);
    await expect(fresh.get('D1_ROTATE')).rejects.toMatchObject(TAMPERED);
    await expect(fresh.list()).rejects.toMatchObject({ names: ['D1_ROTATE'] });
  });
});

describe('the Worker exchange over a secret whose newest version was deleted', () => {
  it('deleting the newest secret version is detected: the exchange answers ERR_UPSTREAM and serves nothing', async () => {
    const vault = new SecretVault(new D1SecretStore(env.DB), { current: await importKek(env.BROKER_KEK) });
    await vault.put('APP_TOKEN', 'old-app-token', NOW);
    await vault.put('APP_TOKEN', 'new-app-token', NOW);
    const { version } = (await vault.get('APP_TOKEN'))!;
    await env.DB.prepare('DELETE FROM secrets WHERE name = ? AND version = ?').bind('APP_TOKEN', version).run();

    const jwk = JSON.parse(env.TEST_ISSUER_JWK) as JWK & { kid: string };
    const key = (await importJWK(jwk, 'RS256')) as CryptoKey;
    const claims = {
      iss: env.TEST_ISSUER_URL,
      aud: 'https://broker.test',
      iat: NOW,
      nbf: NOW,
      exp: NOW + 300,
      jti: crypto.randomUUID(),
      sub: 'repo:acme/app:ref:refs/heads/main',
      repository_id: '42',
      repository_owner_id: '7',
      ref: 'refs/heads/main',
    };
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' }).sign(key);
    const res = await SELF.fetch('https://broker.test/v1/exchange', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, role: 'app-secret' }),
    });
    const text = await res.text();
    expect([res.status, (JSON.parse(text) as { error: string }).error]).toEqual([502, 'ERR_UPSTREAM']);
    expect(text).not.toContain('app-token');
    const last = await env.DB.prepare('SELECT record FROM audit ORDER BY seq DESC LIMIT 1').first<{ record: string }>();
    expect(JSON.parse(last!.record)).toMatchObject({ code: 'ERR_UPSTREAM', reason: 'secret.tampered:APP_TOKEN' });
  });
});
