// `secret-broker exchange` output formats against hostile values, read back by the real consumers: dash and
// bash source the files, python-dotenv (when installed) parses them with its default interpolation, and
// npm dotenv's documented parsing rules are checked by a small oracle below (the package is not installed
// here). Every value must come back byte for byte, or be refused; nothing may run or expand.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EnvVar } from '../../../client/env.ts';
import { dotenvProblems, dotenvValueProblem, formatDotenv, formatEnv } from '../../../cli/lib/client-formats.ts';
import { allTypesResponse, serveFakeBroker } from '../../helpers/fake-broker.ts';
import { runCli } from '../../helpers/processes.ts';

const root = mkdtempSync(join(tmpdir(), 'sb-formats-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// A variable the readers could leak into a value if they expanded anything.
const CANARY = 'canary-value-must-not-appear';

const HOSTILE = [
  '$(touch pwned-subst)',
  '`touch pwned-backtick`',
  '$(touch "$HOME/pwned-home")',
  '${CANARY}',
  '${CANARY:-default}',
  '$CANARY',
  '$((1+1))',
  "$'\\x41'",
  'a\\b',
  'ends-with-backslash\\',
  'double\\\\backslash',
  "it's",
  "'",
  "'$(touch pwned-after-quote)'",
  '"',
  '"$(touch pwned-dq)"',
  'line1\nline2',
  'line1\nCANARY=injected',
  'cr\rcr',
  'crlf\r\nEVIL=1',
  '\\n literal backslash-n',
  '#not-a-comment',
  'value # trailing',
  'a=b=c',
  '   leading and trailing   ',
  '\ttab\t',
  'unicodé ✓ 日本語 🚀',
  '\u2028sep\u2029',
  '!!:0 !$ ~root *?[a]',
  '; touch pwned-semicolon; #',
  '&& touch pwned-and',
  '| touch pwned-pipe',
  '> pwned-redirect',
  'export EVIL=1',
  '-----BEGIN KEY-----\nMIIline\n-----END KEY-----\n',
  '{"private_key": "-----BEGIN-----\\nMII\\n-----END-----\\n", "x": "y"}',
  'x'.repeat(20_000),
];

/** A run's environment after sourcing `file`, and the files the run left in its working directory. */
function source(shell: 'dash' | 'bash', script: string, file: string): { env: Map<string, string>; files: string[]; stderr: string } {
  const work = mkdtempSync(join(root, `${shell}-`));
  const run = spawnSync(shell, ['-c', `${script}\nexec env -0`, shell, file], {
    cwd: work,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, CANARY },
  });
  expect(run.error).toBeUndefined();
  const env = new Map<string, string>();
  for (const entry of run.stdout.split('\0').filter(Boolean)) {
    const eq = entry.indexOf('=');
    env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return { env, files: readdirSync(work), stderr: run.stderr };
}

function writeOut(text: string): string {
  const dir = mkdtempSync(join(root, 'out-'));
  const file = join(dir, 'credentials');
  writeFileSync(file, text);
  return file;
}

const asVars = (values: string[]): EnvVar[] => values.map((value, i) => ({ name: `V_${i}`, value }));

function expectVerbatim(got: Map<string, string> | Record<string, string | null>, vars: EnvVar[], reader: string) {
  const read = got instanceof Map ? Object.fromEntries(got) : got;
  for (const v of vars) expect(read[v.name], `${reader}: ${JSON.stringify(v.value.slice(0, 60))}`).toBe(v.value);
}

const hasPython = spawnSync('python3', ['-c', 'import dotenv'], { encoding: 'utf8' }).status === 0;

/** python-dotenv's dotenv_values, with its default interpolation and CANARY in its environment. */
function pythonDotenv(file: string): Record<string, string | null> {
  const run = spawnSync(
    'python3',
    ['-c', 'import dotenv, json, sys; sys.stdout.write(json.dumps(dotenv.dotenv_values(sys.argv[1])))', file],
    {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', CANARY, HOME: root },
    },
  );
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Record<string, string | null>;
}

/**
 * npm dotenv's parsing, from its documented rules (README "What rules does the parsing engine follow?"):
 * CR and CRLF become LF before parsing; `KEY=` then a value in single quotes, double quotes or backquotes
 * (each may span lines, a backslash-escaped quote does not close it) or unquoted up to `#` or the line end;
 * the raw value is trimmed, the outer quotes removed, and only double-quoted values expand `\n` and `\r`.
 */
function npmDotenvRules(src: string): Record<string, string> {
  const text = src.replace(/\r\n?/g, '\n');
  const out: Record<string, string> = {};
  const line = /^[ \t]*(?:export[ \t]+)?([\w.-]+)[ \t]*=[ \t]*('(?:\\'|[^'])*'|"(?:\\"|[^"])*"|`(?:\\`|[^`])*`|[^#\n]*)[^\n]*$/gm;
  for (const m of text.matchAll(line)) {
    let value = (m[2] ?? '').trim();
    const quote = value[0];
    if ((quote === "'" || quote === '"' || quote === '`') && value.endsWith(quote) && value.length >= 2) value = value.slice(1, -1);
    if (quote === '"') value = value.replaceAll('\\n', '\n').replaceAll('\\r', '\r');
    out[m[1]!] = value;
  }
  return out;
}

describe('env format: every value is inert and verbatim in sh and bash', () => {
  const vars = asVars(HOSTILE);
  const file = writeOut(formatEnv(vars));

  it.each(['dash', 'bash'] as const)(
    'no value executes or expands when --format env is sourced by %s; every value reads back verbatim',
    (shell) => {
      const { env, files, stderr } = source(shell, '. "$1"', file);
      expect(stderr).toBe('');
      expect(files).toEqual([]);
      expectVerbatim(env, vars, shell);
    },
  );

  it('the same holds for eval "$(cat file)", the other documented way to load it', () => {
    const { env, files } = source('bash', 'eval "$(cat "$1")"', file);
    expect(files).toEqual([]);
    expectVerbatim(env, vars, 'bash eval');
  });
});

/** The values formatDotenv accepts (one at a time: it refuses a set with any value it cannot carry). */
function dotenvAccepted(values: string[]): EnvVar[] {
  return asVars(values).filter((v) => {
    try {
      formatDotenv([v]);
      return true;
    } catch {
      return false;
    }
  });
}

/** Reads `vars` back through every dotenv consumer and checks each value is verbatim and nothing ran. */
function expectDotenvInert(vars: EnvVar[]) {
  const text = formatDotenv(vars);
  const file = writeOut(text);
  for (const shell of ['dash', 'bash'] as const) {
    const { env, files, stderr } = source(shell, 'set -a; . "$1"', file);
    expect(stderr, shell).toBe('');
    expect(files, shell).toEqual([]);
    expectVerbatim(env, vars, shell);
  }
  expectVerbatim(npmDotenvRules(text), vars, 'npm dotenv rules');
  if (hasPython) expectVerbatim(pythonDotenv(file), vars, 'python-dotenv');
}

describe('dotenv format: a value is written only if every reader takes it back verbatim, else refused', () => {
  it('no value can execute or expand under sh, bash, python-dotenv or npm dotenv; what they cannot carry verbatim is refused', () => {
    const accepted = dotenvAccepted(HOSTILE);
    expectDotenvInert(accepted);
    // What the readers cannot all take literally in single quotes: the quote itself, line breaks (CR is
    // rewritten by npm dotenv, and a reader without multi-line values reads each line as a variable), ${
    // (python-dotenv expands it even in single quotes), \\ and a final \ (python-dotenv and npm dotenv unescape).
    const refused = HOSTILE.filter((v) => !accepted.some((a) => a.value === v));
    for (const v of [
      "it's",
      "'",
      "'$(touch pwned-after-quote)'",
      'line1\nline2',
      'cr\rcr',
      '${CANARY}',
      '${CANARY:-default}',
      'double\\\\backslash',
      'ends-with-backslash\\',
    ]) {
      expect(refused, JSON.stringify(v)).toContain(v);
    }
    // One unsafe value makes the whole set unwritable, never a file with that line left out.
    expect(() => formatDotenv(asVars(HOSTILE))).toThrow();
  });

  it('still writes the values that are safe, the way it always did', () => {
    expect(formatDotenv([{ name: 'A', value: 'abc $HOME `x` "q" #h a\\b' }])).toBe(`A='abc $HOME \`x\` "q" #h a\\b'\n`);
    expect(dotenvAccepted(HOSTILE).map((v) => v.value)).toEqual(
      expect.arrayContaining([
        '$(touch pwned-subst)',
        '`touch pwned-backtick`',
        '$CANARY',
        '#not-a-comment',
        '   leading and trailing   ',
        'unicodé ✓ 日本語 🚀',
        '{"private_key": "-----BEGIN-----\\nMII\\n-----END-----\\n", "x": "y"}',
        'x'.repeat(20_000),
      ]),
    );
  });

  it('random values built from shell and dotenv metacharacters: each is refused or read back verbatim by every reader', () => {
    // A fixed-seed generator, so a failure names a value that can be reproduced.
    let seed = 0x5eed;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const alphabet = [
      "'",
      '"',
      '`',
      '$',
      '{',
      '}',
      '(',
      ')',
      '\\',
      '\n',
      '\r',
      '#',
      '=',
      ' ',
      '\t',
      ';',
      '&',
      '|',
      '<',
      '>',
      '*',
      '?',
      '!',
      '~',
      'a',
      'Z',
      '0',
      'é',
      '🚀',
      '\u2028',
    ];
    const values = Array.from({ length: 400 }, () =>
      Array.from({ length: 1 + Math.floor(next() * 12) }, () => alphabet[Math.floor(next() * alphabet.length)]!).join(''),
    );
    const safe = dotenvAccepted(values);
    expect(safe.length).toBeGreaterThan(20);
    expectDotenvInert(safe);
    // The env format takes every one of them.
    const everything = asVars(values);
    const envOut = writeOut(formatEnv(everything));
    for (const shell of ['dash', 'bash'] as const) {
      const { env, files } = source(shell, '. "$1"', envOut);
      expect(files).toEqual([]);
      expectVerbatim(env, everything, shell);
    }
  });

  it.runIf(hasPython)('python-dotenv is installed here, so it was run as an oracle', () => {
    expect(pythonDotenv(writeOut("A='$HOME'\n")).A).toBe('$HOME');
  });

  it('problems name the variable and never the value', () => {
    expect(dotenvValueProblem('fine')).toBeUndefined();
    const problems = dotenvProblems([
      { name: 'OK', value: 'fine' },
      { name: 'BAD', value: "hidden-'-value" },
    ]);
    expect(problems).toEqual(['"BAD": the value contains a single quote']);
  });
});

describe('secret-broker exchange --format dotenv', () => {
  it('refuses values dotenv cannot carry with exit 4, naming --format env and --format json, and writes nothing', async () => {
    const body = {
      ...allTypesResponse(),
      credentials: [
        { type: 'secret', name: 'X', env: 'API_KEY', value: "hidden-'$(touch pwned)'" },
        { type: 'secret', name: 'Y', env: 'OTHER', value: 'plain' },
      ],
    };
    const fake = await serveFakeBroker({ '/v1/exchange': [{ status: 200, body }] });
    try {
      const env = { SECRET_BROKER_ID_TOKEN: 'a.b.c' };
      const r = await runCli(['exchange', '--broker', fake.url, '--role', 'deploy', '--format', 'dotenv'], { env });
      expect(r.code).toBe(4);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/"API_KEY": the value contains a single quote/);
      expect(r.stderr).toMatch(/--format env or --format json/);
      expect(r.stderr).not.toContain('hidden');
      // The same answer is fine as env (every byte literal in single quotes) and as json.
      expect((await runCli(['exchange', '--broker', fake.url, '--role', 'deploy', '--format', 'env'], { env })).code).toBe(0);
      expect((await runCli(['exchange', '--broker', fake.url, '--role', 'deploy', '--format', 'json'], { env })).code).toBe(0);
    } finally {
      await fake.close();
    }
  });
});
