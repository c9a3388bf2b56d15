// The lint, rule by rule: a policy set that breaks the rule and one that keeps it, table-driven. Every rule in
// rules.ts has a row (a test checks that), and the failing row also says where the finding points. Message
// text is not asserted: rule ids and positions are the interface.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPolicyDir } from '../../../../broker/entry/node/policy-files.ts';
import { checkPolicy } from '../../../../broker/src/policy/review/check.ts';
import type { PolicyFile } from '../../../../broker/src/policy/load.ts';
import { productionVerdict } from '../../../../broker/src/policy/review/role-facts.ts';
import { EXCEPTABLE_RULE_IDS } from '../../../../broker/src/policy/exceptable-rules.ts';
import { RULES } from '../../../../broker/src/policy/review/rules.ts';
import { roleSchema } from '../../../../broker/src/policy/schema.ts';
import { parse } from 'yaml';
import { yaml } from '../helpers.ts';

const GITHUB = yaml`
  issuers:
    github:
      url: https://token.actions.githubusercontent.com
      audience: https://broker.example.com
`;
const GITLAB = yaml`
  issuers:
    gitlab:
      url: https://gitlab.com
      audience: https://broker.example.com
`;

/** A role file: `body` is the allow/deny part (and anything else), starting at line 4. */
function role(name: string, body: string, opts: { issuer?: string; maxTtl?: string; grants?: string } = {}): string {
  const grants = opts.grants ?? 'grants:\n  - type: secret\n    name: S\n';
  return `role: ${name}\nissuer: ${opts.issuer ?? 'github'}\nmax_ttl: ${opts.maxTtl ?? '15m'}\n${yaml([body] as unknown as TemplateStringsArray).replace(/\n*$/, '\n')}${grants}`;
}

/** One allow and one deny case per role, so `role-without-tests` stays quiet unless a row asks for it. */
function testsFor(names: string[]): PolicyFile {
  const cases = names.flatMap((n) => [
    `  - {name: ${n} allowed, role: ${n}, expect: allow, claims: {x: "1"}}`,
    `  - {name: ${n} denied, role: ${n}, expect: deny, claims: {x: "2"}}`,
  ]);
  return { path: 'tests/all.yaml', text: `tests:\n${cases.join('\n')}\n` };
}

interface Spec {
  roles: Record<string, string>;
  issuers?: string;
  tests?: boolean;
  /** File name overrides: role name -> path (for .yml duplicates). */
  paths?: Record<string, string>;
}

function policySet(spec: Spec): PolicyFile[] {
  const list: PolicyFile[] = [{ path: 'issuers.yaml', text: spec.issuers ?? GITHUB }];
  for (const [key, text] of Object.entries(spec.roles)) list.push({ path: spec.paths?.[key] ?? `roles/${key}.yaml`, text });
  const names = [...new Set(Object.values(spec.roles).map((t) => /^role: (\S+)/m.exec(t)?.[1] ?? ''))];
  if (spec.tests !== false) list.push(testsFor(names));
  return list;
}

// The bodies the rows vary. Ids, a protected ref: nothing to say about these.
const BOUND = `
  allow:
    - repository_id: "123456"
      repository_owner_id: "7890"
      ref: refs/heads/main
`;
const PROD = `
  allow:
    - repository_id: "123456"
      repository_owner_id: "7890"
      ref: refs/heads/main
      environment: production
      event_name: [push, workflow_dispatch]
      runner_environment: github-hosted
  deny:
    - event_name: [pull_request_target, workflow_run]
`;
const GITLAB_PROD = `
  allow:
    - project_id: "4242"
      namespace_id: "77"
      ref_protected: true
      runner_environment: gitlab-hosted
`;

interface Row {
  rule: string;
  fail: Spec;
  pass: Spec;
  /** Where the (first) finding of the failing set points: file, line, column. */
  at?: [string, number, number];
}

