// Every credential type behind one Minter interface, built from the same injected dependencies on both
// runtimes.
import { createAzureMinter } from './azure.ts';
import type { CloudMintDeps } from './broker-token.ts';
import { createGithubMinter } from './github.ts';
import { createSecretMinter } from './secret.ts';
import type { Minters } from './types.ts';

export function buildMinters(deps: CloudMintDeps): Minters {
  return {
    secret: createSecretMinter(deps.secrets),
    azure: createAzureMinter(deps),
    github: createGithubMinter(deps),
  };
}
