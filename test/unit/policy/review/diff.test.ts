// The access diff on in-memory policy sets (the git part is in test/e2e/policy-cli.test.ts): each kind of
// change is named with its direction and risk, and loosened conditions come with values they now admit.
import { describe, expect, it } from 'vitest';
import { diffPolicies, EMPTY_SIDE, type PolicyChange } from '../../../../broker/src/policy/review/diff.ts';
import { ISSUERS } from '../helpers.ts';
import { BASE, role, SECRET, side } from './diff-fixtures.ts';

/** The changes of role `r` when its body goes from `before` to `after`. */
async function changesOf(
  before: string,
  after: string,
  opts: { name?: string; grantsBefore?: string; grantsAfter?: string; ttl?: [string, string] } = {},
): Promise<PolicyChange[]> {
  const name = opts.name ?? 'r';
  const diff = diffPolicies(
    await side({ [name]: role(name, before, opts.grantsBefore, opts.ttl?.[0]) }),
    await side({ [name]: role(name, after, opts.grantsAfter, opts.ttl?.[1]) }),
  );
  return diff.roles.find((r) => r.role === name)?.changes ?? [];
}

const brief = (c: PolicyChange) => [c.kind, c.direction, c.risk, c.where];

describe('conditions of allow sets', () => {
  it.each([
    [
      'a removed ref condition is a high-risk widening',
      BASE.replace('      ref: refs/heads/main\n', ''),
      ['condition-removed', 'widened', 'high', 'allow[0].ref'],
    ],
    [
      'exact -> glob is a loosening',
      BASE.replace('ref: refs/heads/main', 'ref: {glob: "refs/heads/*"}'),
      ['condition-loosened', 'widened', 'high', 'allow[0].ref'],
    ],
    [
      'a value added to a list is a loosening',
      BASE.replace('[push]', '[push, workflow_dispatch]'),
      ['condition-loosened', 'widened', 'high', 'allow[0].event_name'],
    ],
    [
      'a new condition is a low-risk narrowing',
      BASE.replace('      ref_type: branch\n', '      ref_type: branch\n      environment: staging\n'),
      ['condition-added', 'narrowed', 'low', 'allow[0].environment'],
    ],
    [
      'a loosened claim outside the bindings is medium on an ordinary role',
      BASE.replace('ref_type: branch', 'ref_type: [branch, tag]'),
      ['condition-loosened', 'widened', 'medium', 'allow[0].ref_type'],
    ],
    [
      'an equivalent rewrite is low',
      BASE.replace('ref: refs/heads/main', 'ref: [refs/heads/main]'),
      ['condition-rewritten', 'changed', 'low', 'allow[0].ref'],
    ],
    [
      'a pattern swapped for an unrelated one is a change',
      BASE.replace('ref: refs/heads/main', 'ref: refs/heads/dev'),
      ['condition-changed', 'changed', 'high', 'allow[0].ref'],
    ],
  ])('%s', async (_name, after, expected) => {
    expect((await changesOf(BASE, after)).map(brief)).toEqual([expected]);
  });

  it('a widened glob names values it now admits', async () => {
    const before = BASE.replace('ref: refs/heads/main', 'ref: {glob: "refs/heads/release/*"}');
    const after = BASE.replace('ref: refs/heads/main', 'ref: {glob: "refs/heads/*/*"}');
    const [change] = await changesOf(before, after);
    expect(brief(change!)).toEqual(['condition-loosened', 'widened', 'high', 'allow[0].ref']);
    expect(change!.examples?.length).toBeGreaterThan(0);
    expect(change!.examples![0]).toMatch(/^refs\/heads\/[^/]+\/[^/]+$/);
    expect(change!.examples!.some((e) => e.startsWith('refs/heads/release/'))).toBe(false);
  });

  it('a regex that now crosses "/" shows a witness with a slash', async () => {
    const before = BASE.replace('ref: refs/heads/main', 'ref: {regex: "refs/heads/[^/]+"}');
    const after = BASE.replace('ref: refs/heads/main', 'ref: {regex: "refs/heads/.+"}');
    const [change] = await changesOf(before, after);
    expect(change!.kind).toBe('condition-loosened');
    expect(change!.examples!.some((e) => e.split('/').length > 3)).toBe(true);
  });

  it('narrowing: a value removed from a list, a glob -> exact', async () => {
    const wide = BASE.replace('[push]', '[push, workflow_dispatch]').replace('ref: refs/heads/main', 'ref: {glob: "refs/heads/*"}');
    expect((await changesOf(wide, BASE)).map(brief).sort()).toEqual([
      ['condition-tightened', 'narrowed', 'low', 'allow[0].event_name'],
      ['condition-tightened', 'narrowed', 'low', 'allow[0].ref'],
    ]);
  });

  it('on a production role any loosening is high', async () => {
    const changes = await changesOf(BASE, BASE.replace('ref_type: branch', 'ref_type: [branch, tag]'), { name: 'web-prod' });
    expect(changes.map(brief)).toEqual([['condition-loosened', 'widened', 'high', 'allow[0].ref_type']]);
  });
});

