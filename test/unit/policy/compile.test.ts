// The compiled policy: the shipped examples and their tests, the policy hash, exact issuer selection, and a
// policy set large enough that a decision must be a lookup plus one role's conditions.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPolicyDir } from '../../../broker/entry/node/policy-files.ts';
import { policyCommands } from '../../../cli/commands/policy.ts';
import type { CommandContext } from '../../../cli/context.ts';
import { compileGlob, compilePolicy, compileRegex } from '../../../broker/src/policy/compile.ts';
import { loadPolicy, type PolicyFile } from '../../../broker/src/policy/load.ts';
import { match } from '../../../broker/src/policy/match.ts';
import { compileFiles, files, ISSUERS, roleYaml } from './helpers.ts';

const POLICIES_DIR = join(import.meta.dirname, '../../../policies');

describe('the shipped policies', () => {
  it('load cleanly', async () => {
    const result = await loadPolicy(readPolicyDir(POLICIES_DIR));
    expect(result.ok ? [] : result.problems).toEqual([]);
    if (!result.ok) return;
    expect([...result.policy.issuers.keys()].sort()).toEqual(['github', 'gitlab']);
    expect([...result.policy.roles.keys()].sort()).toEqual(['deploy-web-prod', 'gitlab-release', 'web-pr-readonly']);
    expect(result.policy.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('every case in policies/tests decides as it expects (match per case, as `policy test` does)', async () => {
    const result = await loadPolicy(readPolicyDir(POLICIES_DIR));
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const policy = compilePolicy(result.policy);
    const outcomes = policy.source.tests.map(({ value: t, file, line }) => {
      const role = policy.roles.get(t.role);
      return { at: `${file}:${line} ${t.name}`, expected: t.expect, got: role ? match(t.claims, role).effect : 'no role' };
    });
    expect(outcomes.length).toBeGreaterThanOrEqual(16);
    expect(outcomes.filter((o) => o.expected === 'allow').length).toBeGreaterThanOrEqual(3);
    expect(outcomes.filter((o) => o.got !== o.expected)).toEqual([]);
  });

  it('the `policy test` command itself passes them', async () => {
    const out: string[] = [];
    const ctx: CommandContext = {
      values: {},
      positionals: [],
      policiesDir: POLICIES_DIR,
      dataDir: '/nonexistent',
      env: {},
      out: (text) => out.push(text),
      err: (text) => out.push(text),
    };
    const command = policyCommands['policy test'];
    expect(await command?.run(ctx)).toBe(0);
    expect(out.filter((l) => l.startsWith('FAIL'))).toEqual([]);
  });
});

describe('the policy hash', () => {
  const base = (): PolicyFile[] =>
    files(
      { path: 'roles/a.yaml', text: roleYaml('allow:\n  - x: a\n', 'a') },
      { path: 'roles/b.yaml', text: roleYaml('allow:\n  - x: b\n', 'b') },
      { path: 'tests/a.yaml', text: 'tests:\n  - name: t\n    role: a\n    expect: allow\n    claims: {x: a}\n' },
    );
  const hashOf = async (list: PolicyFile[]) => (await compileFiles(list)).hash;
  const edit = (list: PolicyFile[], path: string, change: (text: string) => string) =>
    list.map((f) => (f.path === path ? { ...f, text: change(f.text) } : f));

  it('does not depend on the order of the files', async () => {
    expect(await hashOf([...base()].reverse())).toBe(await hashOf(base()));
  });

  it.each([
    ['a condition', (t: string) => t.replace('x: a', 'x: b')],
    ['only a comment', (t: string) => `# reviewed\n${t}`],
    ['only trailing whitespace', (t: string) => `${t}\n`],
  ])('changes when a role file changes: %s', async (_, change) => {
    expect(await hashOf(edit(base(), 'roles/a.yaml', change))).not.toBe(await hashOf(base()));
  });

  it('changes when issuers.yaml changes', async () => {
    expect(await hashOf(edit(base(), 'issuers.yaml', (t) => t.replace('https://gitlab.com', 'https://gitlab.example.com')))).not.toBe(
      await hashOf(base()),
    );
  });

  it('changes when a role is added or removed', async () => {
    const withC = [...base(), { path: 'roles/c.yaml', text: roleYaml('allow:\n  - x: c\n', 'c') }];
    expect(await hashOf(withC)).not.toBe(await hashOf(base()));
    expect(await hashOf(base().filter((f) => f.path !== 'roles/b.yaml'))).not.toBe(await hashOf(base()));
  });

  it('does not change when a test file changes or a test is added', async () => {
    const renamed = edit(base(), 'tests/a.yaml', (t) => t.replace('name: t', 'name: renamed'));
    const added = [...base(), { path: 'tests/b.yaml', text: 'tests:\n  - name: t\n    role: b\n    expect: deny\n    claims: {x: a}\n' }];
    expect(await hashOf(renamed)).toBe(await hashOf(base()));
    expect(await hashOf(added)).toBe(await hashOf(base()));
  });
});

describe('issuer selection is by the exact URL', () => {
  it.each([
    ['https://gitlab.com', 'gitlab'],
    ['https://gitlab.com/', undefined],
    ['https://GitLab.com', undefined],
    ['https://gitlab.com ', undefined],
    ['http://gitlab.com', undefined],
    ['https://token.actions.githubusercontent.com', 'github'],
    ['https://token.actions.githubusercontent.com/', undefined],
  ])('%s', async (iss, name) => {
    const policy = await compileFiles(files());
    expect(policy.issuersByUrl.get(iss)?.name).toBe(name);
  });

  it('a prototype name is not an issuer', async () => {
    const policy = await compileFiles(files());
    expect(policy.issuersByUrl.get('constructor')).toBeUndefined();
    expect(policy.issuers.get('__proto__')).toBeUndefined();
  });

  it('fills in the token age defaults', async () => {
    const policy = await compileFiles([{ path: 'issuers.yaml', text: ISSUERS }]);
    expect(policy.issuers.get('github')).toMatchObject({ algorithms: ['RS256'], maxTokenAge: 600, maxTokenLifetime: 7200 });
  });
});

describe('compiled conditions', () => {
  it('describe themselves for traces', async () => {
    const policy = await compileFiles(
      files({
        path: 'roles/r.yaml',
        text: roleYaml(
          'allow:\n  - a: main\n    b: 123456\n    c: true\n    d: {glob: "refs/*"}\n    e: {regex: "v[0-9]+"}\n    f: {equals: true}\n    g: {equals: 12345678901234567890}\n    h: [x, {glob: "y*"}]\n',
        ),
      }),
    );
    expect(policy.roles.get('r')?.allow[0]?.conditions.map((c) => [c.claim, c.describe])).toEqual([
      ['a', '"main"'],
      ['b', '"123456"'],
      ['c', '"true"'],
      ['d', 'glob refs/*'],
      ['e', 'regex v[0-9]+'],
      ['f', 'equals true'],
      ['g', 'equals "12345678901234567890"'],
      ['h', 'any of ["x", glob y*]'],
    ]);
  });

  it.each([
    ['a|b', 'xa', false],
    ['a|b', 'bx', false],
    ['a$|b', 'bx', false],
    ['^a|b', 'ab', false],
    ['(a)|(b)', 'ab', false],
    ['[a-z]+', 'abc\n', false],
  ])('compileRegex(%j) anchors: %j -> %s', (source, input, expected) => {
    expect(compileRegex(source).test(input)).toBe(expected);
  });

  it.each([
    ['refs/heads/*', 'refs/heads/a/b', false],
    ['refs/heads/?', 'refs/heads//', false],
    ['./x', 'x', false],
    ['./x', './x', true],
    ['*', '', false],
  ])('compileGlob(%j): %j -> %s', (glob, input, expected) => {
    expect(compileGlob(glob).test(input)).toBe(expected);
  });
});

describe('10,000 roles', () => {
  const COUNT = 10_000;
  const name = (i: number) => `role-${String(i).padStart(5, '0')}`;

  it('compile, and one lookup plus one role decides', { timeout: 60_000 }, async () => {
    const list = files(
      ...Array.from({ length: COUNT }, (_, i) => ({
        path: `roles/${name(i)}.yaml`,
        text: roleYaml(
          `allow:\n  - repository_id: "${i}"\n    ref: {glob: "refs/heads/*"}\ndeny:\n  - event_name: pull_request_target\n`,
          name(i),
        ),
      })),
    );
    const policy = await compileFiles(list);
    expect(policy.roles.size).toBe(COUNT);

    const role = policy.roles.get(name(4242));
    if (!role) throw new Error('role-04242 missing');
    const allowed = match({ repository_id: '4242', ref: 'refs/heads/main', event_name: 'push' }, role);
    expect(allowed).toMatchObject({ effect: 'allow', matched: 'allow[0]' });
    // The decision looked at this role's three conditions and nothing else.
    expect(allowed.trace).toHaveLength(3);

    expect(match({ repository_id: '4243', ref: 'refs/heads/main', event_name: 'push' }, role).effect).toBe('deny');
    expect(match({ repository_id: '4242', ref: 'refs/heads/main', event_name: 'pull_request_target' }, role).effect).toBe('deny');
    expect(policy.roles.get(name(COUNT))).toBeUndefined();
    expect(policy.roles.get(name(COUNT - 1))?.allow[0]?.conditions[0]?.describe).toBe(`"${COUNT - 1}"`);
  });
});
