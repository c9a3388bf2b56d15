// Bundles the GitHub Action: action/src/{main,post}.ts -> action/dist/{main,post}.js, committed, because a
// runner executes the action straight from the repository without installing anything. The output is
// deterministic (no timestamps, paths relative to the repository), so CI can rebuild and diff it.
//
//   node scripts/build-action.ts            write action/dist
//   node scripts/build-action.ts --check    exit 1 when action/dist differs from a fresh build
import { build, type BuildOptions } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
export const ACTION_DIST = join(ROOT, 'action/dist');

/** The bundles as { path relative to the repository: text }, built in memory. */
export async function buildAction(): Promise<Record<string, string>> {
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const options: BuildOptions = {
    absWorkingDir: ROOT,
    entryPoints: { main: 'action/src/main.ts', post: 'action/src/post.ts' },
    outdir: 'action/dist',
    bundle: true,
    platform: 'node',
    target: 'node24',
    // ESM, because @actions/core 3 is ESM only; action/dist/package.json says so to Node.
    format: 'esm',
    // Bundled CommonJS dependencies (tunnel, undici) call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __sbCreateRequire } from 'node:module';\nconst require = __sbCreateRequire(import.meta.url);",
    },
    // See action/src/undici-stub.ts: only fetch-based proxy support needs undici, and nothing here uses it.
    alias: { undici: './action/src/undici-stub.ts' },
    define: { ACTION_VERSION: JSON.stringify(version) },
    legalComments: 'eof',
    charset: 'utf8',
    write: false,
    logLevel: 'warning',
  };
  const result = await build(options);
  const files: Record<string, string> = { 'action/dist/package.json': '{ "type": "module" }\n' };
  for (const f of result.outputFiles ?? []) files[relative(ROOT, f.path)] = f.text;
  return files;
}

async function cli(): Promise<number> {
  const files = await buildAction();
  if (process.argv.includes('--check')) {
    const stale = Object.entries(files).filter(
      ([path, text]) => !existsSync(join(ROOT, path)) || readFileSync(join(ROOT, path), 'utf8') !== text,
    );
    for (const [path] of stale)
      process.stderr.write(`${path} differs from a fresh build of action/src: run 'npm run build' and commit action/dist\n`);
    return stale.length ? 1 : 0;
  }
  mkdirSync(ACTION_DIST, { recursive: true });
  for (const [path, text] of Object.entries(files)) writeFileSync(join(ROOT, path), text);
  process.stderr.write(`built ${Object.keys(files).join(', ')}\n`);
  return 0;
}

if (import.meta.main) process.exitCode = await cli();
