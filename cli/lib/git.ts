// Reads a policy directory as it was at a git revision (`git ls-tree` + `git show`), the same files that
// readPolicyDir takes from the working tree: issuers.yaml, roles/*.yaml, tests/*.yaml. No checkout, no
// change to the working tree or the index.
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import type { PolicyFile } from '../../broker/src/policy/load.ts';

const MAX_BUFFER = 64 * 1024 * 1024;

export class GitError extends Error {}

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

/** The real path, or undefined for a path that does not exist. */
function realOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Where `dir` sits in its git repository; undefined outside one. The prefix is the path as given, below the
 * top level: links inside the repository are not resolved here, so a policies/ that is a link in the
 * working tree is read (and refused) as git stores it, not as the directory it points at.
 */
export function locateInRepo(dir: string): RepoLocation | undefined {
  const start = existingAncestor(dir);
  let root: string;
  try {
    root = git(start, ['rev-parse', '--show-toplevel']).trim();
  } catch {
    return undefined;
  }
  const top = realpathSync(root);
  const tail: string[] = [];
  let at = resolve(dir);
  while (realOrUndefined(at) !== top) {
    const up = dirname(at);
    if (up === at) {
      // the path does not lead through the top level lexically (a link above it): resolve it whole
      const rest = relative(start, resolve(dir));
      return {
        root,
        prefix: relative(top, resolve(realpathSync(start), rest))
          .split(sep)
          .join('/'),
      };
    }
    tail.unshift(basename(at));
    at = up;
  }
  return { root, prefix: tail.join('/') };
}

/** The full commit id of a revision, or a GitError that says it does not exist. */
function resolveRevision(root: string, rev: string): string {
  if (rev.startsWith('-')) throw new GitError(`"${rev}" is not a revision`);
  return git(root, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]).trim();
}

const POLICY_PATH = /^(?:issuers\.ya?ml|roles\/[^/]+\.ya?ml|tests\/[^/]+\.ya?ml|jwks\/[^/]+\.json)$/;
/** Paths (relative to the policy directory) that the reader opens or walks: none may be a link. */
const READ_PATH = /^(?:issuers\.ya?ml|roles|tests|jwks|roles\/[^/]+\.ya?ml|tests\/[^/]+\.ya?ml|jwks\/[^/]+\.json)$/;
/** git modes of a symbolic link and of a submodule (gitlink): content that review would not see. */
const LINK_MODES: Record<string, string> = { '120000': 'a symbolic link', '160000': 'a submodule' };

interface TreeEntry {
  mode: string;
  path: string;
}

/** `git ls-tree -z` output: "<mode> <type> <object>\t<path>" records. */
function parseTree(listing: string): TreeEntry[] {
  return listing
    .split('\0')
    .filter(Boolean)
    .map((record) => {
      const tab = record.indexOf('\t');
      return { mode: record.slice(0, record.indexOf(' ')), path: record.slice(tab + 1) };
    });
}

/**
 * The policy files under `dir` at `rev`. An empty list when the directory does not exist at that revision
 * (a first pull request that adds policies/ diffs against nothing). A symbolic link or submodule at the
 * policy directory, at one of its parents, or at any path the reader takes is a GitError: git stores a
 * link as its target text, so the change that matters would happen outside the reviewed files.
 */
export function readPolicyDirAtRevision(dir: string, rev: string): PolicyFile[] {
  const where = locateInRepo(dir);
  if (!where) throw new GitError(`${dir} is not inside a git repository`);
  const commit = resolveRevision(where.root, rev);
  const base = where.prefix === '' ? '' : `${where.prefix}/`;
  const refused: string[] = [];
  if (where.prefix !== '') {
    const parts = where.prefix.split('/');
    const ancestors = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    for (const entry of parseTree(git(where.root, ['ls-tree', '-z', '--full-tree', commit, '--', ...ancestors]))) {
      const what = LINK_MODES[entry.mode];
      if (what && ancestors.includes(entry.path)) refused.push(`${entry.path} is ${what}`);
    }
  }
  const files: PolicyFile[] = [];
  if (refused.length === 0) {
    const listing = git(where.root, ['ls-tree', '-r', '-z', '--full-tree', commit, '--', base === '' ? '.' : base]);
    for (const entry of parseTree(listing).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
      if (!entry.path.startsWith(base)) continue;
      const rel = entry.path.slice(base.length);
      const what = LINK_MODES[entry.mode];
      if (what) {
        if (READ_PATH.test(rel)) refused.push(`${entry.path} is ${what}`);
        continue;
      }
      if (!POLICY_PATH.test(rel)) continue;
      // cat-file: the blob's bytes as stored, whatever .gitattributes in that revision says
      files.push({ path: rel, text: git(where.root, ['cat-file', 'blob', `${commit}:${entry.path}`]) });
    }
  }
  if (refused.length > 0) {
    throw new GitError(
      `at ${rev}: ${refused.join('; ')}; policy files must be regular files in the repository (replace the link with the file itself)`,
    );
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
