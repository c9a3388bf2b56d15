// Builds the npm package's JavaScript into dist/ (not committed; npm runs this as `prepare`: on npm install or
// npm ci in a clone, so `npx secret-broker` works there, and before npm pack / npm publish):
//   dist/cli/bin.js + dist/cli/chunks/*   the `secret-broker` CLI. Our code is bundled, npm dependencies stay
//                                         imports (they install with the package, and `npm audit` sees them).
//                                         Code splitting keeps every dynamic import a separate chunk, so the
//                                         modules that load node:sqlite load only when a store command runs
//                                         and the client commands start on Node 20.
//   dist/secret-broker-client.mjs         the single-file exchange client: everything bundled, Node built-ins
//                                         only, so a CI job can download it, check its SHA-256 and run it.
//   dist/SHA256SUMS                       `sha256sum -c` input for the client (published with each release).
// esbuild rather than tsc emit: one tool already used for the action, a single-file client tsc cannot make,
// and deterministic output (no timestamps; paths relative to the repository), so two builds are byte-equal.
//
//   node scripts/build-package.ts                 write dist/
//   node scripts/build-package.ts --pin-template  also pin templates/secret-broker.yml (the GitLab component)
//                                                 to this version and this client's SHA-256 (npm run build)
import { build, type BuildOptions } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
export const PACKAGE_DIST = join(ROOT, 'dist');
export const CLIENT_FILE = 'secret-broker-client.mjs';

const common: BuildOptions = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  // The oldest Node the client commands support (package.json engines).
  target: 'node20',
  format: 'esm',
  charset: 'utf8',
  legalComments: 'eof',
  write: false,
  logLevel: 'warning',
  // Paths as the repository sees them (node_modules/...), also where node_modules is a symlink: the same
  // sources give the same bytes in any checkout.
  preserveSymlinks: true,
};

/** The package's files as { path relative to the repository: text }, built in memory. */
export async function buildPackage(): Promise<Record<string, string>> {
  const cli = await build({
    ...common,
    entryPoints: { bin: 'cli/bin.ts' },
    outdir: 'dist/cli',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    // Bundled CommonJS dependencies call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __sbCreateRequire } from 'node:module';\nconst require = __sbCreateRequire(import.meta.url);",
    },
  });
  const client = await build({
    ...common,
    entryPoints: { 'secret-broker-client': 'cli/client-bin.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.mjs' },
    metafile: true,
  });
  // Dependency-free means only Node built-ins: a bare import would need a node_modules the job does not have.
  const bare = Object.values(client.metafile?.outputs ?? {}).flatMap((o) => o.imports.filter((i) => !i.path.startsWith('node:')));
  if (bare.length) throw new Error(`the single-file client imports ${bare.map((i) => i.path).join(', ')}: it must use Node built-ins only`);
  const files: Record<string, string> = {};
  for (const f of [...(cli.outputFiles ?? []), ...(client.outputFiles ?? [])]) files[relative(ROOT, f.path)] = f.text;
  const clientText = files[`dist/${CLIENT_FILE}`]!;
  files['dist/SHA256SUMS'] = `${sha256(clientText)}  ${CLIENT_FILE}\n`;
  return files;
}

export function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

export const TEMPLATE = join(ROOT, 'templates/secret-broker.yml');

/** The component with its `version` and `client_sha256` input defaults set to this build's. */
export function pinTemplate(text: string, version: string, clientSha256: string): string {
  const pin = (input: string, value: string) => {
    const re = new RegExp(`(\\n    ${input}:\\n(?:      .*\\n)*?      default: ).*\\n`);
    if (!re.test(text)) throw new Error(`templates/secret-broker.yml: no default for input ${input}`);
    text = text.replace(re, `$1${value}\n`);
  };
  pin('version', JSON.stringify(version));
  pin('client_sha256', clientSha256);
  return text;
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

async function cli(): Promise<number> {
  const files = await buildPackage();
  // A clean dist/: no chunk of an earlier build ships in the package.
  rmSync(PACKAGE_DIST, { recursive: true, force: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(ROOT, path, '..'), { recursive: true });
    writeFileSync(join(ROOT, path), text, path.endsWith('.js') || path.endsWith('.mjs') ? { mode: 0o755 } : {});
  }
  const version = packageVersion();
  if (process.argv.includes('--pin-template')) {
    const hash = sha256(files[`dist/${CLIENT_FILE}`]!);
    const before = readFileSync(TEMPLATE, 'utf8');
    const after = pinTemplate(before, version, hash);
    if (after !== before) writeFileSync(TEMPLATE, after);
    process.stderr.write(`templates/secret-broker.yml pins secret-broker ${version}, client ${hash.slice(0, 12)}\n`);
  }
  process.stderr.write(`built dist/ (secret-broker ${version}, ${Object.keys(files).length} files)\n`);
  process.stdout.write(files['dist/SHA256SUMS']!);
  return 0;
}

if (import.meta.main) process.exitCode = await cli();
