// Adversarial tests of loading: every malformed policy is refused with file:line:column, and nothing a
// policy author mistypes silently widens (or narrows) access. Problems carry no code, so the tests assert
// where they point; message text is not asserted.
import { describe, expect, it } from 'vitest';
import { loadPolicy, type PolicyFile } from '../../../broker/src/policy/load.ts';
import { compileFiles, files, ISSUERS, problemsOf, roleYaml, where, yaml } from './helpers.ts';

const role = (text: string, path = 'roles/r.yaml'): PolicyFile => ({ path, text });

/** The single problem of a policy set, as file:line:column. */
async function onlyProblem(list: PolicyFile[]) {
  const problems = await problemsOf(list);
  expect(problems).toHaveLength(1);
  return where(problems)[0];
}

describe('a valid role loads', () => {
  it('with every kind of condition', async () => {
    const policy = await compileFiles(
      files(
        role(yaml`
          role: r
          issuer: github
          max_ttl: 12h
          allow:
            - repository_id: "123456"
              ref: {glob: "refs/heads/*"}
              tag: {regex: "v[0-9]+"}
              run_attempt: {equals: 1}
              event_name: [push, {glob: "workflow_*"}]
          grants:
            - type: secret
              name: S
        `),
      ),
    );
    expect(policy.roles.get('r')?.allow[0]?.conditions.map((c) => c.claim)).toEqual([
      'repository_id',
      'ref',
      'tag',
      'run_attempt',
      'event_name',
    ]);
    expect(policy.roles.get('r')?.maxTtl).toBe(12 * 3600);
  });

  it('from a .yml file too', async () => {
    const policy = await compileFiles(files(role(roleYaml('allow:\n  - x: a\n'), 'roles/r.yml')));
    expect([...policy.roles.keys()]).toEqual(['r']);
  });
});

describe('unknown keys anywhere are errors at the key', () => {
  it('at the top level of a role', async () => {
    const text = yaml`
      role: r
      issuer: github
      max_ttl: 15m
      owner: acme
      allow:
        - x: a
      grants:
        - type: secret
          name: S
    `;
    expect(await onlyProblem(files(role(text)))).toEqual({ file: 'roles/r.yaml', line: 4, column: 1 });
  });

  it('in a grant', async () => {
    const text = yaml`
      role: r
      issuer: github
      max_ttl: 15m
      allow:
        - x: a
      grants:
        - type: secret
          name: S
          scope: everything
    `;
    expect(await onlyProblem(files(role(text)))).toEqual({ file: 'roles/r.yaml', line: 9, column: 5 });
  });

  it('in an issuer', async () => {
    const text = yaml`
      issuers:
        github:
          url: https://token.actions.githubusercontent.com
          audience: https://broker.example.com
          audiences: [https://evil.example]
    `;
    expect(await onlyProblem([{ path: 'issuers.yaml', text }])).toEqual({ file: 'issuers.yaml', line: 5, column: 5 });
  });

  it('at the top level of issuers.yaml', async () => {
    const text = `${ISSUERS}trust_all: true\n`;
    expect(await onlyProblem([{ path: 'issuers.yaml', text }])).toEqual({ file: 'issuers.yaml', line: 8, column: 1 });
  });

  it.each([
    ['a glob object', '  - ref: {glob: "refs/heads/*", extra: 1}', 33],
    ['a regex object', '  - ref: {regex: "main", flags: i}', 26],
    ['an equals object', '  - ref: {equals: true, not: 1}', 25],
  ])('in %s', async (_, line, column) => {
    const text = roleYaml(`allow:\n${line}\n`);
    expect(await onlyProblem(files(role(text)))).toEqual({ file: 'roles/r.yaml', line: 5, column });
  });

  it('a condition object with two kinds is refused', async () => {
    const text = roleYaml('allow:\n  - ref: {glob: "*", regex: ".*"}\n');
    expect(where(await problemsOf(files(role(text))))[0]).toMatchObject({ file: 'roles/r.yaml', line: 5 });
  });

  it('in a test case', async () => {
    const test = yaml`
      tests:
        - name: t
          role: r
          expect: allow
          skip: true
          claims: {x: a}
    `;
    const list = files(role(roleYaml('allow:\n  - x: a\n')), { path: 'tests/r.yaml', text: test });
    expect(await onlyProblem(list)).toEqual({ file: 'tests/r.yaml', line: 5, column: 5 });
  });

  it('an unexpected file in the policy directory', async () => {
    const list = files(role(roleYaml('allow:\n  - x: a\n')), { path: 'roles/sub/r.yaml', text: roleYaml('allow:\n  - x: a\n') });
    expect(await onlyProblem(list)).toEqual({ file: 'roles/sub/r.yaml', line: 1, column: 1 });
  });
});

