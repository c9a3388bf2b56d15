// The policy pattern engine inside workerd: the Worker bundles the same broker/src/policy/pattern.ts (re2js),
// so the same globs and regexes mean the same thing there and stay linear on attacker-chosen claims.
import { describe, expect, it } from 'vitest';
import { compileGlob, compileRegex } from '../../broker/src/policy/compile.ts';
import { PATTERN_CLAIM_MAX } from '../../broker/src/policy/pattern.ts';

const A = 'a'.repeat(PATTERN_CLAIM_MAX - 1);

describe('policy patterns inside workerd', () => {
  it.each([
    ['glob', 'refs/heads/release/*', 'refs/heads/release/1.2', true],
    ['glob', 'refs/heads/release/*', 'refs/heads/release/1/2', false],
    ['glob', 'refs/heads/*', 'refs/heads/', false],
    ['glob', '{main,dev}', 'dev', true],
    ['glob', '(a|b)', 'a', false],
    ['regex', 'v[0-9]+', 'v12', true],
    ['regex', 'v[0-9]+', 'xv12', false],
    ['regex', 'refs/tags/v\\d+\\.\\d+', 'refs/tags/v1.2', true],
    ['regex', 'Main', 'main', false],
  ] as const)('%s %s on %s -> %s, as on Node', (kind, pattern, claim, expected) => {
    const compiled = kind === 'glob' ? compileGlob(pattern) : compileRegex(pattern);
    expect(compiled.test(claim)).toBe(expected);
  });

  it.each(['(a+)+b', '(a|aa)*c', '(.*)*x', '(?:[ab]*a[ab]{9}){9}c'])('regex %s stays linear on a capped worst-case claim', (source) => {
    const re = compileRegex(source);
    re.test(`${A}!`);
    const t = performance.now();
    expect(re.test(`${A}!`)).toBe(false);
    // workerd's clock only advances across I/O, so this mostly proves the call returns at all; the 5 ms
    // budget is measured on Node (test/unit/security/patterns.test.ts).
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('a glob of many stars on a long claim returns', () => {
    const re = compileGlob('*a*a*a*a*a*a*a*a*a*a*a*a*b');
    expect(re.test(`${A}!`)).toBe(false);
  });
});
