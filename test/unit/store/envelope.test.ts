import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../broker/src/errors.ts';
import { generateKekBase64, importKek, openSecret, rewrapRow, sealSecret } from '../../../broker/src/store/envelope.ts';
import type { Kek } from '../../../broker/src/store/envelope.ts';
import type { SecretRow } from '../../../broker/src/store/ports.ts';
import { fromBase64, toBase64, utf8 } from '../../../broker/src/util/encoding.ts';

const NOW = 1_800_000_000;
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Flips one bit of the decoded bytes of a base64 field. */
function flip(base64: string, index = 0): string {
  const bytes = fromBase64(base64);
  bytes[index] = (bytes[index] as number) ^ 0x01;
  return toBase64(bytes);
}

async function expectDecryptFailure(keks: Kek[], row: SecretRow, detail = `secret.decrypt_failed:${row.name}`) {
  const error = await openSecret(keks, row).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BrokerError);
  expect((error as BrokerError).code).toBe('ERR_INTERNAL');
  expect((error as BrokerError).detail).toBe(detail);
  return error as BrokerError;
}

describe('importKek', () => {
  it('accepts 32 bytes of base64 and derives a stable id that is not the key', async () => {
    const b64 = generateKekBase64();
    expect(fromBase64(b64)).toHaveLength(32);
    const a = await importKek(b64);
    const b = await importKek(`${b64}\n`);
    expect(a.id).toMatch(/^[0-9a-f]{16}$/);
    expect(b.id).toBe(a.id);
    expect(a.key.extractable).toBe(false);
    expect((await importKek(generateKekBase64())).id).not.toBe(a.id);
  });

  it.each([
    ['empty', ''],
    ['too short', toBase64(new Uint8Array(16))],
    ['too long', toBase64(new Uint8Array(33))],
    ['not base64', '!'.repeat(44)],
    ['hex instead of base64', 'ab'.repeat(32)],
  ])('rejects %s without echoing the value', async (_, value) => {
    const error = await importKek(value).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('32');
    if (value !== '') expect((error as Error).message).not.toContain(value);
  });
});