describe('sets', () => {
  it('an added allow set widens; with an id binding on an ordinary role it is medium', async () => {
    const after = `${BASE.replace('  deny:', '    - repository_id: "123456"\n      ref: refs/heads/dev\n  deny:')}`;
    expect((await changesOf(BASE, after)).map(brief)).toEqual([['allow-set-added', 'widened', 'medium', 'allow[1]']]);
  });

  it('an added allow set without an id binding is high', async () => {
    const after = `${BASE.replace('  deny:', '    - repository: acme/web\n  deny:')}`;
    expect((await changesOf(BASE, after)).map(brief)).toEqual([['allow-set-added', 'widened', 'high', 'allow[1]']]);
  });

  it('a set inserted in front is paired by content, not by position', async () => {
    const after = BASE.replace('  allow:\n', '  allow:\n    - repository_id: "654321"\n      ref: refs/heads/main\n');
    expect((await changesOf(BASE, after)).map(brief)).toEqual([['allow-set-added', 'widened', 'medium', 'allow[0]']]);
  });

  it('a removed allow set narrows', async () => {
    const two = BASE.replace('  deny:', '    - repository_id: "123456"\n      ref: refs/heads/dev\n  deny:');
    expect((await changesOf(two, BASE)).map(brief)).toEqual([['allow-set-removed', 'narrowed', 'low', 'allow[1] (base)']]);
  });

  it('a removed deny set is high; an added one is low', async () => {
    const noDeny = BASE.replace('  deny:\n    - event_name: pull_request_target\n', '');
    expect((await changesOf(BASE, noDeny)).map(brief)).toEqual([['deny-set-removed', 'widened', 'high', 'deny[0] (base)']]);
    expect((await changesOf(noDeny, BASE)).map(brief)).toEqual([['deny-set-added', 'narrowed', 'low', 'deny[0]']]);
  });

  it('a deny condition that matches less is high; one that matches more is low', async () => {
    const wider = BASE.replace('event_name: pull_request_target', 'event_name: [pull_request_target, workflow_run]');
    expect((await changesOf(wider, BASE)).map(brief)).toEqual([['deny-condition-narrowed', 'widened', 'high', 'deny[0].event_name']]);
    expect((await changesOf(BASE, wider)).map(brief)).toEqual([['deny-condition-widened', 'narrowed', 'low', 'deny[0].event_name']]);
  });
});

