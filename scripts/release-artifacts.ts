// The files a release publishes, made the way .github/workflows/release.yml makes them (it runs this), so a
// test can check them here:
//   <out>/secret-broker-X.Y.Z.tgz      the npm package (npm pack, which builds dist/); `npm publish` gets this file
//   <out>/secret-broker-client.mjs     the single-file client, attached to the GitHub release
//   <out>/SHA256SUMS                   both, for `sha256sum -c`
// It refuses a tag that is not v<package.json version>, and a GitLab component whose pin (version, client
// SHA-256) is not this build's: the component at the tag must name the client the release attaches.
//
//   node scripts/release-artifacts.ts [--out release] [--tag v1.2.3]
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildPackage, CLIENT_FILE, packageVersion, pinTemplate, sha256, TEMPLATE } from './build-package.ts';

const ROOT = resolve(import.meta.dirname, '..');

export async function releaseArtifacts(out: string, tag?: string): Promise<{ tarball: string; client: string; sums: string }> {
  const version = packageVersion();
  if (tag !== undefined && tag !== `v${version}`)
    throw new Error(`tag ${tag} does not match package.json version ${version} (expected v${version})`);
  const built = await buildPackage();
  const clientHash = sha256(built[`dist/${CLIENT_FILE}`]!);
  const template = readFileSync(TEMPLATE, 'utf8');
  if (pinTemplate(template, version, clientHash) !== template)
    throw new Error("templates/secret-broker.yml does not pin this version's client: run 'npm run build' and commit it");

  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // npm pack runs `prepare` (scripts/build-package.ts), so the tarball holds a fresh dist/.
  const pack = spawnSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: ROOT, encoding: 'utf8' });
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as [{ filename: string }];
  const tarball = join(out, packed.filename);
  const client = join(out, CLIENT_FILE);
  copyFileSync(join(ROOT, 'dist', CLIENT_FILE), client);
  if (sha256(readFileSync(client)) !== clientHash) throw new Error('dist/ changed while packing: the client is not the one checked');
  const sums = join(out, 'SHA256SUMS');
  writeFileSync(sums, [tarball, client].map((f) => `${sha256(readFileSync(f))}  ${f.slice(out.length + 1)}\n`).join(''));
  return { tarball, client, sums };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, tag: { type: 'string' } } });
  try {
    const files = await releaseArtifacts(resolve(values.out ?? join(ROOT, 'release')), values.tag);
    process.stdout.write(readFileSync(files.sums, 'utf8'));
  } catch (err) {
    process.stderr.write(`release-artifacts: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
