// The pull-request review against a fake GitHub API on loopback (octokit with a base URL): the first run
// creates the comment, the next run updates that same comment, other people's comments are left alone, and
// the review fails while the policies have errors or failing tests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReview, publishReview, REVIEW_MARKER, targetFromEnv, type GithubTarget } from '../../../cli/lib/review.ts';
import { startFakeGithubApi, type FakeGithubApi } from './fake-github-api.ts';
import { baseCommit, createTempRepo, widenProdNarrowReadonly, type TempRepo } from './temp-repo.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TOKEN = 'ghs_fake_review_token';
let api: FakeGithubApi;
let repo: TempRepo;
let base: string;

beforeAll(async () => {
  api = await startFakeGithubApi(TOKEN);
  repo = createTempRepo();
  base = baseCommit(repo);
  widenProdNarrowReadonly(repo);
  repo.commit('deploy from any branch; read-only role for pull_request only');
});

afterAll(async () => {
  await api?.close();
  repo?.remove();
});

const target = (pullRequest: number, token = TOKEN): GithubTarget => ({ token, owner: 'acme', repo: 'web', pullRequest, apiUrl: api.url });

describe('policy review', () => {
  it('creates one comment, then updates the same comment; fails until the tests pass', async () => {
    api.seed('acme/web#7', 'Looks good to me');

    const first = await buildReview({ policiesDir: repo.policies, base });
    expect(first.ok).toBe(false); // "another branch" and "case is not folded" of deploy-web-prod now get allow
    expect(first.tests?.failed).toBe(2);
    expect(first.body.startsWith(REVIEW_MARKER)).toBe(true);
    expect(first.body).toContain('❌ Policy review failed: 2 failing tests');
    expect(first.body).toMatch(/\| 🔴 high \| widened \| `allow\[0\]\.ref` \| condition on `ref` removed/);
    expect(first.body).toMatch(/### 🟢 `web-pr-readonly` · changed/);
    expect(first.body).toMatch(/\| 🟢 low \| narrowed \| `allow\[0\]\.event_name` \|/);
    const created = await publishReview(target(7), first.body);
    expect(created.action).toBe('created');

    // The author drops the cases that pinned the branch, and pushes.
    const tests = repo.read('policies/tests/deploy-web-prod.yaml');
    repo.write(
      'policies/tests/deploy-web-prod.yaml',
      tests.replace(/ {2}- name: (?:another branch|case is not folded)\n(?: {4}.*\n){3}/g, ''),
    );
    repo.commit('the ref condition is gone on purpose');

    const second = await buildReview({ policiesDir: repo.policies, base });
    expect(second.ok).toBe(true);
    expect(second.body).toContain('✅ Policy review passed');
    const updated = await publishReview(target(7), second.body);
    expect(updated).toMatchObject({ action: 'updated', id: created.id });

    const comments = api.comments.get('acme/web#7')!;
    expect(comments.map((c) => c.body)).toEqual(['Looks good to me', second.body]);
    expect(api.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /repos/acme/web/issues/7/comments',
      `PATCH /repos/acme/web/issues/comments/${created.id}`,
    ]);
  });

  it('finds its comment past the first page of comments', async () => {
    for (let i = 0; i < 120; i++) api.seed('acme/web#8', `comment ${i}`);
    const review = await buildReview({ policiesDir: repo.policies, base });
    const created = await publishReview(target(8), review.body);
    const updated = await publishReview(target(8), `${review.body}\nagain`);
    expect(updated).toMatchObject({ action: 'updated', id: created.id });
    expect(api.comments.get('acme/web#8')!.filter((c) => c.body.includes(REVIEW_MARKER))).toHaveLength(1);
  });

  it("leaves a person's comment that quotes the marker alone and writes its own", async () => {
    const quoted = api.seed('acme/web#9', `why does it say ${REVIEW_MARKER}?`);
    const review = await buildReview({ policiesDir: repo.policies, base });
    const first = await publishReview(target(9), review.body);
    expect(first.action).toBe('created');
    expect(first.id).not.toBe(quoted.id);
    expect((await publishReview(target(9), review.body)).id).toBe(first.id);
    expect(api.comments.get('acme/web#9')![0]!.body).toBe(`why does it say ${REVIEW_MARKER}?`);
  });

  it('sends the token: a wrong one is refused', async () => {
    await expect(publishReview(target(7, 'wrong'), 'x')).rejects.toMatchObject({ status: 401 });
  });

  it('a read-only token (fork pull requests) is a 403 the command can report', async () => {
    api.readOnly = true;
    try {
      await expect(publishReview(target(10), 'x')).rejects.toMatchObject({ status: 403 });
    } finally {
      api.readOnly = false;
    }
  });
});

describe('the pull request from the Actions environment', () => {
  const event = (payload: unknown) => {
    const file = join(mkdtempSync(join(tmpdir(), 'sb-event-')), 'event.json');
    writeFileSync(file, JSON.stringify(payload));
    return file;
  };

  it('reads the token, repository, number and API URL', () => {
    expect(
      targetFromEnv({
        GITHUB_TOKEN: 't',
        GITHUB_REPOSITORY: 'acme/web',
        GITHUB_EVENT_PATH: event({ pull_request: { number: 42 } }),
        GITHUB_API_URL: 'https://ghe.example.com/api/v3/',
      }),
    ).toEqual({ token: 't', owner: 'acme', repo: 'web', pullRequest: 42, apiUrl: 'https://ghe.example.com/api/v3' });
  });

  it.each([
    ['no token', { GITHUB_REPOSITORY: 'acme/web' }],
    ['a bad repository', { GITHUB_TOKEN: 't', GITHUB_REPOSITORY: 'acme' }],
    ['no event', { GITHUB_TOKEN: 't', GITHUB_REPOSITORY: 'acme/web' }],
    ['a push event', { GITHUB_TOKEN: 't', GITHUB_REPOSITORY: 'acme/web', GITHUB_EVENT_PATH: event({ ref: 'refs/heads/main' }) }],
  ])('refuses %s', (_name, env) => {
    expect(() => targetFromEnv(env)).toThrow();
  });
});
