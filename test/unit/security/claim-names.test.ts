// Every claim name a condition uses is checked against the vocabulary of its issuer's kind: a typo in a deny
// set (`actr`) would never match, so the deny would vanish while `policy check` said OK.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPolicyDir } from '../../../broker/entry/node/policy-files.ts';
import { issuerKind, suggestClaims, vocabularyOf } from '../../../broker/src/policy/review/claim-names.ts';
import { checkPolicy } from '../../../broker/src/policy/review/check.ts';
import type { PolicyFile } from '../../../broker/src/policy/load.ts';

const ROOT = join(import.meta.dirname, '../../..');

function issuers(url: string, extra = ''): string {
  return `issuers:\n  ci:\n    url: ${url}\n    audience: https://broker.example.com\n${extra}`;
}

function set(issuersYaml: string, body: string, grants = 'grants:\n  - type: secret\n    name: S\n'): PolicyFile[] {
  return [
    { path: 'issuers.yaml', text: issuersYaml },
    { path: 'roles/r.yaml', text: `role: r\nissuer: ci\nmax_ttl: 15m\n${body}${grants}` },
    {
      path: 'tests/r.yaml',
      text: 'tests:\n  - {name: a, role: r, expect: allow, claims: {x: "1"}}\n  - {name: d, role: r, expect: deny, claims: {x: "2"}}\n',
    },
  ];
}

const GITHUB = issuers('https://token.actions.githubusercontent.com');
const GITLAB = issuers('https://gitlab.com');
const GH_ALLOW = 'allow:\n  - repository_id: "1"\n    repository_owner_id: "2"\n    ref: refs/heads/main\n';
const GL_ALLOW = 'allow:\n  - project_id: "1"\n    namespace_id: "2"\n    ref_protected: "true"\n';

async function rulesOf(files: PolicyFile[]) {
  const report = await checkPolicy(files);
  return { report, rules: report.findings.map((f) => `${f.severity}:${f.rule}`) };
}

describe('an unknown claim name in a condition is a lint error, with did-you-mean from the issuer vocabulary', () => {
  const failing: [string, string, string][] = [
    ['a typo in a deny set (actr)', GITHUB, `${GH_ALLOW}deny:\n  - actr: mallory\n`],
    [
      'a typo in an allow set (repositroy_id next to the real ids)',
      GITHUB,
      'allow:\n  - repository_id: "1"\n    repository_owner_id: "2"\n    ref: refs/heads/main\n    enviroment: production\n',
    ],
    ['a case variant (Actor): claims compare exactly', GITHUB, `${GH_ALLOW}deny:\n  - Actor: mallory\n`],
    [
      'a GitLab claim on a GitHub issuer (pipeline_source never appears)',
      GITHUB,
      `${GH_ALLOW}deny:\n  - pipeline_source: merge_request_event\n`,
    ],
    ['a GitHub claim on a GitLab issuer (event_name never appears)', GITLAB, `${GL_ALLOW}deny:\n  - event_name: pull_request_target\n`],
    ['a bare custom-property prefix (repo_property_)', GITHUB, `${GH_ALLOW}deny:\n  - repo_property_: x\n`],
    [
      'a second deny set whose only key is a typo',
      GITHUB,
      `${GH_ALLOW}deny:\n  - event_name: workflow_run\n  - runner_enviroment: self-hosted\n`,
    ],
    [
      'a generic issuer claim that its claims: list lacks',
      issuers('https://ci.example.com', '    claims: [repo_id, branch]\n'),
      'allow:\n  - repo_id: "1"\n    branch: main\ndeny:\n  - brnach: dev\n',
    ],
  ];
  it.each(failing)('%s', async (_name, iss, body) => {
    const { report, rules } = await rulesOf(set(iss, body));
    expect(rules).toContain('error:unknown-claim');
    expect(report.errors).toBeGreaterThan(0);
  });

  it('an aws session tag that reads an unknown claim is an error too', async () => {
    const grants =
      'grants:\n  - type: aws\n    role_arn: arn:aws:iam::111122223333:role/x\n    region: us-east-1\n    session_tags:\n      team: repositroy_owner\n';
    expect((await rulesOf(set(GITHUB, GH_ALLOW, grants))).rules).toContain('error:unknown-claim');
  });

  it('suggests the nearest names of the vocabulary', () => {
    const github = vocabularyOf({ url: 'https://token.actions.githubusercontent.com' });
    expect(suggestClaims(github, 'actr')).toContain('actor');
    expect(suggestClaims(github, 'repositroy_id')[0]).toBe('repository_id');
    expect(suggestClaims(github, 'runner_enviroment')[0]).toBe('runner_environment');
    expect(suggestClaims(vocabularyOf({ url: 'https://gitlab.com' }), 'namespce_id')[0]).toBe('namespace_id');
  });

  const passing: [string, string, string][] = [
    [
      'GitHub claims',
      GITHUB,
      `${GH_ALLOW}    job_workflow_ref: acme/x/.github/workflows/d.yml@refs/heads/main\ndeny:\n  - event_name: [pull_request_target, workflow_run]\n  - actor: mallory\n`,
    ],
    ['a repository custom property', GITHUB, `${GH_ALLOW}    repo_property_tier: gold\n`],
    ['the standard JWT claims', GITHUB, `${GH_ALLOW}    sub: repo:acme/web:ref:refs/heads/main\n    aud: https://broker.example.com\n`],
    [
      'GitLab claims including job_project_id',
      GITLAB,
      `${GL_ALLOW}    job_project_id: "1"\ndeny:\n  - pipeline_source: merge_request_event\n`,
    ],
    [
      'a claim the platform added, listed under claims:',
      issuers('https://token.actions.githubusercontent.com', '    claims: [brand_new_claim]\n'),
      `${GH_ALLOW}    brand_new_claim: x\n`,
    ],
    [
      'a self-managed GitLab that says kind: gitlab',
      issuers('https://git.corp.example', '    kind: gitlab\n'),
      `${GL_ALLOW}deny:\n  - user_login: mallory\n`,
    ],
  ];
  it.each(passing)('known names pass: %s', async (_name, iss, body) => {
    const { rules } = await rulesOf(set(iss, body));
    expect(rules.filter((r) => r.endsWith('unknown-claim') || r.endsWith('unchecked-claims'))).toEqual([]);
  });

  it('a generic issuer without claims: gets a warning that names cannot be checked, and no unknown-claim error', async () => {
    const { rules, report } = await rulesOf(
      set(
        issuers('http://127.0.0.1:9999'),
        'allow:\n  - repository_id: "1"\n    repository_owner_id: "2"\n    ref: refs/heads/main\n    anything_at_all: x\n',
      ),
    );
    expect(rules).toContain('warning:unchecked-claims');
    expect(rules).not.toContain('error:unknown-claim');
    expect(report.errors).toBe(0);
  });

  it('kind: generic on a GitHub URL turns the GitHub vocabulary off (and warns without claims:)', async () => {
    const { rules } = await rulesOf(
      set(issuers('https://token.actions.githubusercontent.com', '    kind: generic\n'), `${GH_ALLOW}    custom: x\n`),
    );
    expect(rules).toContain('warning:unchecked-claims');
    expect(rules).not.toContain('error:unknown-claim');
  });
});

