// Reads a policy directory into the file list that the pure loader takes.
//
// Only regular files and directories count. A symbolic link inside the directory is an error, never
// followed: git stores a link as its target text, so `policy diff` and the review would show a one-line
// path while the broker read whatever file it points at, and a commit outside policies/ would change a
// role. The directory given on the command line may itself be a link (the operator chose that path).
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { PolicyFile } from '../../src/policy/load.ts';

export class PolicyDirError extends Error {}

const ISSUER_FILES = ['issuers.yaml', 'issuers.yml'];
/** Each subdirectory and the files it holds: role and test YAML, and issuers' key sets (jwks_file). */
const SUBDIRS: [string, RegExp][] = [
  ['roles', /\.ya?ml$/],
  ['tests', /\.ya?ml$/],
  ['jwks', /\.json$/],
];

function kindOf(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFile()) return 'a regular file';
  return 'a special file (not a regular file)';
}

/**
 * Reads one file that must be a regular file: O_NOFOLLOW refuses a link that replaced it after the listing,
 * O_NONBLOCK keeps a FIFO from blocking, and the open file must be the one the listing saw (same device and
 * inode), so nothing swapped in between is read.
 */
function readRegular(path: string, listed: Stats): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile() || opened.dev !== listed.dev || opened.ino !== listed.ino) {
      throw new PolicyDirError(`${path} changed while it was read; policy files must be regular files`);
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

export function readPolicyDir(dir: string): PolicyFile[] {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`policy directory ${dir} does not exist (set --policies or BROKER_POLICIES)`);
  }
  const refused: string[] = [];
  const refuse = (rel: string, stats: Stats, want: string) => refused.push(`${rel} is ${kindOf(stats)}; it must be ${want}`);
  const wanted: { rel: string; path: string; stats: Stats }[] = [];
  const dirs: { sub: string; path: string; stats: Stats }[] = [];

  for (const name of ISSUER_FILES) {
    const path = join(dir, name);
    const stats = lstatSync(path, { throwIfNoEntry: false });
    if (!stats) continue;
    if (stats.isFile()) wanted.push({ rel: name, path, stats });
    else refuse(name, stats, 'a regular file');
  }
  for (const [sub, pattern] of SUBDIRS) {
    const subdir = join(dir, sub);
    const stats = lstatSync(subdir, { throwIfNoEntry: false });
    if (!stats) continue;
    if (!stats.isDirectory()) {
      refuse(`${sub}/`, stats, 'a directory (not a link to one)');
      continue;
    }
    dirs.push({ sub, path: subdir, stats });
    for (const name of readdirSync(subdir).sort()) {
      if (!pattern.test(name)) continue;
      const path = join(subdir, name);
      const entry = lstatSync(path);
      if (entry.isFile()) wanted.push({ rel: `${sub}/${name}`, path, stats: entry });
      else refuse(`${sub}/${name}`, entry, 'a regular file');
    }
  }
  if (refused.length > 0) {
    throw new PolicyDirError(
      `policy directory ${dir}: ${refused.join('; ')} (policy files are read only as regular files; replace links with the file itself)`,
    );
  }
  const files = wanted.map((w) => {
    try {
      return { path: w.rel, text: readRegular(w.path, w.stats) };
    } catch (err) {
      if (err instanceof PolicyDirError) throw err;
      // ELOOP: the entry became a link after the listing
      throw new PolicyDirError(
        `policy directory ${dir}: ${w.rel} could not be read as a regular file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  });
  // Each subdirectory must still be the one listed (O_NOFOLLOW guards only the last path component).
  for (const d of dirs) {
    const after = lstatSync(d.path, { throwIfNoEntry: false });
    if (!after?.isDirectory() || after.ino !== d.stats.ino || after.dev !== d.stats.dev) {
      throw new PolicyDirError(`policy directory ${dir}: ${d.sub}/ changed while it was read`);
    }
  }
  return files;
}
