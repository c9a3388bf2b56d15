// The action's main step: inputs, ID token, exchange, mask, then outputs, exports and the job summary.
// The order matters: every value is registered with core.setSecret before anything else is printed.
import * as core from '@actions/core';
import { describeFailure, describeGrant, describeRetry } from '../../client/describe.ts';
import { awsAccountIdOf, hasRevocable } from '../../client/credentials.ts';
import { exchangeToken } from '../../client/exchange.ts';
import { exportVariables, planExports } from './export.ts';
import { getIdToken } from './id-token.ts';
import { readInputs } from './inputs.ts';
import { maskResponse } from './mask.ts';
import { outputsFor } from './outputs.ts';
import { STATE } from './state.ts';
import { summaryMarkdown } from './summary.ts';
import { httpTransport } from './transport.ts';

async function run(): Promise<void> {
  const read = readInputs((name) => core.getInput(name));
  if (!read.ok) return core.setFailed(`secret-broker: ${read.problems.join('; ')}`);
  const inputs = read.inputs;
  const subject = `secret-broker: exchange for role "${inputs.role}"`;

  const result = await exchangeToken(inputs.role, {
    brokerUrl: inputs.brokerUrl,
    grants: inputs.grants,
    getToken: () => getIdToken(inputs.audience),
    transport: httpTransport,
    timeoutMs: inputs.timeoutSeconds * 1000,
    retries: inputs.retries,
    onRetry: (retry) => core.info(describeRetry('secret-broker', retry)),
  });
  if (!result.ok) return core.setFailed(describeFailure(result, subject));

  // First, before any other line: mask every value.
  maskResponse(result.body, (v) => core.setSecret(v));
  const { response } = result;
  const accountIds = response.credentials.flatMap((c) => (c.type === 'aws' ? (awsAccountIdOf(c.role_arn) ?? []) : []));
  if (inputs.maskAwsAccountId) for (const id of accountIds) core.setSecret(id);
  // Saved before anything can fail, so that post revokes even when this step fails below.
  core.saveState(STATE.requestId, response.request_id);
  core.saveState(STATE.expiresAt, response.expires_at);
  core.saveState(STATE.revocable, String(hasRevocable(response)));

  const env = planExports(response.credentials, inputs);
  const outputs = outputsFor(response, { credentials: inputs.outputCredentials });
  const problems = [...(env.ok ? [] : env.problems), ...(outputs.ok ? [] : outputs.problems)];
  if (!env.ok || !outputs.ok) {
    return core.setFailed(
      `${subject} (request id ${response.request_id}): the credentials cannot be delivered, nothing was exported: ${problems.join('; ')}. ` +
        "Check the role's secret grants (their env names) or set export-env: false.",
    );
  }

  for (const [name, value] of outputs.outputs) core.setOutput(name, value);
  core.saveState(STATE.exported, JSON.stringify(env.vars.map((v) => v.name)));
  exportVariables(env.vars, (name, value) => core.exportVariable(name, value));

  core.info(describeGrant('secret-broker', response));
  if (env.vars.length) core.info(`secret-broker: exported ${env.vars.map((v) => v.name).join(', ')}`);
  if (response.unknown_types.length)
    core.warning(
      `secret-broker: this version of the action does not know credential types ${response.unknown_types.join(', ')}; they were masked but not exported`,
    );
  if (process.env.GITHUB_STEP_SUMMARY)
    await core.summary.addRaw(summaryMarkdown(response, inputs.brokerUrl, { hide: inputs.maskAwsAccountId ? accountIds : [] })).write();
}

run().catch((err: unknown) => core.setFailed(`secret-broker: ${(err as Error).message}`));
