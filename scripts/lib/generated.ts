// The one way a generator script writes its committed output, or with --check says it is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * `node scripts/<generator>.ts [--out FILE] [--check]`: writes `text` to the default path (or --out), or with
 * --check exits 1 (process.exitCode) when the file differs, naming the command that refreshes it.
 */
export function writeOrCheck(defaultPath: string, text: string, regenerate: string): void {
  const { values } = parseArgs({ options: { out: { type: 'string' }, check: { type: 'boolean' } } });
  const out = resolve(values.out ?? defaultPath);
  if (values.check) {
    let current = '';
    try {
      current = readFileSync(out, 'utf8');
    } catch {
      // missing: out of date
    }
    if (current !== text) {
      process.stderr.write(`${out} is out of date: run ${regenerate}\n`);
      process.exitCode = 1;
    }
  } else {
    writeFileSync(out, text);
    process.stdout.write(`wrote ${out}\n`);
  }
}