describe('grants and lifetimes', () => {
  const aws = (duration: string, arn = 'arn:aws:iam::111122223333:role/web', extra = '') =>
    `grants:\n  - type: aws\n    role_arn: ${arn}\n    region: us-east-1\n    duration: ${duration}\n${extra}`;
  const gh = (perm: string, repos: string) =>
    `grants:\n  - type: github\n    app_id: 1\n    installation_id: 2\n    repositories: ${repos}\n    permissions: {contents: ${perm}}\n`;

  it.each([
    ['a new grant', SECRET, `${SECRET}  - type: secret\n    name: T\n`, ['grant-added', 'widened', 'medium', 'grants[1] (secret)']],
    [
      'a removed grant',
      `${SECRET}  - type: secret\n    name: T\n`,
      SECRET,
      ['grant-removed', 'narrowed', 'low', 'grants[1] (secret, base)'],
    ],
    ['a longer aws duration', aws('15m'), aws('1h'), ['grant-longer', 'widened', 'medium', 'grants[0] (aws)']],
    ['a shorter aws duration', aws('1h'), aws('15m'), ['grant-shorter', 'narrowed', 'low', 'grants[0] (aws)']],
    [
      'another role_arn',
      aws('15m'),
      aws('15m', 'arn:aws:iam::111122223333:role/admin'),
      ['grant-target-changed', 'changed', 'high', 'grants[0] (aws)'],
    ],
    [
      'a session policy removed',
      aws('15m', undefined, '    session_policy: \'{"Version":"2012-10-17"}\'\n'),
      aws('15m'),
      ['session-policy-removed', 'widened', 'high', 'grants[0] (aws)'],
    ],
    [
      'a non-default endpoint',
      aws('15m'),
      aws('15m', undefined, '    sts_endpoint: https://sts.example.com\n'),
      ['endpoint-changed', 'changed', 'high', 'grants[0] (aws)'],
    ],
    ['a higher permission', gh('read', '[web]'), gh('write', '[web]'), ['permission-widened', 'widened', 'medium', 'grants[0] (github)']],
    ['more repositories', gh('read', '[web]'), gh('read', '[web, api]'), ['repositories-added', 'widened', 'medium', 'grants[0] (github)']],
    [
      'fewer repositories',
      gh('read', '[web, api]'),
      gh('read', '[web]'),
      ['repositories-removed', 'narrowed', 'low', 'grants[0] (github)'],
    ],
  ])('%s', async (_name, before, after, expected) => {
    expect((await changesOf(BASE, BASE, { grantsBefore: before, grantsAfter: after, ttl: ['2h', '2h'] })).map(brief)).toEqual([expected]);
  });

  it('max_ttl: longer is medium, shorter low', async () => {
    expect((await changesOf(BASE, BASE, { ttl: ['15m', '1h'] })).map(brief)).toEqual([['max-ttl-longer', 'widened', 'medium', 'max_ttl']]);
    expect((await changesOf(BASE, BASE, { ttl: ['1h', '15m'] })).map(brief)).toEqual([['max-ttl-shorter', 'narrowed', 'low', 'max_ttl']]);
  });
});

describe('lint settings', () => {
  it('an added exception is high; turning production off is high', async () => {
    const exception = `${BASE}  lint:\n    exceptions:\n      - rule: prod-self-hosted-runner\n        reason: hardened ephemeral runners only\n`;
    expect((await changesOf(BASE, exception, { name: 'web-prod' })).map(brief)).toEqual([
      ['lint-exception-added', 'widened', 'high', 'lint.exceptions'],
    ]);
    const off = `${BASE}  lint:\n    production: false\n`;
    expect((await changesOf(BASE, off, { name: 'web-prod' })).map(brief)).toEqual([['production-off', 'widened', 'high', 'lint']]);
  });
});

describe('roles and issuers', () => {
  it('added and removed roles; unchanged roles are left out', async () => {
    const base = await side({ a: role('a', BASE), b: role('b', BASE) });
    const head = await side({ a: role('a', BASE), c: role('c-prod', BASE).replace('role: c-prod', 'role: c') });
    const diff = diffPolicies(base, head);
    expect(diff.roles.map((r) => [r.role, r.status, r.risk])).toEqual([
      ['c', 'added', 'medium'],
      ['b', 'removed', 'low'],
    ]);
    expect(diff.roles[0]!.whoNow[0]).toContain('repository_id "123456"');
  });

  it('everything is added when the base has no policies', async () => {
    const diff = diffPolicies(EMPTY_SIDE, await side({ 'web-prod': role('web-prod', BASE) }));
    expect(diff.roles.map((r) => [r.role, r.status, r.risk, r.production])).toEqual([['web-prod', 'added', 'high', true]]);
    expect(diff.issuers.map((i) => [i.issuer, i.status])).toEqual([
      ['github', 'added'],
      ['gitlab', 'added'],
    ]);
  });

  it('an issuer url or audience change is high', async () => {
    const moved = ISSUERS.replace('https://gitlab.com', 'https://gitlab.example.com').replace(
      /audience: https:\/\/broker.example.com\n$/,
      'audience: https://other.example.com\n',
    );
    const diff = diffPolicies(await side({ r: role('r', BASE) }), await side({ r: role('r', BASE) }, moved));
    expect(diff.issuers.flatMap((i) => i.changes.map((c) => [i.issuer, c.kind, c.risk]))).toEqual([
      ['gitlab', 'issuer-url-changed', 'high'],
      ['gitlab', 'audience-changed', 'high'],
    ]);
    expect(diff.counts).toEqual({ high: 2, medium: 0, low: 0 });
  });
});