describe('wrong types', () => {
  it.each([
    ['max_ttl as a number', 'role: r\nissuer: github\nmax_ttl: 15\nallow:\n  - x: a\ngrants:\n  - type: secret\n    name: S\n', 3],
    ['allow as a map', 'role: r\nissuer: github\nmax_ttl: 15m\nallow:\n  x: a\ngrants:\n  - type: secret\n    name: S\n', 5],
    ['a condition set as a list', 'role: r\nissuer: github\nmax_ttl: 15m\nallow:\n  - [x, a]\ngrants:\n  - type: secret\n    name: S\n', 5],
    [
      'a null condition (empty value)',
      'role: r\nissuer: github\nmax_ttl: 15m\nallow:\n  - x:\ngrants:\n  - type: secret\n    name: S\n',
      5,
    ],
    ['a ~ condition', 'role: r\nissuer: github\nmax_ttl: 15m\nallow:\n  - x: ~\ngrants:\n  - type: secret\n    name: S\n', 5],
    ['a nested list condition', 'role: r\nissuer: github\nmax_ttl: 15m\nallow:\n  - x: [[a]]\ngrants:\n  - type: secret\n    name: S\n', 5],
    ['an empty list condition', 'role: r\nissuer: github\nmax_ttl: 15m\nallow:\n  - x: []\ngrants:\n  - type: secret\n    name: S\n', 5],
    ['an infinite number', 'role: r\nissuer: github\nmax_ttl: 15m\nallow:\n  - x: .inf\ngrants:\n  - type: secret\n    name: S\n', 5],
    ['a NaN', 'role: r\nissuer: github\nmax_ttl: 15m\nallow:\n  - x: .nan\ngrants:\n  - type: secret\n    name: S\n', 5],
    ['an empty glob', 'role: r\nissuer: github\nmax_ttl: 15m\nallow:\n  - x: {glob: ""}\ngrants:\n  - type: secret\n    name: S\n', 5],
    [
      'a glob that is not a string',
      'role: r\nissuer: github\nmax_ttl: 15m\nallow:\n  - x: {glob: [a]}\ngrants:\n  - type: secret\n    name: S\n',
      5,
    ],
    ['a grant name as a list', 'role: r\nissuer: github\nmax_ttl: 15m\nallow:\n  - x: a\ngrants:\n  - type: secret\n    name: [S]\n', 8],
    ['an unknown grant type', 'role: r\nissuer: github\nmax_ttl: 15m\nallow:\n  - x: a\ngrants:\n  - type: ssh\n    name: S\n', 7],
    ['a role that is a list', '- role: r\n', 1],
    ['an empty file', '', 1],
  ])('%s', async (_, text, line) => {
    const problems = await problemsOf(files(role(text)));
    expect(problems.length).toBeGreaterThan(0);
    expect(where(problems)[0]).toMatchObject({ file: 'roles/r.yaml', line });
  });

  it.each([
    ['trailing space', '"ref "'],
    ['a dot-less space', '"my claim"'],
    ['empty', '""'],
    ['a leading digit', '"1x"'],
    ['a slash', '"a/b"'],
  ])('a claim name with %s is refused', async (_, key) => {
    const problems = await problemsOf(files(role(roleYaml(`allow:\n  - ${key}: a\n`))));
    expect(where(problems)).toEqual([expect.objectContaining({ file: 'roles/r.yaml', line: 5 })]);
  });
});

