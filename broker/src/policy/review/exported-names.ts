// The environment variable names a role's grants export (the `secret` credentials: a secret grant's env,
// a store read's env, json_keys or keys), checked as the clients will check them (client/env-names.ts):
// each must be a usable name, and no two grants of a role may export the same one, since a job would then
// get one of two values depending on order (the clients refuse the exchange instead).
import { envNameProblem } from '../../../../client/env-names.ts';
import type { Grant, Role } from '../schema.ts';

/** [path under the grant, exported name] for each name a grant exports; cloud credentials export none here. */
export function exportedNamesOf(grant: Grant): [path: (string | number)[], name: string][] {
  switch (grant.type) {
    case 'secret':
      return [[grant.env === undefined ? ['name'] : ['env'], grant.env ?? grant.name]];
    case 'azure_secret':
      if (grant.json_keys) return Object.keys(grant.json_keys).map((k) => [['json_keys', k], k]);
      return [[['env'], grant.env ?? grant.name]];
    case 'vault_secret':
      return Object.keys(grant.keys).map((k) => [['keys', k], k]);
    default:
      return [];
  }
}

/** Problems with the names grant `index` of `role` exports: invalid ones, and ones an earlier grant exports too. */
export function exportedNameProblems(role: Role, index: number): { path: (string | number)[]; message: string }[] {
  const grant = role.grants[index];
  if (!grant) return [];
  const earlier = new Map<string, number>();
  role.grants.slice(0, index).forEach((g, j) => {
    for (const [, name] of exportedNamesOf(g)) if (!earlier.has(name)) earlier.set(name, j);
  });
  const out: { path: (string | number)[]; message: string }[] = [];
  const seenHere = new Set<string>();
  for (const [path, name] of exportedNamesOf(grant)) {
    const problem = envNameProblem(name);
    if (problem) out.push({ path, message: `grants[${index}] (${grant.type}) exports ${JSON.stringify(name)}: ${problem}` });
    const first = earlier.get(name);
    if (first !== undefined)
      out.push({ path, message: `grants[${index}] (${grant.type}) exports ${name}, which grants[${first}] exports too` });
    else if (seenHere.has(name)) out.push({ path, message: `grants[${index}] (${grant.type}) exports ${name} twice` });
    seenHere.add(name);
  }
  return out;
}