const ROWS: Row[] = [
  {
    rule: 'schema',
    fail: { roles: { r: role('r', `${BOUND}  owner: acme`) } },
    pass: { roles: { r: role('r', BOUND) } },
    at: ['roles/r.yaml', 8, 1],
  },
  {
    rule: 'duplicate-role-name',
    fail: { roles: { a: role('r', BOUND), b: role('r', BOUND) }, paths: { a: 'roles/r.yaml', b: 'roles/r.yml' } },
    pass: { roles: { r: role('r', BOUND), s: role('s', BOUND) } },
    at: ['roles/r.yml', 1, 7],
  },
  {
    rule: 'duplicate-role-name',
    fail: { roles: { 'deploy-web': role('deploy-web', BOUND), deploy_web: role('deploy_web', BOUND) } },
    pass: { roles: { 'deploy-web': role('deploy-web', BOUND), 'deploy-api': role('deploy-api', BOUND) } },
    at: ['roles/deploy_web.yaml', 1, 7],
  },
  {
    rule: 'repository-binding',
    fail: { roles: { r: role('r', `allow:\n  - repository: acme/web\n    ref: refs/heads/main`) } },
    pass: { roles: { r: role('r', `allow:\n  - repository: acme/web\n    repository_id: "123456"\n    ref: refs/heads/main`) } },
    at: ['roles/r.yaml', 5, 5],
  },
  {
    rule: 'repository-binding',
    fail: { roles: { r: role('r', `allow:\n  - repository_id: {regex: "[0-9]+"}\n    ref: refs/heads/main`) } },
    pass: { roles: { r: role('r', `allow:\n  - repository_id: ["123456", "654321"]\n    ref: refs/heads/main`) } },
  },
  {
    // every allow set needs its own binding: any one of them may match
    rule: 'repository-binding',
    fail: { roles: { r: role('r', `${BOUND}    - ref: refs/heads/main`) } },
    pass: { roles: { r: role('r', `${BOUND}    - repository_owner_id: "7890"\n      ref: refs/heads/dev`) } },
    at: ['roles/r.yaml', 8, 5],
  },
  {
    rule: 'repository-binding',
    fail: {
      issuers: GITLAB,
      roles: { r: role('r', `allow:\n  - project_path: acme/tools\n    ref_protected: true`, { issuer: 'gitlab' }) },
    },
    pass: { issuers: GITLAB, roles: { r: role('r', `allow:\n  - project_id: "4242"\n    ref_protected: true`, { issuer: 'gitlab' }) } },
  },
  {
    rule: 'owner-wildcard',
    fail: { roles: { r: role('r', `allow:\n  - repository_owner_id: "7890"\n    repository: {glob: "*/web"}\n    ref: refs/heads/main`) } },
    pass: {
      roles: { r: role('r', `allow:\n  - repository_owner_id: "7890"\n    repository: {glob: "acme/*"}\n    ref: refs/heads/main`) },
    },
    at: ['roles/r.yaml', 6, 24],
  },
  {
    rule: 'owner-wildcard',
    fail: {
      roles: { r: role('r', `allow:\n  - repository_owner_id: "7890"\n    repository: {regex: "[a-z]+/web"}\n    ref: refs/heads/main`) },
    },
    pass: {
      roles: {
        r: role(
          'r',
          `allow:\n  - repository_owner_id: "7890"\n    repository: {regex: "(acme|acme-labs)/[a-z-]+"}\n    ref: refs/heads/main`,
        ),
      },
    },
  },
  {
    rule: 'owner-wildcard',
    fail: {
      roles: {
        r: role('r', `allow:\n  - repository_owner_id: "7890"\n    job_workflow_ref: {regex: "(?:acme/deploy|.*)/[^/]+@refs/heads/main"}`),
      },
    },
    pass: {
      roles: {
        r: role(
          'r',
          `allow:\n  - repository_owner_id: "7890"\n    job_workflow_ref: {glob: "acme/deploy/.github/workflows/*@refs/heads/main"}`,
        ),
      },
    },
  },
  {
    rule: 'owner-wildcard',
    fail: { roles: { r: role('r', `allow:\n  - repository_owner_id: {glob: "78*"}\n    ref: refs/heads/main`) } },
    pass: { roles: { r: role('r', `allow:\n  - repository_owner_id: "7890"\n    ref: refs/heads/main`) } },
  },
  {
    rule: 'wildcard-crosses-slash',
    fail: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    ref: {regex: "refs/heads/release-.*"}`) } },
    pass: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    ref: {regex: "refs/heads/release-[^/]*"}`) } },
    at: ['roles/r.yaml', 6, 18],
  },
  {
    rule: 'wildcard-crosses-slash',
    fail: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    ref: {glob: "refs/heads/**"}`) } },
    pass: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    ref: {glob: "refs/heads/*"}`) } },
  },
  {
    rule: 'wildcard-crosses-slash',
    fail: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    ref: {glob: "refs/heads/v[+-0]*"}`) } },
    pass: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    ref: {glob: "refs/heads/v[0-9]*"}`) } },
  },
  {
    rule: 'wildcard-crosses-slash',
    fail: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    ref: [refs/heads/main, {regex: "refs/tags/v\\\\S+"}]`) } },
    pass: {
      roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    ref: [refs/heads/main, {regex: "refs/tags/v[0-9]+\\\\.[0-9]+"}]`) },
    },
  },
  {
    rule: 'wildcard-crosses-slash',
    fail: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    ref: {regex: "refs/heads/[^.]+"}`) } },
    pass: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    event_name: {regex: ".+"}\n    ref: refs/heads/main`) } },
  },
  {
    rule: 'editable-claims-only',
    fail: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    workflow: Deploy\n    actor: alice`) } },
    pass: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    workflow: Deploy\n    ref: refs/heads/main`) } },
    at: ['roles/r.yaml', 5, 5],
  },
  {
    rule: 'workflow-ref-alone',
    fail: {
      roles: {
        r: role(
          'r',
          `allow:\n  - repository_id: "123456"\n    ref: refs/heads/main\n    workflow_ref: acme/web/.github/workflows/deploy.yml@refs/heads/main`,
        ),
      },
    },
    pass: {
      roles: {
        r: role(
          'r',
          `allow:\n  - repository_id: "123456"\n    ref: refs/heads/main\n    job_workflow_ref: acme/deploy/.github/workflows/deploy.yml@refs/heads/main`,
        ),
      },
    },
    at: ['roles/r.yaml', 7, 19],
  },
  {
    rule: 'prod-pull-request-target',
    fail: {
      roles: {
        'web-prod': role(
          'web-prod',
          PROD.replace('[push, workflow_dispatch]', '[push, pull_request_target]').replace(
            '[pull_request_target, workflow_run]',
            'workflow_run',
          ),
        ),
      },
    },
    pass: { roles: { 'web-prod': role('web-prod', PROD) } },
    at: ['roles/web-prod.yaml', 9, 17],
  },
  {
    // the deny set is what stops it here: the allow set admits any event
    rule: 'prod-pull-request-target',
    fail: {
      roles: {
        'web-prod': role(
          'web-prod',
          PROD.replace('      event_name: [push, workflow_dispatch]\n', '').replace(
            '[pull_request_target, workflow_run]',
            '[workflow_run]',
          ),
        ),
      },
    },
    pass: { roles: { 'web-prod': role('web-prod', PROD.replace('      event_name: [push, workflow_dispatch]\n', '')) } },
  },
  {
    rule: 'prod-workflow-run',
    fail: {
      roles: {
        'web-prod': role(
          'web-prod',
          PROD.replace('[push, workflow_dispatch]', '[push, workflow_run]').replace(
            '[pull_request_target, workflow_run]',
            'pull_request_target',
          ),
        ),
      },
    },
    pass: { roles: { 'web-prod': role('web-prod', PROD) } },
  },
  {
    // production by its environment, not its name
    rule: 'prod-fork-pull-request',
    fail: {
      roles: {
        deploy: role(
          'deploy',
          PROD.replace('      ref: refs/heads/main\n', '').replace('[push, workflow_dispatch]', '[push, pull_request]'),
        ),
      },
    },
    pass: { roles: { deploy: role('deploy', PROD.replace('[push, workflow_dispatch]', '[push, pull_request]')) } },
    at: ['roles/deploy.yaml', 8, 17],
  },
  {
    rule: 'prod-fork-pull-request',
    fail: {
      issuers: GITLAB,
      roles: { 'tools-prod': role('tools-prod', GITLAB_PROD.replace('      ref_protected: true\n', ''), { issuer: 'gitlab' }) },
    },
    pass: { issuers: GITLAB, roles: { 'tools-prod': role('tools-prod', GITLAB_PROD, { issuer: 'gitlab' }) } },
  },
  {
    rule: 'prod-fork-pull-request',
    fail: {
      issuers: GITLAB,
      roles: { 'tools-prod': role('tools-prod', GITLAB_PROD.replace('      ref_protected: true\n', ''), { issuer: 'gitlab' }) },
    },
    pass: {
      issuers: GITLAB,
      roles: {
        'tools-prod': role(
          'tools-prod',
          `${GITLAB_PROD.replace('      ref_protected: true\n', '')}  deny:\n    - pipeline_source: merge_request_event\n`,
          { issuer: 'gitlab' },
        ),
      },
    },
  },
  {
    rule: 'prod-self-hosted-runner',
    fail: { roles: { 'web-prod': role('web-prod', PROD.replace('      runner_environment: github-hosted\n', '')) } },
    pass: { roles: { 'web-prod': role('web-prod', PROD) } },
    at: ['roles/web-prod.yaml', 5, 5],
  },
  {
    // a reasoned exception waives it for this role
    rule: 'prod-self-hosted-runner',
    fail: { roles: { 'web-prod': role('web-prod', PROD.replace('github-hosted', '[github-hosted, self-hosted]')) } },
    pass: {
      roles: {
        'web-prod': role(
          'web-prod',
          `${PROD.replace('github-hosted', '[github-hosted, self-hosted]')}  lint:\n    exceptions:\n      - rule: prod-self-hosted-runner\n        reason: production deploys run on our ephemeral hardened runners (SEC-142)\n`,
        ),
      },
    },
  },
  {
    rule: 'regex-modifier',
    fail: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    ref: {regex: "(?i:refs/heads/main)"}`) } },
    pass: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    ref: {regex: "refs/heads/(?:main|master)"}`) } },
    at: ['roles/r.yaml', 6, 18],
  },
  {
    // not even a valid JavaScript regex: the schema error is replaced by the lint's explanation
    rule: 'regex-modifier',
    fail: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    ref: {regex: "(?i)refs/heads/main"}`) } },
    pass: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    ref: {regex: "refs/heads/main"}`) } },
    at: ['roles/r.yaml', 6, 18],
  },
  {
    rule: 'regex-modifier',
    fail: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    ref: {regex: "/refs\\\\/heads\\\\/main/i"}`) } },
    pass: { roles: { r: role('r', `allow:\n  - repository_id: "123456"\n    ref: {regex: "refs\\\\/heads\\\\/main"}`) } },
  },
  {
    rule: 'audience-not-unique',
    fail: { issuers: GITHUB.replace('https://broker.example.com', 'sts.amazonaws.com'), roles: { r: role('r', BOUND) } },
    pass: { roles: { r: role('r', BOUND) } },
    at: ['issuers.yaml', 4, 15],
  },
  {
    rule: 'audience-not-unique',
    fail: { issuers: GITHUB.replace('https://broker.example.com', 'https://github.com/acme'), roles: { r: role('r', BOUND) } },
    pass: { issuers: GITHUB.replace('https://broker.example.com', 'https://broker.acme.example/github'), roles: { r: role('r', BOUND) } },
  },
  {
    rule: 'unused-issuer',
    fail: { issuers: `${GITHUB}${GITLAB.replace('issuers:\n', '')}`, roles: { r: role('r', BOUND) } },
    pass: { roles: { r: role('r', BOUND) } },
    at: ['issuers.yaml', 5, 3],
  },
  {
    rule: 'replay-reuse',
    fail: { issuers: `${GITHUB}    replay: reuse\n`, roles: { r: role('r', BOUND) } },
    pass: { issuers: `${GITHUB}    replay: single_use\n`, roles: { r: role('r', BOUND) } },
    at: ['issuers.yaml', 5, 13],
  },
  {
    rule: 'gcp-subject-token',
    fail: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: gcp\n    workload_identity_provider: projects/1/locations/global/workloadIdentityPools/p/providers/q\n    hand_out: subject_token\n',
        }),
      },
    },
    pass: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: gcp\n    workload_identity_provider: projects/1/locations/global/workloadIdentityPools/p/providers/q\n    hand_out: access_token\n',
        }),
      },
    },
    at: ['roles/r.yaml', 11, 15],
  },
  {
    rule: 'role-without-tests',
    fail: { roles: { r: role('r', BOUND) }, tests: false },
    pass: { roles: { r: role('r', BOUND) } },
    at: ['roles/r.yaml', 1, 7],
  },
  {
    rule: 'grant-exceeds-max-ttl',
    fail: {
      roles: {
        r: role('r', BOUND, {
          grants: 'grants:\n  - type: aws\n    role_arn: arn:aws:iam::111122223333:role/x\n    region: us-east-1\n    duration: 1h\n',
        }),
      },
    },
    pass: {
      roles: {
        r: role('r', BOUND, {
          grants: 'grants:\n  - type: aws\n    role_arn: arn:aws:iam::111122223333:role/x\n    region: us-east-1\n    duration: 15m\n',
        }),
      },
    },
    at: ['roles/r.yaml', 12, 15],
  },
  {
    rule: 'grant-exceeds-max-ttl',
    fail: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: gcp\n    workload_identity_provider: projects/1/locations/global/workloadIdentityPools/p/providers/q\n    lifetime: 2h\n',
        }),
      },
    },
    pass: {
      roles: {
        r: role('r', BOUND, {
          maxTtl: '2h',
          grants:
            'grants:\n  - type: gcp\n    workload_identity_provider: projects/1/locations/global/workloadIdentityPools/p/providers/q\n    lifetime: 2h\n',
        }),
      },
    },
  },
  {
    rule: 'non-default-endpoint',
    fail: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: github\n    app_id: 1\n    installation_id: 2\n    repositories: [web]\n    permissions: {contents: read}\n    api_url: https://ghes.example.com/api/v3\n',
        }),
      },
    },
    pass: {
      roles: {
        r: role(
          'r',
          `${BOUND}  lint:\n    exceptions:\n      - rule: non-default-endpoint\n        reason: our GitHub Enterprise Server; tokens never leave the company network`,
          {
            grants:
              'grants:\n  - type: github\n    app_id: 1\n    installation_id: 2\n    repositories: [web]\n    permissions: {contents: read}\n    api_url: https://ghes.example.com/api/v3\n',
          },
        ),
      },
    },
    at: ['roles/r.yaml', 14, 14],
  },
  {
    rule: 'secret-env-name-refused',
    fail: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: aws_parameter\n    name: /prod/k\n    region: us-east-1\n    role_arn: arn:aws:iam::111122223333:role/x\n    env: LD_PRELOAD\n',
        }),
      },
    },
    pass: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: aws_parameter\n    name: /prod/k\n    region: us-east-1\n    role_arn: arn:aws:iam::111122223333:role/x\n    env: API_KEY\n',
        }),
      },
    },
  },
  {
    rule: 'secret-env-name-duplicate',
    fail: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: secret\n    name: api\n    env: API_KEY\n  - type: aws_parameter\n    name: /prod/k\n    region: us-east-1\n    role_arn: arn:aws:iam::111122223333:role/x\n    env: API_KEY\n',
        }),
      },
    },
    pass: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: secret\n    name: api\n    env: OTHER_KEY\n  - type: aws_parameter\n    name: /prod/k\n    region: us-east-1\n    role_arn: arn:aws:iam::111122223333:role/x\n    env: API_KEY\n',
        }),
      },
    },
  },
  {
    rule: 'non-default-endpoint',
    fail: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: aws\n    role_arn: arn:aws:iam::111122223333:role/x\n    region: us-east-1\n    sts_endpoint: https://sts.attacker.example\n',
        }),
      },
    },
    pass: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: aws\n    role_arn: arn:aws:iam::111122223333:role/x\n    region: us-east-1\n    sts_endpoint: https://sts.us-east-1.amazonaws.com\n',
        }),
      },
    },
  },
  {
    rule: 'secret-names-broker-key',
    fail: { roles: { r: role('r', BOUND, { grants: 'grants:\n  - type: secret\n    name: aws.111122223333.secret_access_key\n' }) } },
    pass: { roles: { r: role('r', BOUND, { grants: 'grants:\n  - type: secret\n    name: AWS_DEPLOY_BUCKET\n' }) } },
  },
  {
    rule: 'secret-names-broker-key',
    fail: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: github\n    app_id: 1\n    installation_id: 2\n    repositories: [web]\n    permissions: {contents: read}\n    private_key_secret: APP_KEY\n  - type: secret\n    name: APP_KEY\n',
        }),
      },
    },
    pass: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: github\n    app_id: 1\n    installation_id: 2\n    repositories: [web]\n    permissions: {contents: read}\n    private_key_secret: APP_KEY\n  - type: secret\n    name: OTHER\n',
        }),
      },
    },
  },
  {
    rule: 'workload-binding',
    fail: {
      issuers: GITHUB.replace('github:', 'cluster:').replace(
        'https://token.actions.githubusercontent.com',
        'https://kubernetes.default.svc\n    kind: kubernetes',
      ),
      roles: { r: role('r', '  allow:\n    - /kubernetes.io/namespace: payments\n', { issuer: 'cluster' }) },
    },
    pass: {
      issuers: GITHUB.replace('github:', 'cluster:').replace(
        'https://token.actions.githubusercontent.com',
        'https://kubernetes.default.svc\n    kind: kubernetes',
      ),
      roles: {
        r: role('r', '  allow:\n    - /kubernetes.io/namespace: payments\n      /kubernetes.io/serviceaccount/name: api\n', {
          issuer: 'cluster',
        }),
      },
    },
    at: ['roles/r.yaml', 5, 5],
  },
  {
    rule: 'unknown-claim',
    fail: { roles: { r: role('r', `${BOUND}  deny:\n    - actr: mallory\n`) } },
    pass: { roles: { r: role('r', `${BOUND}  deny:\n    - actor: mallory\n`) } },
    at: ['roles/r.yaml', 9, 11],
  },
  {
    rule: 'unchecked-claims',
    fail: {
      issuers: GITHUB.replace('https://token.actions.githubusercontent.com', 'https://ci.example.com'),
      roles: { r: role('r', BOUND) },
    },
    pass: {
      issuers: GITHUB.replace('https://token.actions.githubusercontent.com', 'https://ci.example.com').replace(
        'audience:',
        'claims: [repository_id, repository_owner_id, ref]\n    audience:',
      ),
      roles: { r: role('r', BOUND) },
    },
    at: ['issuers.yaml', 2, 3],
  },
  // Issue 16: secret store reads (azure_secret, vault_secret).
  {
    rule: 'non-default-endpoint',
    fail: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: vault_secret\n    address: http://127.0.0.1:8200\n    auth_role: ci-broker\n    path: app/prod\n    keys: {DB_PASSWORD: password}\n',
        }),
      },
    },
    pass: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: vault_secret\n    address: https://vault.internal.example\n    auth_role: ci-broker\n    path: app/prod\n    keys: {DB_PASSWORD: password}\n',
        }),
      },
    },
    at: ['roles/r.yaml', 10, 14],
  },
  {
    rule: 'non-default-endpoint',
    fail: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: azure_secret\n    vault_url: https://myvault.vault.azure.net\n    name: db-password\n    tenant_id: t\n    client_id: c\n    env: DB_PASSWORD\n    authority_host: https://login.attacker.example\n',
        }),
      },
    },
    pass: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: azure_secret\n    vault_url: https://myvault.vault.azure.net\n    name: db-password\n    tenant_id: t\n    client_id: c\n    env: DB_PASSWORD\n',
        }),
      },
    },
  },
  {
    rule: 'secret-env-name-refused',
    fail: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: vault_secret\n    address: https://vault.example.com\n    auth_role: ci-broker\n    path: app/prod\n    keys: {LD_PRELOAD: password}\n',
        }),
      },
    },
    pass: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: vault_secret\n    address: https://vault.example.com\n    auth_role: ci-broker\n    path: app/prod\n    keys: {DB_PASSWORD: password}\n',
        }),
      },
    },
  },
  {
    rule: 'secret-env-name-duplicate',
    fail: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: azure_secret\n    vault_url: https://myvault.vault.azure.net\n    name: db-password\n    tenant_id: t\n    client_id: c\n    env: DB_PASSWORD\n  - type: vault_secret\n    address: https://vault.example.com\n    auth_role: ci-broker\n    path: app/prod\n    keys: {DB_PASSWORD: password}\n',
        }),
      },
    },
    pass: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: azure_secret\n    vault_url: https://myvault.vault.azure.net\n    name: db-password\n    tenant_id: t\n    client_id: c\n    env: DB_PASSWORD\n  - type: vault_secret\n    address: https://vault.example.com\n    auth_role: ci-broker\n    path: app/prod\n    keys: {DB_USER: username}\n',
        }),
      },
    },
  },
  {
    rule: 'secret-env-name-duplicate',
    fail: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: secret\n    name: DB_PASSWORD\n  - type: vault_secret\n    address: https://vault.example.com\n    auth_role: ci-broker\n    path: app/prod\n    keys: {DB_PASSWORD: password}\n',
        }),
      },
    },
    pass: {
      roles: {
        r: role('r', BOUND, {
          grants:
            'grants:\n  - type: secret\n    name: API_KEY\n  - type: vault_secret\n    address: https://vault.example.com\n    auth_role: ci-broker\n    path: app/prod\n    keys: {DB_PASSWORD: password}\n',
        }),
      },
    },
  },
  {
    rule: 'unused-exception',
    fail: {
      roles: {
        'web-prod': role(
          'web-prod',
          `${PROD}  lint:\n    exceptions:\n      - rule: prod-self-hosted-runner\n        reason: production deploys run on our ephemeral hardened runners\n`,
        ),
      },
    },
    pass: { roles: { 'web-prod': role('web-prod', PROD) } },
    at: ['roles/web-prod.yaml', 15, 13],
  },
];

async function findingsOf(spec: Spec) {
  return (await checkPolicy(policySet(spec))).findings;
}

describe('every lint rule', () => {
  it('has a failing and a passing row', () => {
    expect(RULES.map((r) => r.id).filter((id) => !ROWS.some((row) => row.rule === id))).toEqual([]);
  });

  it('covers every rule id the role schema accepts as an exception', () => {
    // The ids live in the runtime module the schema imports; the table that describes them is review tooling.
    expect(EXCEPTABLE_RULE_IDS.filter((id) => !RULES.some((r) => r.id === id && r.exceptable))).toEqual([]);
  });

  it.each(ROWS.map((row, i) => [`${row.rule} #${i}`, row] as const))(
    '%s: the failing set is flagged, the passing set is not',
    async (_name, row) => {
      const failing = await findingsOf(row.fail);
      const hits = failing.filter((f) => f.rule === row.rule);
      expect(hits.length, JSON.stringify(failing, null, 2)).toBeGreaterThan(0);
      if (row.at) expect([hits[0]!.file, hits[0]!.line, hits[0]!.column]).toEqual(row.at);
      for (const hit of hits) expect(hit.hint.length).toBeGreaterThan(20);

      const passing = await findingsOf(row.pass);
      expect(passing.filter((f) => f.rule === row.rule)).toEqual([]);
    },
  );
});

