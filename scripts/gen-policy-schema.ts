// Writes policies/schema.json, the JSON Schema of a role file, from the zod schema the loader enforces.
//
//   node scripts/gen-policy-schema.ts [--out FILE] [--check]
//
// --check exits 1 when the file is out of date instead of writing it (test/unit/policy/review/json-schema.test.ts
// does the same comparison). Editors pick the schema up from the first line of a role file:
//   # yaml-language-server: $schema=../schema.json
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { renderRoleJsonSchema } from '../broker/src/policy/review/json-schema.ts';

export const SCHEMA_PATH = resolve(import.meta.dirname, '../policies/schema.json');

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, check: { type: 'boolean' } } });
  const out = resolve(values.out ?? SCHEMA_PATH);
  const text = renderRoleJsonSchema();
  if (values.check) {
    let current = '';
    try {
      current = readFileSync(out, 'utf8');
    } catch {
      // missing: out of date
    }
    if (current !== text) {
      process.stderr.write(`${out} is out of date: run node scripts/gen-policy-schema.ts\n`);
      process.exitCode = 1;
    }
  } else {
    writeFileSync(out, text);
    process.stdout.write(`wrote ${out}\n`);
  }
}
