// The CLI's output formats, checked by reading them back the way their consumers do (bash for env).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { dotenvProblems, formatDotenv, formatEnv, shellQuote } from '../../../cli/lib/client-formats.ts';

const VALUES = [
  ['PLAIN', 'abc123'],
  ['QUOTES', `it's "quoted" $HOME \`id\` \\n`],
  ['MULTI', '-----BEGIN-----\nline two\r\n-----END-----'],
  ['SPACES', '  padded  '],
  ['JSON', '{"a": "b", "c": [1, 2]}'],
] as const;
const vars = VALUES.map(([name, value]) => ({ name, value }));

describe('formatEnv', () => {
  it('is read back by bash byte for byte, with no expansion', () => {
    const script = `${formatEnv(vars)}\nfor n in ${VALUES.map(([n]) => n).join(' ')}; do printf '%s\\0' "\${!n}"; done`;
    const run = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.split('\0').slice(0, -1)).toEqual(VALUES.map(([, v]) => v));
  });

  it('quotes single quotes the POSIX way', () => {
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
    expect(formatEnv([{ name: 'X', value: 'v' }])).toBe("export X='v'\n");
  });
});

describe('formatDotenv', () => {
  // It used to double-quote values with a quote or a newline, where a sourcing shell runs $(...): those are
  // now refused (test/unit/security/client-formats.test.ts has the adversarial cases).
  it('single-quotes the values every reader takes literally and refuses the others', () => {
    const safe = vars.filter((v) => v.name === 'PLAIN' || v.name === 'SPACES' || v.name === 'JSON');
    expect(formatDotenv(safe)).toBe(["PLAIN='abc123'", "SPACES='  padded  '", `JSON='{"a": "b", "c": [1, 2]}'`, ''].join('\n'));
    expect(dotenvProblems(vars)).toEqual([
      '"QUOTES": the value contains a single quote',
      '"MULTI": the value spans lines (CR, LF or a Unicode line separator)',
    ]);
    expect(() => formatDotenv(vars)).toThrow();
  });
});