describe('the shipped policies', () => {
  it('are lint-clean: no errors and no warnings', async () => {
    const report = await checkPolicy(readPolicyDir(join(import.meta.dirname, '../../../../policies')));
    expect(report.findings).toEqual([]);
    expect(report.policy?.roles.size).toBe(3);
  });
});

describe('severities and exit', () => {
  it('errors and warnings are counted apart', async () => {
    const report = await checkPolicy(policySet({ roles: { r: role('r', `allow:\n  - repository: acme/web`) }, tests: false }));
    expect(report.findings.map((f) => [f.rule, f.severity])).toEqual([
      ['role-without-tests', 'warning'],
      ['repository-binding', 'error'],
    ]);
    expect([report.errors, report.warnings]).toEqual([1, 1]);
  });

  it('a set with only warnings still loads', async () => {
    const report = await checkPolicy(policySet({ roles: { r: role('r', BOUND) }, tests: false }));
    expect(report.errors).toBe(0);
    expect(report.policy).toBeDefined();
  });
});

describe('exceptions', () => {
  const withLint = (lint: string) => role('web-prod', `${PROD.replace('      runner_environment: github-hosted\n', '')}  lint:\n${lint}`);

  it('waive only the rule they name', async () => {
    const findings = await findingsOf({
      roles: {
        'web-prod': withLint('    exceptions:\n      - rule: non-default-endpoint\n        reason: nothing to do with runners at all\n'),
      },
    });
    expect(findings.map((f) => f.rule).sort()).toEqual(['prod-self-hosted-runner', 'unused-exception']);
  });

  it.each([
    ['a reason too short to judge', '    exceptions:\n      - rule: prod-self-hosted-runner\n        reason: ok\n'],
    ['a rule that cannot be waived', '    exceptions:\n      - rule: regex-modifier\n        reason: we really want case folding here\n'],
    ['an unknown rule', '    exceptions:\n      - rule: no-such-rule\n        reason: this rule does not exist anywhere\n'],
    [
      'the same rule twice',
      '    exceptions:\n      - {rule: prod-self-hosted-runner, reason: first reason given here}\n      - {rule: prod-self-hosted-runner, reason: second reason given here}\n',
    ],
    ['an unknown key', '    waive: [prod-self-hosted-runner]\n'],
  ])('refuse %s (schema)', async (_name, lint) => {
    const findings = await findingsOf({ roles: { 'web-prod': withLint(lint) } });
    expect(findings.map((f) => f.rule)).toContain('schema');
  });

  it('`production: false` turns the production rules off (and the diff reports it)', async () => {
    const findings = await findingsOf({ roles: { 'web-prod': withLint('    production: false\n') } });
    expect(findings).toEqual([]);
  });
});

describe('what counts as a production role', () => {
  const verdict = (body: string, name = 'r') => productionVerdict(roleSchema.parse(parse(role(name, body), { intAsBigInt: true })));

  it.each([
    ['deploy-web-prod', BOUND, true],
    ['prod', BOUND, true],
    ['web.production.eu', BOUND, true],
    ['deploy_prd', BOUND, true],
    ['product-api', BOUND, false],
    ['reproduce', BOUND, false],
    ['deploy', `${BOUND}      environment: production`, true],
    ['deploy', `${BOUND}      environment: prod-eu`, true],
    ['deploy', `${BOUND}      environment: {glob: "prod-*"}`, true],
    ['deploy', `${BOUND}      environment: {regex: "(?:staging|production)"}`, true],
    ['deploy', `${BOUND}      environment: [staging, qa]`, false],
    ['deploy', `${BOUND}      deployment_tier: production`, true],
    ['deploy', `${BOUND}  lint:\n    production: true`, true],
    ['deploy-prod', `${BOUND}  lint:\n    production: false`, false],
  ])('%s with %j: %s', (name, body, expected) => {
    expect(verdict(body, name).production).toBe(expected);
  });
});
