// Policy sets for the access-diff tests (diff.test.ts, diff-markdown.test.ts): a role body in, a loaded side out.
import type { PolicySide } from '../../../../broker/src/policy/review/diff.ts';
import { loadPolicy } from '../../../../broker/src/policy/load.ts';
import { ISSUERS, yaml } from '../helpers.ts';

export async function side(roles: Record<string, string>, issuers = ISSUERS): Promise<PolicySide> {
  const files = [
    { path: 'issuers.yaml', text: issuers },
    ...Object.entries(roles).map(([name, text]) => ({ path: `roles/${name}.yaml`, text })),
  ];
  const loaded = await loadPolicy(files);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.policy;
}

export const SECRET = 'grants:\n  - type: secret\n    name: S\n';

export function role(name: string, body: string, grants = SECRET, maxTtl = '15m'): string {
  return `role: ${name}\nissuer: github\nmax_ttl: ${maxTtl}\n${yaml([body] as unknown as TemplateStringsArray).replace(/\n*$/, '\n')}${grants}`;
}

export const BASE = `
  allow:
    - repository_id: "123456"
      ref: refs/heads/main
      event_name: [push]
      ref_type: branch
  deny:
    - event_name: pull_request_target
`;
