// The Node entry hashes tokens and audit records with node:crypto, the Worker with WebCrypto: a chain written
// by one is verified by the other (`audit verify` reads a D1 export), so both must agree on every string,
// lone surrogates included (both encode them as U+FFFD).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildEntry, verifyChain } from '../../../broker/src/audit/chain.ts';
import { webSha256Hex } from '../../../broker/src/util/digest.ts';

const nodeSha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

function randomText(rand: () => number): string {
  const units: number[] = [];
  const n = Math.floor(rand() * 40);
  for (let i = 0; i < n; i++) {
    const pick = rand();
    // ASCII, BMP, a lone high or low surrogate, or a proper pair.
    if (pick < 0.4) units.push(32 + Math.floor(rand() * 95));
    else if (pick < 0.6) units.push(0x80 + Math.floor(rand() * 0xd700));
    else if (pick < 0.7) units.push(0xd800 + Math.floor(rand() * 0x400));
    else if (pick < 0.8) units.push(0xdc00 + Math.floor(rand() * 0x400));
    else units.push(0xd83d, 0xde00 + Math.floor(rand() * 0x40));
  }
  return String.fromCharCode(...units);
}

describe('the injected synchronous SHA-256', () => {
  it('equals WebCrypto’s on every string, lone surrogates included', async () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 500; i++) {
      const text = randomText(rand);
      expect(nodeSha256Hex(text), JSON.stringify(text)).toBe(await webSha256Hex(text));
    }
  });

  it('builds chains that the WebCrypto verifier accepts', async () => {
    const entries = [];
    let prev = '0'.repeat(64);
    for (let seq = 1; seq <= 20; seq++) {
      const entry = await buildEntry(seq, prev, { n: seq, who: `\ud800 caller ${seq}` }, nodeSha256Hex);
      entries.push(entry);
      prev = entry.hash;
    }
    expect(await verifyChain(entries)).toMatchObject({ ok: true, count: 20 });
  });
});