describe('sealSecret / openSecret', async () => {
  const kek = await importKek(generateKekBase64());
  const other = await importKek(generateKekBase64());
  const secretA = utf8('postgres://user:hunter2@db/a');

  it('round-trips, with a fresh data key and IV per version', async () => {
    const row = await sealSecret(kek, 'DATABASE_URL', 1, secretA, NOW);
    expect(row).toMatchObject({ name: 'DATABASE_URL', version: 1, kek_id: kek.id, created_at: NOW });
    expect(decode(await openSecret([other, kek], row))).toBe('postgres://user:hunter2@db/a');
    const again = await sealSecret(kek, 'DATABASE_URL', 1, secretA, NOW);
    expect(again.iv).not.toBe(row.iv);
    expect(again.wrapped_key).not.toBe(row.wrapped_key);
    expect(again.ciphertext).not.toBe(row.ciphertext);
    expect(JSON.stringify(row)).not.toContain('hunter2');
  });

  it('handles empty and 64 KiB values', async () => {
    for (const size of [0, 65536]) {
      const value = crypto.getRandomValues(new Uint8Array(size));
      const row = await sealSecret(kek, 'BIG', 1, value, NOW);
      expect(await openSecret([kek], row)).toEqual(value);
    }
  });

  it('fails on any flipped bit of ciphertext, tag, iv or wrapped key', async () => {
    const row = await sealSecret(kek, 'A', 1, secretA, NOW);
    const ctLength = fromBase64(row.ciphertext).length;
    const cases: SecretRow[] = [
      { ...row, ciphertext: flip(row.ciphertext, 0) },
      { ...row, ciphertext: flip(row.ciphertext, ctLength - 1) }, // the GCM tag
      { ...row, iv: flip(row.iv) },
      { ...row, wrapped_key: flip(row.wrapped_key, 0) }, // wrap IV
      { ...row, wrapped_key: flip(row.wrapped_key, 20) }, // wrapped data key
      { ...row, wrapped_key: flip(row.wrapped_key, 59) }, // wrap tag
      { ...row, ciphertext: toBase64(fromBase64(row.ciphertext).subarray(0, ctLength - 1)) }, // truncated
      { ...row, wrapped_key: toBase64(fromBase64(row.wrapped_key).subarray(0, 40)) },
      { ...row, iv: toBase64(new Uint8Array(16)) },
      { ...row, iv: 'not base64!' },
      { ...row, ciphertext: '' },
    ];
    for (const tampered of cases) await expectDecryptFailure([kek], tampered);
    expect(decode(await openSecret([kek], row))).toBe('postgres://user:hunter2@db/a');
  });

  it('binds the name: a row moved to another name fails, however much of it is moved', async () => {
    const a = await sealSecret(kek, 'A', 1, secretA, NOW);
    const b = await sealSecret(kek, 'B', 1, utf8('b-value'), NOW);
    await expectDecryptFailure([kek], { ...a, name: 'B' });
    await expectDecryptFailure([kek], { ...b, ciphertext: a.ciphertext, iv: a.iv });
    await expectDecryptFailure([kek], { ...b, wrapped_key: a.wrapped_key });
    // Near-miss names that a sloppy AAD (plain concatenation) could confuse.
    const c = await sealSecret(kek, 'A1', 1, secretA, NOW);
    await expectDecryptFailure([kek], { ...c, name: 'A', version: 11 });
  });

  it('binds the version: swapping versions fails', async () => {
    const v1 = await sealSecret(kek, 'A', 1, utf8('old'), NOW);
    const v2 = await sealSecret(kek, 'A', 2, utf8('new'), NOW);
    await expectDecryptFailure([kek], { ...v1, version: 2 });
    await expectDecryptFailure([kek], { ...v2, version: 1 });
    await expectDecryptFailure([kek], { ...v2, ciphertext: v1.ciphertext, iv: v1.iv, wrapped_key: v1.wrapped_key });
  });

  it('fails with the wrong KEK, and when no KEK matches', async () => {
    const row = await sealSecret(kek, 'A', 1, secretA, NOW);
    // A KEK that claims the row's id but holds other key bytes.
    await expectDecryptFailure([{ id: kek.id, key: other.key }], row);
    await expectDecryptFailure([other], row, 'secret.kek_unknown:A');
    await expectDecryptFailure([kek], { ...row, kek_id: other.id }, 'secret.kek_unknown:A');
    await expectDecryptFailure([kek, other], { ...row, kek_id: other.id });
  });

  it('never puts plaintext in the error', async () => {
    const row = await sealSecret(kek, 'A', 1, secretA, NOW);
    const error = await expectDecryptFailure([kek], { ...row, iv: flip(row.iv) });
    const everything = `${error.message} ${error.detail} ${String(error.cause)} ${error.stack ?? ''}`;
    expect(everything).not.toContain('hunter2');
  });
});

describe('rewrapRow', async () => {
  const oldKek = await importKek(generateKekBase64());
  const newKek = await importKek(generateKekBase64());

  it('rewraps the data key only; the new KEK alone opens the row', async () => {
    const row = await sealSecret(oldKek, 'A', 3, utf8('value'), NOW);
    const next = await rewrapRow([oldKek], newKek, row);
    expect(next).toMatchObject({ name: 'A', version: 3, iv: row.iv, ciphertext: row.ciphertext, created_at: NOW });
    expect(next.kek_id).toBe(newKek.id);
    expect(next.wrapped_key).not.toBe(row.wrapped_key);
    expect(decode(await openSecret([newKek], next))).toBe('value');
    await expectDecryptFailure([oldKek], next, 'secret.kek_unknown:A');
  });

  it('refuses to rewrap a tampered or foreign row', async () => {
    const row = await sealSecret(oldKek, 'A', 1, utf8('value'), NOW);
    await expect(rewrapRow([oldKek], newKek, { ...row, name: 'B' })).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
    await expect(rewrapRow([oldKek], newKek, { ...row, version: 2 })).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
    await expect(rewrapRow([newKek], newKek, row)).rejects.toMatchObject({ detail: 'secret.kek_unknown:A' });
  });
});
