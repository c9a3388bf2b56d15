// How `secret-broker exchange` writes credentials to stdout. Each format is meant for a machine: a shell
// that sources it, a dotenv reader, or a JSON parser. Values are written as they are, never reformatted.
import type { EnvVar } from '../../client/env.ts';

/** POSIX shell: `export NAME='value'`, for `. file` or `eval`. Single quotes keep every byte literal. */
export function formatEnv(vars: EnvVar[]): string {
  return vars.map((v) => `export ${v.name}=${shellQuote(v.value)}\n`).join('');
}

/**
 * dotenv: `NAME='value'` (literal in every dotenv reader); a value with a newline or a single quote is
 * double-quoted with \n, \r, \" and \\ escapes instead, the convention of python-dotenv, dotenv and Compose.
 */
export function formatDotenv(vars: EnvVar[]): string {
  return vars
    .map((v) => {
      if (!/[\r\n']/.test(v.value)) return `${v.name}='${v.value}'\n`;
      const escaped = v.value.replace(/[\\"\n\r]/g, (ch) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r' })[ch] ?? ch);
      return `${v.name}="${escaped}"\n`;
    })
    .join('');
}

export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
