// Every credential type behind one Minter interface, built from the same injected dependencies on both
// runtimes.
import { createAwsMinter } from './aws.ts';
import { createAwsParameterMinter } from './aws-parameter.ts';
import { createAwsSecretMinter } from './aws-secret.ts';
import { createAzureMinter } from './azure.ts';
import { createAzureSecretMinter } from './azure-secret.ts';
import type { CloudMintDeps } from './broker-token.ts';
import { createGcpMinter } from './gcp.ts';
import { createGcpSecretMinter } from './gcp-secret.ts';
import { createGithubMinter } from './github.ts';
import { createSecretMinter } from './secret.ts';
import { createVaultSecretMinter } from './vault-secret.ts';
import type { Minter, Minters } from './types.ts';
import type { GrantOf } from '../policy/schema.ts';

/** `postgres` needs a driver and a lease store the runtime provides (Node today), so it is passed in built. */
export function buildMinters(deps: CloudMintDeps, extra: { postgres?: Minter<GrantOf<'postgres'>> } = {}): Minters {
  return {
    ...extra,
    secret: createSecretMinter(deps.secrets),
    aws: createAwsMinter(deps),
    azure: createAzureMinter(deps),
    gcp: createGcpMinter(deps),
    github: createGithubMinter(deps),
    azure_secret: createAzureSecretMinter(deps),
    vault_secret: createVaultSecretMinter(deps),
    aws_secret: createAwsSecretMinter(deps),
    aws_parameter: createAwsParameterMinter(deps),
    gcp_secret: createGcpSecretMinter(deps),
  };
}
