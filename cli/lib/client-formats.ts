// How `secret-broker exchange` writes credentials to stdout. Each format is meant for a machine: a shell
// that sources it, a dotenv reader, or a JSON parser. Values are written as they are, never reformatted, and
// never in a form any of those readers would execute or expand.
import { printableName, type EnvVar } from '../../client/env.ts';

/**
 * POSIX shell: `export NAME='value'`, for `. file` or `eval`. Inside single quotes sh and bash take every
 * byte literally (no `$`, backquote or backslash processing); a `'` closes, escapes and reopens as `'\''`.
 * NUL, the one byte a shell cannot hold, never gets here (client/env.ts refuses it).
 */
export function formatEnv(vars: EnvVar[]): string {
  return vars.map((v) => `export ${v.name}=${shellQuote(v.value)}\n`).join('');
}

/**
 * Why `value` cannot be written as a dotenv line that every reader takes back verbatim, or undefined.
 * The line is `NAME='value'`: single quotes are literal in sh and bash (`set -a; . file`) and in npm dotenv,
 * but python-dotenv expands `${VAR}` even there and decodes `\\` and `\'`, npm dotenv turns every CR into a
 * LF, and a reader without multi-line support would take each line of a value as a line of the file (a
 * variable of its own). Double quotes are no way out: the shell expands `$(...)` inside them. Such values
 * go out with `--format env` or `--format json` instead. Never echoes the value.
 */
export function dotenvValueProblem(value: string): string | undefined {
  if (value.includes("'")) return 'the value contains a single quote';
  if (/[\r\n\u2028\u2029]/.test(value)) return 'the value spans lines (CR, LF or a Unicode line separator)';
  if (value.includes('${')) return 'the value contains "${", which python-dotenv expands';
  if (/\\\\|\\$/.test(value)) return 'the value contains "\\\\" or ends with "\\", which dotenv readers unescape';
  return undefined;
}

/** Every variable whose value `dotenvValueProblem` refuses, as `"NAME": why` (names only). */
export function dotenvProblems(vars: EnvVar[]): string[] {
  return vars.flatMap((v) => {
    const problem = dotenvValueProblem(v.value);
    return problem ? [`${printableName(v.name)}: ${problem}`] : [];
  });
}

/** dotenv: `NAME='value'`, read back verbatim by python-dotenv, npm dotenv and `set -a; . file`. */
export function formatDotenv(vars: EnvVar[]): string {
  // The caller checks dotenvProblems first, to say which variables; this guard keeps the function safe alone.
  if (dotenvProblems(vars).length) throw new Error('formatDotenv: a value cannot be written as dotenv');
  return vars.map((v) => `${v.name}='${v.value}'\n`).join('');
}

export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
