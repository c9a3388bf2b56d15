// The docs cite files: every cited path must exist, in the docs and in code comments alike (comments that
// cite docs/ARCHITECTURE.md or docs/SECURITY.md send a reader there).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const TOP = ['broker', 'cli', 'client', 'action/src', 'scripts', 'test', 'migrations', 'templates', 'policies', 'docs'];
/** A repository path as the docs write it: a known top folder, then a file with an extension. */
const CITED =
  /(?<![\w/.-])((?:broker|cli|client|action|scripts|test|docs|migrations|templates|policies)\/[A-Za-z0-9_./-]+\.(?:ts|md|yml|yaml|sql|json))\b/g;
/**
 * Paths that stand for a file rather than name one (placeholders: NAME, NNNN_name, x; the README's sample
 * output), and the Worker's policy bundle, which the build generates and git ignores.
 */
const EXAMPLE = /\/(?:[A-Z]+|x)(?:_[a-z]+)?\.\w+$|^policies\/roles\/(?:org-wide|app)\.yaml$|^broker\/entry\/policy-bundle\.gen\.ts$/;

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files(path, out);
    else if (/\.(ts|md)$/.test(name)) out.push(path);
  }
  return out;
}

/** Markdown whole; in code, the comments only (string literals in tests are data, not citations). */
function citingText(path: string): string {
  const text = readFileSync(path, 'utf8');
  if (path.endsWith('.md')) return text;
  return text
    .split('\n')
    .filter((line) => /^\s*(?:\/\/|\*|\/\*\*)/.test(line))
    .join('\n');
}

function missingCitations(path: string): string[] {
  return [...citingText(path).matchAll(CITED)]
    .map((m) => m[1]!)
    .filter((cited) => !cited.includes('*') && !EXAMPLE.test(cited) && !existsSync(join(ROOT, cited)))
    .map((cited) => `${relative(ROOT, path)} cites ${cited}`);
}

describe('docs', () => {
  it('docs/ holds the architecture, the security rules and the reason table, and README points to them', () => {
    for (const doc of ['docs/ARCHITECTURE.md', 'docs/SECURITY.md', 'docs/REASONS.md', 'CONTRIBUTING.md', 'CHANGELOG.md']) {
      expect(existsSync(join(ROOT, doc)), doc).toBe(true);
    }
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('docs/SECURITY.md');
    expect(readme).toContain('docs/ARCHITECTURE.md');
  });

  it('every path the docs, the README and code comments cite exists', () => {
    const sources = [
      join(ROOT, 'README.md'),
      join(ROOT, 'CONTRIBUTING.md'),
      ...TOP.filter((d) => existsSync(join(ROOT, d))).flatMap((d) => files(join(ROOT, d))),
    ];
    expect(sources.flatMap(missingCitations)).toEqual([]);
  });
});
