// canonicalJson is what the audit chain hashes: its output must never change, or every stored chain stops
// verifying. The reference below is the first implementation (map/filter/join), kept as the oracle for the
// loop-based one on fixed cases and on many generated records.
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../broker/src/util/encoding.ts';

function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const out = JSON.stringify(value);
    if (out === undefined || (typeof value === 'number' && !Number.isFinite(value))) throw new TypeError('value cannot be canonicalised');
    return out;
  }
  if (Array.isArray(value)) return `[${value.map((v) => reference(v ?? null)).join(',')}]`;
  const keys = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reference((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** A small deterministic generator (xorshift), so a failure names a seed that reproduces it. */
function generator(seed: number) {
  let x = Math.imul(seed, 2654435761) >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  for (let i = 0; i < 8; i++) next();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const text = () =>
    Array.from({ length: Math.floor(next() * 8) }, () =>
      pick(['a', 'B', 'z', '0', '9', '_', '/', '~', '"', '\\', '\n', '\u0000', '\u007f', 'é', '\u2028', '😀', '\ud800', ' ']),
    ).join('');
  const value = (depth: number): unknown => {
    const kind = Math.floor(next() * (depth > 3 ? 5 : 9));
    switch (kind) {
      case 0:
        return null;
      case 1:
        return next() < 0.5;
      case 2:
        return pick([0, -0, 1, -1, 1.5, 1e21, 1e-7, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE, Math.floor(next() * 1e9)]);
      case 3:
      case 4:
        return text();
      case 5:
        return Array.from({ length: Math.floor(next() * 4) }, () => (next() < 0.1 ? undefined : value(depth + 1)));
      case 6: {
        // Already in canonical order with only primitive members: the case JSON.stringify writes directly.
        const o: Record<string, unknown> = {};
        const keys = Array.from({ length: Math.floor(next() * 6) }, () => pick([text(), '10', '2', '1', 'a', 'A', '', 'b']));
        for (const k of keys.sort())
          o[k] =
            next() < 0.05
              ? pick([Number.NaN, Number.POSITIVE_INFINITY, undefined, () => 1, new Date(0)])
              : pick([null, true, 1.5, -0, text()]);
        return o;
      }
      default: {
        const o: Record<string, unknown> = {};
        for (let i = Math.floor(next() * 6); i > 0; i--)
          o[pick([text(), '10', '2', '1', 'a', 'A', '', '__proto__x'])] = next() < 0.1 ? undefined : value(depth + 1);
        return o;
      }
    }
  };
  return value;
}

describe('canonicalJson', () => {
  it('sorts keys by UTF-16 code units at every depth, drops undefined members and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' }, u: undefined })).toBe(
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
    // Integer-like names sort as text, not numerically as JavaScript orders an object's own keys.
    expect(canonicalJson({ 10: 'a', 2: 'b', 1: 'c', B: 1, a: 2 })).toBe('{"1":"c","10":"a","2":"b","B":1,"a":2}');
    expect(canonicalJson({ '\u{1f600}': 1, '\uffff': 2 })).toBe('{"\u{1f600}":1,"\uffff":2}');
    expect(canonicalJson([undefined, null, 1])).toBe('[null,null,1]');
    expect(canonicalJson({})).toBe('{}');
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson('a"b\\\u2028')).toBe(JSON.stringify('a"b\\\u2028'));
    // Objects in canonical order already, written in one pass: the same text, and the same refusals.
    expect(canonicalJson({ a: 'x', b: null, c: true, d: -0 })).toBe('{"a":"x","b":null,"c":true,"d":0}');
    expect(canonicalJson(Object.assign(Object.create(null), { a: 1, b: 2 }))).toBe('{"a":1,"b":2}');
    expect(canonicalJson({ 1: 'c', 2: 'b', 10: 'a' })).toBe('{"1":"c","10":"a","2":"b"}');
    expect(canonicalJson({ a: new Date(0), b: 1 })).toBe('{"a":{},"b":1}');
    expect(canonicalJson({ a: { toJSON: 'x' } })).toBe('{"a":{"toJSON":"x"}}');
    expect(() => canonicalJson({ a: { b: 1, toJSON: () => 'x' } })).toThrow(TypeError);
  });

  it('refuses what JSON cannot carry', () => {
    for (const bad of [
      undefined,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -Infinity,
      () => 1,
      Symbol('s'),
      { a: [Number.NaN] },
      [() => 1],
      { a: Number.NaN },
      { a: 1, b: Symbol('s') },
    ]) {
      expect(() => canonicalJson(bad), String(bad)).toThrow(TypeError);
    }
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError);
  });

  it('writes exactly what the first implementation wrote, for 5,000 generated values', () => {
    let objects = 0;
    for (let seed = 1; seed <= 5000; seed++) {
      const v = generator(seed)(0);
      if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 1) objects++;
      let expected: string | Error;
      try {
        expected = reference(v);
      } catch (err) {
        expected = err as Error;
      }
      if (expected instanceof Error) expect(() => canonicalJson(v), `seed ${seed}`).toThrow(TypeError);
      else expect(canonicalJson(v), `seed ${seed}`).toBe(expected);
    }
    // The generator must reach what matters: objects of several members (their order is the point).
    expect(objects).toBeGreaterThan(500);
  });
});
