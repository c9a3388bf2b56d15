// The action's post step (cleanup: true): blank what main exported, then, if main was given anything
// revocable (a GitHub token), revoke the request at the broker with a fresh ID token. A failed revoke never
// fails the job: the credentials expire on their own, so it is a warning that says until when.
import * as core from '@actions/core';
import { describeFailure } from '../../client/describe.ts';
import { revokeRequest } from '../../client/exchange.ts';
import { blankVariables } from './export.ts';
import { getIdToken } from './id-token.ts';
import { readInputs } from './inputs.ts';
import { STATE } from './state.ts';
import { httpTransport } from './transport.ts';

async function run(): Promise<void> {
  const read = readInputs((name) => core.getInput(name));
  if (!read.ok) return; // main has already failed and said why
  const inputs = read.inputs;
  if (!inputs.cleanup) return core.info('secret-broker: cleanup: false, so nothing is revoked or blanked');

  let exported: unknown = [];
  try {
    exported = JSON.parse(core.getState(STATE.exported) || '[]');
  } catch {
    // Unreadable state: there is nothing we can safely blank.
  }
  const blanked = blankVariables(exported, (name, value) => core.exportVariable(name, value));
  if (blanked.length) core.info(`secret-broker: blanked ${blanked.join(', ')} for the rest of the job`);

  const requestId = core.getState(STATE.requestId);
  if (!requestId) return core.info('secret-broker: no credentials were issued, nothing to revoke');
  // Main saw only types that cannot be revoked early (stored secrets, cloud tokens): a revoke would cost an
  // ID token and a broker round trip to learn nothing. A missing state (an older main) still revokes.
  if (core.getState(STATE.revocable) === 'false') {
    const expiry = core.getState(STATE.expiresAt);
    return core.info(
      `secret-broker: request ${requestId} issued nothing revocable, so no revoke is sent; its credentials expire on their own${expiry ? ` at ${expiry}` : ''}`,
    );
  }
  const result = await revokeRequest(requestId, {
    brokerUrl: inputs.brokerUrl,
    getToken: () => getIdToken(inputs.audience),
    transport: httpTransport,
    timeoutMs: inputs.timeoutSeconds * 1000,
    retries: inputs.retries,
  });
  if (result.ok) {
    return core.info(
      result.revoked.length
        ? `secret-broker: revoked ${result.revoked.join(', ')} of request ${requestId}`
        : `secret-broker: request ${requestId} had nothing revocable; its credentials expire on their own`,
    );
  }
  const expiry = core.getState(STATE.expiresAt);
  core.warning(
    `${describeFailure(result, `secret-broker: revoke of request ${requestId}`)}. The credentials stay valid until they expire${expiry ? ` at ${expiry}` : ''}.`,
  );
}

run().catch((err: unknown) => core.warning(`secret-broker: cleanup failed: ${(err as Error).message}`));
