// A throwaway git repository with the shipped policies in it, for the diff and review tests: commit, change,
// commit, and read revisions back the way the CLI does.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const SHIPPED = join(import.meta.dirname, '../../../policies');

export interface TempRepo {
  dir: string;
  /** <dir>/policies */
  policies: string;
  git(...args: string[]): string;
  write(rel: string, text: string): void;
  read(rel: string): string;
  /** Stages everything and commits; returns the commit id. */
  commit(message: string): string;
  remove(): void;
}

export function createTempRepo(): TempRepo {
  const dir = mkdtempSync(join(tmpdir(), 'sb-policy-repo-'));
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    });
  git('init', '-q', '-b', 'main');
  cpSync(SHIPPED, join(dir, 'policies'), { recursive: true });
  return {
    dir,
    policies: join(dir, 'policies'),
    git,
    write(rel, text) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), text);
    },
    read: (rel) => readFileSync(join(dir, rel), 'utf8'),
    commit(message) {
      git('add', '-A');
      git('commit', '-q', '-m', message);
      return git('rev-parse', 'HEAD').trim();
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The change the acceptance test reviews: deploy-web-prod loses its ref condition (any branch can now deploy
 * to production: a widening, high risk); web-pr-readonly drops pull_request_review from its events (a
 * narrowing, low risk). The shipped web-pr-readonly allows only pull_request, so a list is put in first.
 */
export function widenProdNarrowReadonly(repo: TempRepo): void {
  const prod = repo.read('policies/roles/deploy-web-prod.yaml');
  repo.write('policies/roles/deploy-web-prod.yaml', prod.replace(/^ {4}ref: refs\/heads\/main\n/m, ''));
  const ro = repo.read('policies/roles/web-pr-readonly.yaml');
  repo.write(
    'policies/roles/web-pr-readonly.yaml',
    ro.replace('event_name: [pull_request, pull_request_review]', 'event_name: pull_request'),
  );
}

/** Base commit: the shipped policies, with web-pr-readonly also allowing pull_request_review. */
export function baseCommit(repo: TempRepo): string {
  const ro = repo.read('policies/roles/web-pr-readonly.yaml');
  if (!ro.includes('event_name: pull_request\n')) throw new Error('the shipped web-pr-readonly changed: update temp-repo.ts');
  repo.write(
    'policies/roles/web-pr-readonly.yaml',
    ro.replace('event_name: pull_request\n', 'event_name: [pull_request, pull_request_review]\n'),
  );
  return repo.commit('policies as shipped');
}
