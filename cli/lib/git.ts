// Reads a policy directory as it was at a git revision (`git ls-tree` + `git show`), the same files that
// readPolicyDir takes from the working tree: issuers.yaml, roles/*.yaml, tests/*.yaml. No checkout, no
// change to the working tree or the index.
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import type { PolicyFile } from '../../broker/src/policy/load.ts';

const MAX_BUFFER = 64 * 1024 * 1024;

class GitError extends Error {}

function git(cwd: string, args: string[]): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: MAX_BUFFER, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new GitError(`git ${args.join(' ')}: ${stderr || (err as Error).message}`);
  }
}

/** The nearest existing directory at or above `path` (a policy dir may exist at one revision only). */
function existingAncestor(path: string): string {
  let dir = resolve(path);
  while (!existsSync(dir)) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dir;
}

export interface RepoLocation {
  /** The repository's top level (real path). */
  root: string;
  /** The policy directory relative to it, with forward slashes ("" for the root itself). */
  prefix: string;
}

/** Where `dir` sits in its git repository; undefined outside one. */
export function locateInRepo(dir: string): RepoLocation | undefined {
  const start = existingAncestor(dir);
  let root: string;
  try {
    root = git(start, ['rev-parse', '--show-toplevel']).trim();
  } catch {
    return undefined;
  }
  const real = realpathSync(start);
  const rest = relative(start, resolve(dir));
  const prefix = relative(realpathSync(root), resolve(real, rest)).split(sep).join('/');
  return { root, prefix };
}

/** The full commit id of a revision, or a GitError that says it does not exist. */
function resolveRevision(root: string, rev: string): string {
  if (rev.startsWith('-')) throw new GitError(`"${rev}" is not a revision`);
  return git(root, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]).trim();
}

const POLICY_PATH = /^(?:issuers\.ya?ml|roles\/[^/]+\.ya?ml|tests\/[^/]+\.ya?ml)$/;

/**
 * The policy files under `dir` at `rev`. An empty list when the directory does not exist at that revision
 * (a first pull request that adds policies/ diffs against nothing).
 */
export function readPolicyDirAtRevision(dir: string, rev: string): PolicyFile[] {
  const where = locateInRepo(dir);
  if (!where) throw new GitError(`${dir} is not inside a git repository`);
  const commit = resolveRevision(where.root, rev);
  const base = where.prefix === '' ? '' : `${where.prefix}/`;
  const listing = git(where.root, ['ls-tree', '-r', '-z', '--full-tree', '--name-only', commit, '--', base === '' ? '.' : base]);
  const files: PolicyFile[] = [];
  for (const path of listing.split('\0').filter(Boolean).sort()) {
    if (!path.startsWith(base)) continue;
    const rel = path.slice(base.length);
    if (!POLICY_PATH.test(rel)) continue;
    files.push({ path: rel, text: git(where.root, ['show', `${commit}:${path}`]) });
  }
  return files;
}

/** A short name for a revision in reports: the ref as given and its abbreviated commit. */
export function describeRevision(dir: string, rev: string): string {
  const where = locateInRepo(dir);
  if (!where) return rev;
  try {
    const commit = resolveRevision(where.root, rev);
    const short = git(where.root, ['rev-parse', '--short', commit]).trim();
    return /^[0-9a-f]{4,40}$/.test(rev) && commit.startsWith(rev) ? short : `${rev} (${short})`;
  } catch {
    return rev;
  }
}
