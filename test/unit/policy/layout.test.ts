// The request path never loads the review tooling: no broker module outside broker/src/policy/review/ imports
// one inside it, so neither the Worker bundle nor the Node server carries the lint, diff or rule table.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const REVIEW = join(ROOT, 'broker/src/policy/review');

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => resolve(dirname(file), m[1]!));
}

describe('broker/src/policy/review', () => {
  it('is imported by no runtime module (broker/src, broker/entry)', () => {
    const runtime = readdirSync(join(ROOT, 'broker'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(ROOT, 'broker', f))
      .filter((f) => !f.startsWith(`${REVIEW}/`));
    expect(runtime.length).toBeGreaterThan(20);
    const offending = runtime.flatMap((file) =>
      importsOf(file)
        .filter((target) => target.startsWith(`${REVIEW}/`))
        .map((target) => `${relative(ROOT, file)} -> ${relative(ROOT, target)}`),
    );
    expect(offending).toEqual([]);
  });
});
