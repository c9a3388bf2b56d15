// The lint for the names a role's grants export into a job's environment: every name a secret grant (the
// broker's own store, or a read from AWS, GCP, Key Vault or Vault) exports must be one the clients will set
// (client/env-names.ts refuses whole families: LD_*, *_PATH, ...),
// and no name may be exported twice by one role, counting the cloud credentials' own names (an aws grant sets
// AWS_ACCESS_KEY_ID, ...), since a client refuses the whole response then.
import { envNameProblem } from '../../../../client/env-names.ts';
import type { Grant } from '../schema.ts';
import { isStoreSecretGrant, storeSecretEnvNames } from '../store-secret-names.ts';

export interface ExportFinding {
  rule: 'secret-env-name-refused' | 'secret-env-name-duplicate';
  path: (string | number)[];
  message: string;
}

/** The names a grant's credentials become in client/env.ts (without a client-side prefix). */
function exported(grant: Grant): { name: string; field: (string | number)[] }[] {
  switch (grant.type) {
    case 'aws_secret':
    case 'aws_parameter':
    case 'gcp_secret':
      return storeSecretEnvNames(grant).map((name) => ({ name, field: grant.env !== undefined ? ['env'] : ['json_keys', name] }));
    case 'secret':
      return [{ name: grant.env ?? grant.name, field: [grant.env !== undefined ? 'env' : 'name'] }];
    case 'azure_secret':
      if (grant.json_keys) return Object.keys(grant.json_keys).map((name) => ({ name, field: ['json_keys', name] }));
      return [{ name: grant.env ?? grant.name, field: ['env'] }];
    case 'vault_secret':
      return Object.keys(grant.keys).map((name) => ({ name, field: ['keys', name] }));
    case 'aws':
      return ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION'].map((name) => ({
        name,
        field: [],
      }));
    case 'azure':
      return [{ name: 'AZURE_ACCESS_TOKEN', field: [] }];
    case 'gcp':
      return ['GOOGLE_OAUTH_ACCESS_TOKEN', 'CLOUDSDK_AUTH_ACCESS_TOKEN'].map((name) => ({ name, field: [] }));
    case 'github':
      return [{ name: 'GH_TOKEN', field: [] }];
    default:
      return [];
  }
}

/** Grants whose exported names come from the policy (a cloud grant's names are the clients' own). */
function exportsNamedSecrets(grant: Grant): boolean {
  return isStoreSecretGrant(grant) || grant.type === 'secret' || grant.type === 'azure_secret' || grant.type === 'vault_secret';
}

export function lintExportedNames(grants: readonly Grant[]): ExportFinding[] {
  const out: ExportFinding[] = [];
  const first = new Map<string, number>();
  grants.forEach((grant, j) => {
    for (const { name, field } of exported(grant)) {
      const path = ['grants', j, ...field];
      if (exportsNamedSecrets(grant)) {
        const problem = envNameProblem(name);
        if (problem)
          out.push({ rule: 'secret-env-name-refused', path, message: `grants[${j}] (${grant.type}) exports ${name}: ${problem}` });
      }
      const earlier = first.get(name);
      // Reported where a secret is the second exporter; two cloud grants of one type are another matter.
      if (earlier !== undefined && earlier !== j && (exportsNamedSecrets(grant) || exportsNamedSecrets(grants[earlier]!))) {
        out.push({
          rule: 'secret-env-name-duplicate',
          path,
          message: `grants[${j}] (${grant.type}) exports ${name}, which grants[${earlier}] (${grants[earlier]!.type}) exports too`,
        });
      } else if (earlier === j) {
        out.push({ rule: 'secret-env-name-duplicate', path, message: `grants[${j}] (${grant.type}) exports ${name} twice` });
      }
      if (earlier === undefined) first.set(name, j);
    }
  });
  return out;
}