describe('the issuer kind is declared, or inferred from the URL', () => {
  const table: [string, string][] = [
    ['https://token.actions.githubusercontent.com', 'github'],
    ['https://token.actions.githubusercontent.com/', 'github'],
    ['https://token.actions.githubusercontent.com/acme-enterprise', 'github'],
    ['https://ghes.example.com/_services/token', 'github'],
    ['https://gitlab.com', 'gitlab'],
    ['https://gitlab.com/', 'gitlab'],
    ['https://gitlab.example.com', 'generic'],
    ['http://127.0.0.1:9999', 'generic'],
    ['https://token.actions.githubusercontent.com.evil.example', 'generic'],
    ['https://evil.example/token.actions.githubusercontent.com', 'generic'],
    ['https://gitlab.com.evil.example', 'generic'],
    ['https://gitlab.com/some-group', 'generic'],
    ['https://token.actions.githubusercontent.com/a/b', 'generic'],
    ['https://evil.example/?next=/_services/token', 'generic'],
    ['https://evil.example/_services/token/more', 'generic'],
  ];
  it.each(table)('%s is %s', (url, kind) => {
    expect(issuerKind({ url })).toBe(kind);
  });

  it('a declared kind wins over the URL', () => {
    expect(issuerKind({ url: 'https://gitlab.example.com', kind: 'gitlab' })).toBe('gitlab');
    expect(issuerKind({ url: 'https://gitlab.com', kind: 'generic' })).toBe('generic');
  });

  it('issuers.yaml refuses an unknown kind and claim names that could not be claims', async () => {
    for (const extra of ['    kind: kubernetess\n', '    claims: [__proto__]\n', '    claims: ["a b"]\n', '    claims: [x, x]\n']) {
      const report = await checkPolicy(set(issuers('https://ci.example.com', extra), GH_ALLOW));
      expect(report.findings.map((f) => f.rule)).toContain('schema');
    }
  });
});

describe("the repository's own policy sets stay free of unknown-claim errors", () => {
  it.each([['policies'], ['test/fixtures/lint/bad'], ['test/workers/fixtures/policies']])('%s', async (dir) => {
    const report = await checkPolicy(readPolicyDir(join(ROOT, dir)));
    expect(report.findings.filter((f) => f.rule === 'unknown-claim')).toEqual([]);
  });
});
