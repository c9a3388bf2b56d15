// The SCRAM-SHA-256 verifier CREATE ROLE carries instead of the password (broker/src/mint/scram.ts): checked
// against the RFC 7677 exchange (a verifier right for "pencil" must accept that exchange's client proof and
// give its server signature) and against node:crypto's PBKDF2, an independent implementation.
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scramVerifier } from '../../../broker/src/mint/scram.ts';

const b64 = (text: string) => Buffer.from(text, 'base64');
const parse = (v: string) => {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(v);
  if (!m) throw new Error(`not a verifier: ${v}`);
  return { iterations: Number(m[1]), salt: b64(m[2]!), storedKey: b64(m[3]!), serverKey: b64(m[4]!) };
};

describe('the SCRAM-SHA-256 verifier is the one RFC 5802/7677 define', () => {
  it('accepts the RFC 7677 example exchange (user "user", password "pencil") and gives its server signature', async () => {
    const v = parse(await scramVerifier('pencil', new Uint8Array(b64('W22ZaJ0SNY7soEsUEjb6gQ==')), 4096));
    const authMessage = [
      'n=user,r=rOprNGfwEbeRWgbNEkqO',
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
    ].join(',');
    const proof = b64('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    const clientSignature = createHmac('sha256', v.storedKey).update(authMessage).digest();
    const clientKey = Buffer.from(proof.map((byte, i) => byte ^ clientSignature[i]!));
    expect(createHash('sha256').update(clientKey).digest()).toEqual(v.storedKey);
    expect(createHmac('sha256', v.serverKey).update(authMessage).digest('base64')).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    // A verifier for another password refuses the same proof.
    const other = parse(await scramVerifier('pencil2', new Uint8Array(b64('W22ZaJ0SNY7soEsUEjb6gQ==')), 4096));
    const otherKey = Buffer.from(proof.map((byte, i) => byte ^ createHmac('sha256', other.storedKey).update(authMessage).digest()[i]!));
    expect(createHash('sha256').update(otherKey).digest()).not.toEqual(other.storedKey);
  });

  it('matches node:crypto for random passwords, with a fresh 16-byte salt each time and 4096 iterations', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const password = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64url');
      const text = await scramVerifier(password);
      const v = parse(text);
      expect(v.iterations).toBe(4096);
      expect(v.salt).toHaveLength(16);
      const salted = pbkdf2Sync(password, v.salt, 4096, 32, 'sha256');
      expect(v.storedKey).toEqual(createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest());
      expect(v.serverKey).toEqual(createHmac('sha256', salted).update('Server Key').digest());
      expect(text).not.toContain(password);
      seen.add(v.salt.toString('hex'));
    }
    expect(seen.size).toBe(5);
  });

  it('refuses passwords SASLprep would change (it is not implemented here), rather than storing a wrong verifier', async () => {
    for (const p of ['', 'with space', 'ünïcode', 'tab\there']) await expect(scramVerifier(p)).rejects.toThrow('printable ASCII');
  });
});
