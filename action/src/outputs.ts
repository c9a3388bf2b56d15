// The step's outputs. Naming scheme (documented in the README):
//   request-id, expires-at                     the exchange
//   <type>-<field>                             every field of a cloud/GitHub credential, kebab-case:
//                                              aws-access-key-id, azure-access-token, gcp-project-id, github-token
//   <type>-<n>-<field>                         the n-th (n >= 2) credential of the same type: aws-2-access-key-id
//   secret-<ENV>, secret-<ENV>-version, secret-<ENV>-name
//                                              a stored secret by its variable name (without env-prefix)
//   aws-account-id                             from the AWS credential's role ARN (aws-2-account-id, ...)
// Lists and objects (github-repositories, github-permissions) are JSON. Empty values are not set.
// Credential values (every field that is not a public descriptor: keys, tokens, a secret's value) are outputs
// only with `output-credentials: true`; by default they reach later steps through the environment alone, as
// in configure-aws-credentials, so that a `${{ steps.x.outputs }}` dump or a job output cannot carry them.
import { awsAccountIdOf, PUBLIC_FIELDS, type ExchangeResponse } from '../../client/credentials.ts';
import { printableName } from '../../client/env.ts';

export type Output = [name: string, value: string];

const OUTPUT_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;

export function outputsFor(
  response: ExchangeResponse,
  options: { credentials: boolean },
): { ok: true; outputs: Output[] } | { ok: false; problems: string[] } {
  const outputs: Output[] = [];
  const problems: string[] = [];
  // Output names are case-insensitive in expressions, so "secret-a" and "secret-A" would be one output.
  const seen = new Set<string>();
  /** Why `name` cannot be used (reported once per credential), or undefined. */
  const problem = (name: string) =>
    !OUTPUT_NAME.test(name)
      ? `output ${printableName(name)}: not a valid output name`
      : seen.has(name.toLowerCase())
        ? `output ${printableName(name)}: two credentials produce this output`
        : undefined;
  const put = (name: string, value: unknown) => {
    const text =
      typeof value === 'string'
        ? value
        : value === undefined || value === null
          ? ''
          : typeof value === 'object'
            ? JSON.stringify(value)
            : String(value);
    if (text === '') return;
    const p = problem(name);
    if (p) return problems.push(p);
    seen.add(name.toLowerCase());
    outputs.push([name, text]);
  };

  put('request-id', response.request_id);
  put('expires-at', response.expires_at);
  const count = new Map<string, number>();
  for (const c of response.credentials) {
    if (c.type === 'secret') {
      const p = problem(`secret-${c.env}`);
      if (p) {
        problems.push(p);
        continue;
      }
      if (options.credentials) put(`secret-${c.env}`, c.value);
      put(`secret-${c.env}-version`, c.version);
      put(`secret-${c.env}-name`, c.name);
      continue;
    }
    const n = (count.get(c.type) ?? 0) + 1;
    count.set(c.type, n);
    const prefix = n === 1 ? c.type : `${c.type}-${n}`;
    for (const [field, value] of Object.entries(c)) {
      if (field === 'type' || (!options.credentials && !PUBLIC_FIELDS.has(field))) continue;
      put(`${prefix}-${field.replaceAll('_', '-')}`, value);
    }
    if (c.type === 'aws') put(`${prefix}-account-id`, awsAccountIdOf(c.role_arn));
  }
  return problems.length ? { ok: false, problems } : { ok: true, outputs };
}
