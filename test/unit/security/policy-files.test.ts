// Policy files are read only as regular files: a symbolic link (or a git symlink / submodule entry) inside the
// policy directory is an error for every reader — the Node entry, the Worker bundle, `policy diff` and the
// pull-request review — so no role can change through a commit outside policies/.
import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { PolicyDirError, readPolicyDir } from '../../../broker/entry/node/policy-files.ts';
import { GitError, readPolicyDirAtRevision } from '../../../cli/lib/git.ts';
import { buildReview } from '../../../cli/lib/review.ts';
import { readCheckedPolicies } from '../../../scripts/bundle-policies.ts';
import { createTempRepo, SHIPPED, type TempRepo } from '../review/temp-repo.ts';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

/** A copy of the shipped policies in a temp dir, plus an "elsewhere" dir outside it. */
function workdir(): { root: string; policies: string; elsewhere: string } {
  const root = mkdtempSync(join(tmpdir(), 'sb-policy-links-'));
  cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  const policies = join(root, 'policies');
  cpSync(SHIPPED, policies, { recursive: true });
  const elsewhere = join(root, 'elsewhere');
  mkdirSync(elsewhere);
  return { root, policies, elsewhere };
}

function repoWith(change: (repo: TempRepo) => void): { repo: TempRepo; base: string; head: string } {
  const repo = createTempRepo();
  cleanup.push(() => repo.remove());
  const base = repo.commit('policies as shipped');
  change(repo);
  const head = repo.commit('change');
  return { repo, base, head };
}

describe('policy loading reads regular files only: a symlink inside the policy directory is an error', () => {
  const cases: [string, (w: ReturnType<typeof workdir>) => void][] = [
    [
      'a role file that is a link to a file outside the directory',
      (w) => {
        // a valid role (so only the link makes it wrong), kept where the review does not look
        renameSync(join(w.policies, 'roles/deploy-web-prod.yaml'), join(w.elsewhere, 'deploy-web-prod.yaml'));
        symlinkSync(join(w.elsewhere, 'deploy-web-prod.yaml'), join(w.policies, 'roles/deploy-web-prod.yaml'));
      },
    ],
    [
      'a role file that is a relative link to another role file in the same directory',
      (w) => {
        rmSync(join(w.policies, 'roles/web-pr-readonly.yaml'));
        symlinkSync('deploy-web-prod.yaml', join(w.policies, 'roles/web-pr-readonly.yaml'));
      },
    ],
    [
      'issuers.yaml as a link',
      (w) => {
        renameSync(join(w.policies, 'issuers.yaml'), join(w.elsewhere, 'issuers.yaml'));
        symlinkSync(join(w.elsewhere, 'issuers.yaml'), join(w.policies, 'issuers.yaml'));
      },
    ],
    [
      'roles/ as a link to a directory elsewhere',
      (w) => {
        renameSync(join(w.policies, 'roles'), join(w.elsewhere, 'roles'));
        symlinkSync(join(w.elsewhere, 'roles'), join(w.policies, 'roles'));
      },
    ],
    [
      'tests/ as a link to a directory elsewhere',
      (w) => {
        renameSync(join(w.policies, 'tests'), join(w.elsewhere, 'tests'));
        symlinkSync(join(w.elsewhere, 'tests'), join(w.policies, 'tests'));
      },
    ],
    ['a dangling link named like a role', (w) => symlinkSync(join(w.elsewhere, 'missing.yaml'), join(w.policies, 'roles/ghost.yaml'))],
    ['a directory named like a role file', (w) => mkdirSync(join(w.policies, 'roles/dir.yaml'))],
    ['a FIFO named like a role file (never blocks the reader)', (w) => execFileSync('mkfifo', [join(w.policies, 'roles/pipe.yaml')])],
  ];

  it.each(cases)('the Node reader refuses %s', (_name, arrange) => {
    const w = workdir();
    arrange(w);
    expect(() => readPolicyDir(w.policies)).toThrow(PolicyDirError);
  });

  it.each(cases)('the Worker bundle refuses %s', async (_name, arrange) => {
    const w = workdir();
    arrange(w);
    await expect(readCheckedPolicies(w.policies)).rejects.toThrow(PolicyDirError);
  });

  it('the policy directory itself may be a link the operator chose; what is inside is read', () => {
    const w = workdir();
    const link = join(w.root, 'current');
    symlinkSync(w.policies, link);
    const files = readPolicyDir(link);
    expect(files.map((f) => f.path)).toContain('roles/deploy-web-prod.yaml');
    expect(files).toEqual(readPolicyDir(w.policies));
  });

  it('links that the reader never opens (not .yaml, not issuers/roles/tests) are left alone', () => {
    const w = workdir();
    symlinkSync('../README.md', join(w.policies, 'roles/README.md'));
    symlinkSync(w.elsewhere, join(w.policies, 'docs'));
    expect(() => readPolicyDir(w.policies)).not.toThrow();
  });
});

describe('policy diff and review refuse git symlinks (mode 120000) and submodules at policy paths', () => {
  const cases: [string, (repo: TempRepo) => void][] = [
    [
      'a role file committed as a symlink to a file outside policies/',
      (repo) => {
        repo.write('elsewhere/deploy-web-prod.yaml', repo.read('policies/roles/deploy-web-prod.yaml'));
        rmSync(join(repo.dir, 'policies/roles/deploy-web-prod.yaml'));
        symlinkSync('../../elsewhere/deploy-web-prod.yaml', join(repo.dir, 'policies/roles/deploy-web-prod.yaml'));
      },
    ],
    [
      'roles/ committed as a symlink',
      (repo) => {
        renameSync(join(repo.dir, 'policies/roles'), join(repo.dir, 'elsewhere'));
        symlinkSync('../elsewhere', join(repo.dir, 'policies/roles'));
      },
    ],
    [
      'issuers.yml committed as a symlink next to issuers.yaml',
      (repo) => symlinkSync('../elsewhere.yaml', join(repo.dir, 'policies/issuers.yml')),
    ],
    [
      'policies/ itself committed as a symlink to another directory',
      (repo) => {
        renameSync(join(repo.dir, 'policies'), join(repo.dir, 'other'));
        symlinkSync('other', join(repo.dir, 'policies'));
      },
    ],
  ];

  it.each(cases)('readPolicyDirAtRevision refuses %s', (_name, change) => {
    const { repo, base, head } = repoWith(change);
    expect(() => readPolicyDirAtRevision(repo.policies, base)).not.toThrow();
    expect(() => readPolicyDirAtRevision(repo.policies, head)).toThrow(GitError);
  });

  it.each(cases)('the review of the head revision refuses %s', async (_name, change) => {
    const { repo, base, head } = repoWith(change);
    await expect(buildReview({ policiesDir: repo.policies, base, head })).rejects.toThrow(GitError);
  });

  it('a submodule (gitlink, mode 160000) in place of roles/ is refused', () => {
    const repo = createTempRepo();
    cleanup.push(() => repo.remove());
    const base = repo.commit('policies as shipped');
    // a gitlink entry without a real submodule: what a commit can carry whatever the working tree holds
    repo.git('rm', '-r', '-q', '--cached', 'policies/roles');
    repo.git('update-index', '--add', '--cacheinfo', `160000,${base},policies/roles`);
    repo.git('commit', '-q', '-m', 'roles as a submodule');
    const head = repo.git('rev-parse', 'HEAD').trim();
    expect(repo.git('ls-tree', head, 'policies/roles')).toMatch(/^160000 commit/);
    expect(() => readPolicyDirAtRevision(repo.policies, head)).toThrow(GitError);
  });
});