describe('prototype names as claims are load errors', () => {
  it.each(['__proto__', '"__proto__"', 'constructor', 'prototype'])('%s alone', async (key) => {
    const problems = await problemsOf(files(role(roleYaml(`allow:\n  - ${key}: a\n`))));
    expect(where(problems)[0]).toMatchObject({ file: 'roles/r.yaml', line: 5 });
  });

  // A condition that silently vanished would leave the rest of the set to grant access.
  it.each(['__proto__', '"__proto__"', 'constructor', 'prototype'])('%s next to another condition in allow', async (key) => {
    const body = `allow:\n  - repository_id: "1"\n    ${key}: {glob: "*"}\n`;
    expect(where(await problemsOf(files(role(roleYaml(body)))))).toEqual([expect.objectContaining({ file: 'roles/r.yaml', line: 6 })]);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('%s next to another condition in deny', async (key) => {
    const body = `allow:\n  - repository_id: "1"\ndeny:\n  - event_name: push\n    ${key}: x\n`;
    expect(where(await problemsOf(files(role(roleYaml(body)))))).toEqual([expect.objectContaining({ file: 'roles/r.yaml', line: 8 })]);
  });

  it('toString and hasOwnProperty are ordinary claim names', async () => {
    const policy = await compileFiles(files(role(roleYaml('allow:\n  - toString: a\n    hasOwnProperty: b\n'))));
    expect(policy.roles.get('r')?.allow[0]?.conditions.map((c) => c.claim)).toEqual(['toString', 'hasOwnProperty']);
  });

  it('a __proto__ key at the top level of a role is an unknown key', async () => {
    const text = `__proto__: {role: x}\n${roleYaml('allow:\n  - x: a\n')}`;
    expect(where(await problemsOf(files(role(text))))[0]).toMatchObject({ file: 'roles/r.yaml', line: 1 });
  });
});

describe('references and names', () => {
  it('role name must equal the file name', async () => {
    const problem = await onlyProblem(files(role(roleYaml('allow:\n  - x: a\n', 'deploy-prod'), 'roles/deploy-dev.yaml')));
    expect(problem).toEqual({ file: 'roles/deploy-dev.yaml', line: 1, column: 7 });
  });

  it('the same role in .yaml and .yml is a duplicate', async () => {
    const text = roleYaml('allow:\n  - x: a\n');
    const problems = await problemsOf(files(role(text, 'roles/r.yaml'), role(text, 'roles/r.yml')));
    expect(where(problems)).toEqual([{ file: 'roles/r.yml', line: 1, column: 7 }]);
  });

  it('an unknown issuer', async () => {
    const text = roleYaml('allow:\n  - x: a\n').replace('issuer: github', 'issuer: githud');
    expect(await onlyProblem(files(role(text)))).toEqual({ file: 'roles/r.yaml', line: 2, column: 9 });
  });

  it('no issuers.yaml at all', async () => {
    const problems = await problemsOf([role(roleYaml('allow:\n  - x: a\n'))]);
    expect(where(problems)).toEqual([{ file: 'issuers.yaml', line: 1, column: 1 }]);
  });

  it('issuers.yaml and issuers.yml together: the second is not silently ignored', async () => {
    const problems = await problemsOf([
      { path: 'issuers.yaml', text: ISSUERS },
      { path: 'issuers.yml', text: ISSUERS },
    ]);
    expect(where(problems)).toEqual([{ file: 'issuers.yml', line: 1, column: 1 }]);
  });

  it('a test naming an unknown role points at the test', async () => {
    const test = yaml`
      tests:
        - name: known
          role: r
          expect: allow
          claims: {x: a}
        - name: typo
          role: rr
          expect: deny
          claims: {x: a}
    `;
    const list = files(role(roleYaml('allow:\n  - x: a\n')), { path: 'tests/r.yaml', text: test });
    expect(await onlyProblem(list)).toMatchObject({ file: 'tests/r.yaml', line: 6 });
  });

  it.each([['allowed'], ['ALLOW'], ['true']])('a test expecting %s is refused', async (expectation) => {
    const test = `tests:\n  - name: t\n    role: r\n    expect: ${expectation}\n    claims: {x: a}\n`;
    const list = files(role(roleYaml('allow:\n  - x: a\n')), { path: 'tests/r.yaml', text: test });
    expect(await onlyProblem(list)).toMatchObject({ file: 'tests/r.yaml', line: 4 });
  });
});

describe('issuers', () => {
  const issuer = (name: string, url: string) => `  ${name}:\n    url: ${url}\n    audience: https://broker.example.com\n`;

  it('a duplicate url points at the second one', async () => {
    const text = `issuers:\n${issuer('a', 'https://gitlab.com')}${issuer('b', 'https://gitlab.com')}`;
    expect(await onlyProblem([{ path: 'issuers.yaml', text }])).toEqual({ file: 'issuers.yaml', line: 6, column: 10 });
  });

  it.each([
    'http://localhost',
    'http://localhost:8080',
    'http://127.0.0.1',
    'http://127.0.0.1:9000/realms/ci',
    'http://127.1.2.3',
    'http://[::1]:8080',
    'https://gitlab.example.com',
  ])('accepts %s', async (url) => {
    const result = await loadPolicy([{ path: 'issuers.yaml', text: `issuers:\n${issuer('a', url)}` }]);
    expect(result.ok).toBe(true);
  });

  it.each([
    'http://gitlab.example.com',
    'http://localhost.evil.example',
    'http://127.0.0.1.nip.io',
    'http://0.0.0.0',
    'http://10.0.0.1',
    'http://[::ffff:7f00:1]',
    'https://user@gitlab.example.com',
    'https://user:secret@gitlab.example.com',
    'http://user:secret@localhost',
    'https://gitlab.example.com/#frag',
    'ftp://gitlab.example.com',
    'token.actions.githubusercontent.com',
    '""',
  ])('refuses %s at the url', async (url) => {
    expect(await onlyProblem([{ path: 'issuers.yaml', text: `issuers:\n${issuer('a', url)}` }])).toEqual({
      file: 'issuers.yaml',
      line: 3,
      column: 10,
    });
  });

  it('an empty issuer map', async () => {
    expect(await onlyProblem([{ path: 'issuers.yaml', text: 'issuers: {}\n' }])).toMatchObject({ file: 'issuers.yaml', line: 1 });
  });

  it('an http:// grant endpoint that is not loopback', async () => {
    const text = yaml`
      role: r
      issuer: github
      max_ttl: 15m
      allow:
        - x: a
      grants:
        - type: github
          app_id: 1
          installation_id: 2
          repositories: [web]
          permissions: {contents: read}
          api_url: http://github.example.com
    `;
    expect(await onlyProblem(files(role(text)))).toEqual({ file: 'roles/r.yaml', line: 12, column: 14 });
  });
});

describe('YAML integers elsewhere', () => {
  it('unquoted GitHub App ids load, as strings', async () => {
    const text = yaml`
      role: r
      issuer: github
      max_ttl: 15m
      allow:
        - x: a
      grants:
        - type: github
          app_id: 123456
          installation_id: 12345678901234567890
          repositories: [web]
          permissions: {contents: read}
    `;
    const grant = (await compileFiles(files(role(text)))).roles.get('r')?.role.grants[0];
    expect(grant).toMatchObject({ type: 'github', app_id: '123456', installation_id: '12345678901234567890' });
  });

  it('test claims are what a token would carry: integers are JSON numbers, not bigints', async () => {
    const test = yaml`
      tests:
        - name: t
          role: r
          expect: allow
          claims: {run_attempt: 1, nested: {ids: [1, 2]}, big: 12345678901234567890, id: "1"}
    `;
    const result = await loadPolicy(files(role(roleYaml('allow:\n  - x: a\n')), { path: 'tests/r.yaml', text: test }));
    expect(result.ok).toBe(true);
    const claims = result.ok ? result.policy.tests[0]?.value.claims : undefined;
    expect(claims).toEqual(JSON.parse('{"run_attempt": 1, "nested": {"ids": [1, 2]}, "big": 12345678901234567890, "id": "1"}'));
  });
});

describe('durations', () => {
  it.each(['1s', '15m', '1h30m', '12h', '720m', '43200s', '11h59m60s'])('max_ttl %s is accepted', async (ttl) => {
    const text = roleYaml('allow:\n  - x: a\n').replace('max_ttl: 15m', `max_ttl: ${ttl}`);
    expect((await loadPolicy(files(role(text)))).ok).toBe(true);
  });

  it.each([
    ['above 12h', '13h'],
    ['one second above 12h', '12h1s'],
    ['a day', '1d'],
    ['zero', '0s'],
    ['no unit', '15'],
    ['a fraction', '1.5h'],
    ['upper case unit', '15M'],
    ['negative', '-1h'],
    ['a space', '"15 m"'],
    ['a trailing space', '"15m "'],
    ['ISO 8601', 'PT15M'],
    ['weeks', '1w'],
    ['empty', '""'],
    ['a huge number', '99999999999999999999h'],
  ])('max_ttl %s is refused at line 3', async (_, ttl) => {
    const text = roleYaml('allow:\n  - x: a\n').replace('max_ttl: 15m', `max_ttl: ${ttl}`);
    expect(await onlyProblem(files(role(text)))).toEqual({ file: 'roles/r.yaml', line: 3, column: 10 });
  });

  it('a grant duration above 12h is refused at the grant', async () => {
    const text = yaml`
      role: r
      issuer: github
      max_ttl: 15m
      allow:
        - x: a
      grants:
        - type: aws
          role_arn: arn:aws:iam::111122223333:role/web-deploy
          region: us-east-1
          duration: 13h
    `;
    expect(await onlyProblem(files(role(text)))).toEqual({ file: 'roles/r.yaml', line: 10, column: 15 });
  });
});

describe('empty sets', () => {
  it('an empty allow list', async () => {
    expect(await onlyProblem(files(role(roleYaml('allow: []\n'))))).toEqual({ file: 'roles/r.yaml', line: 4, column: 8 });
  });

  it('no allow at all', async () => {
    const problems = await problemsOf(files(role(roleYaml('deny:\n  - x: a\n'))));
    expect(problems).toHaveLength(1);
  });

  it('an empty condition set in allow', async () => {
    expect(await onlyProblem(files(role(roleYaml('allow:\n  - x: a\n  - {}\n'))))).toEqual({ file: 'roles/r.yaml', line: 6, column: 5 });
  });

  it('an empty condition set in deny (it would deny everything or nothing: refused either way)', async () => {
    expect(await onlyProblem(files(role(roleYaml('allow:\n  - x: a\ndeny:\n  - {}\n'))))).toEqual({
      file: 'roles/r.yaml',
      line: 7,
      column: 5,
    });
  });

  it('an empty grants list', async () => {
    const text = 'role: r\nissuer: github\nmax_ttl: 15m\nallow:\n  - x: a\ngrants: []\n';
    expect(await onlyProblem(files(role(text)))).toEqual({ file: 'roles/r.yaml', line: 6, column: 9 });
  });
});

describe('regexes', () => {
  it.each([
    ['an unclosed group', '"("'],
    ['an unclosed class', '"[a"'],
    // Valid inside `^(?:...)$` but not alone: refusing it keeps the anchors from being escaped.
    ['a group break-out', '"a)|(b"'],
    ['a break-out that ends the anchor group', '"main)|(?:.*"'],
    ['a dangling escape', '"a\\\\"'],
    ['a lone quantifier', '"*"'],
    ['an identity escape invalid under u', '"\\\\q"'],
  ])('%s is a load error at the regex', async (_, source) => {
    const text = roleYaml(`allow:\n  - ref: main\n    tag: {regex: ${source}}\n`);
    expect(await onlyProblem(files(role(text)))).toEqual({ file: 'roles/r.yaml', line: 6, column: 18 });
  });
});

describe('YAML itself', () => {
  it('a syntax error points at where the parser notices it', async () => {
    // Line 5 opens a flow sequence that line 6 shows was never closed.
    const text = roleYaml('allow:\n  - ref: [main, dev\n  - x: a\n');
    expect(where(await problemsOf(files(role(text))))[0]).toMatchObject({ file: 'roles/r.yaml', line: 6 });
  });

  it('an unterminated quote', async () => {
    const text = 'role: r\nissuer: github\nmax_ttl: 15m\nallow:\n  - ref: "main\n';
    expect(where(await problemsOf(files(role(text))))[0]).toMatchObject({ file: 'roles/r.yaml' });
  });

  it('tabs as indentation', async () => {
    const text = roleYaml('allow:\n  - x: a\n\ty: b\n');
    expect(where(await problemsOf(files(role(text))))[0]).toMatchObject({ file: 'roles/r.yaml', line: 6, column: 1 });
  });

  it.each([
    [
      'a duplicate top-level key',
      'role: r\nissuer: github\nmax_ttl: 15m\nmax_ttl: 12h\nallow:\n  - x: a\ngrants:\n  - type: secret\n    name: S\n',
      4,
      1,
    ],
    ['a duplicate claim in a set', roleYaml('allow:\n  - ref: refs/heads/main\n    ref: {glob: "*"}\n'), 6, 5],
  ])('%s is refused, not last-wins', async (_, text, line, column) => {
    expect(await onlyProblem(files(role(text)))).toEqual({ file: 'roles/r.yaml', line, column });
  });

  it('a duplicate issuer name is refused', async () => {
    const text = `issuers:\n${'  a:\n    url: https://a.example\n    audience: x\n'}${'  a:\n    url: https://b.example\n    audience: x\n'}`;
    expect(await onlyProblem([{ path: 'issuers.yaml', text }])).toEqual({ file: 'issuers.yaml', line: 5, column: 3 });
  });

  const laughs = (levels: number) => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < levels; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    return `${lines.join('\n')}\n`;
  };

  // A per-test timeout stands in for "quickly": an expanding loader would run for minutes and die of memory.
  it('a billion-laughs role file is refused without expanding', { timeout: 5_000 }, async () => {
    expect(where(await problemsOf(files(role(laughs(9)))))).toEqual([{ file: 'roles/r.yaml', line: 1, column: 1 }]);
  });

  it('a billion-laughs issuers.yaml is refused without expanding', { timeout: 5_000 }, async () => {
    const problems = await problemsOf([{ path: 'issuers.yaml', text: `${ISSUERS}${laughs(9)}` }]);
    expect(where(problems)).toEqual([{ file: 'issuers.yaml', line: 1, column: 1 }]);
  });

  it('a billion-laughs test file is refused without expanding', { timeout: 5_000 }, async () => {
    const list = files(role(roleYaml('allow:\n  - x: a\n')), { path: 'tests/r.yaml', text: laughs(9) });
    expect(where(await problemsOf(list))).toEqual([{ file: 'tests/r.yaml', line: 1, column: 1 }]);
  });

  it('a file above the size limit is refused before parsing', async () => {
    const text = `${roleYaml('allow:\n  - x: a\n')}#${'x'.repeat(300 * 1024)}\n`;
    expect(await onlyProblem(files(role(text)))).toEqual({ file: 'roles/r.yaml', line: 1, column: 1 });
  });

  it('a merge key can reuse conditions, and the result is checked like any other', async () => {
    const text = yaml`
      role: r
      issuer: github
      max_ttl: 15m
      allow:
        - &base {repository_id: "1", ref: refs/heads/main}
        - {<<: *base, ref: {glob: "refs/tags/*"}}
      grants:
        - type: secret
          name: S
    `;
    const policy = await compileFiles(files(role(text)));
    expect(policy.roles.get('r')?.allow[1]?.conditions.map((c) => [c.claim, c.describe])).toEqual([
      ['repository_id', '"1"'],
      ['ref', 'glob refs/tags/*'],
    ]);
  });
});
