// The job's GitHub OIDC ID token, requested for the broker's audience.
import * as core from '@actions/core';

export const NO_ID_TOKEN =
  'this job cannot request a GitHub OIDC ID token (ACTIONS_ID_TOKEN_REQUEST_URL is not set). Give the workflow or ' +
  'the job `permissions: id-token: write`. Pull requests from forks never receive an ID token (GitHub withholds it ' +
  'whatever the permissions say), so this step cannot run for them; use a trusted event such as push, or ' +
  'pull_request from a branch of the same repository.';

/** A fresh token for every call: the broker accepts each token once. */
export async function getIdToken(audience: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (!env.ACTIONS_ID_TOKEN_REQUEST_URL || !env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) throw new Error(NO_ID_TOKEN);
  try {
    // getIDToken registers the token with core.setSecret itself.
    return await core.getIDToken(audience);
  } catch (err) {
    const reason = String((err as Error).message)
      .replace(/\s+/g, ' ')
      .trim();
    throw new Error(
      `GitHub did not issue an ID token for audience ${JSON.stringify(audience)} (${reason}); check \`permissions: id-token: write\``,
    );
  }
}
