// `secret-broker exchange`: the pipeline client for any CI. The ID token comes from an environment variable
// (GitLab's id_tokens) or a file; the credentials go to stdout in the chosen format and nowhere else.
// stderr carries only codes, request ids, names and advice, never a value.
import { readFileSync } from 'node:fs';
import { describeFailure } from '../../client/describe.ts';
import { envVarsFor } from '../../client/env.ts';
import { exchangeToken } from '../../client/exchange.ts';
import { fetchTransport } from '../../client/fetch-transport.ts';
import { parseBrokerUrl, ROLE_NAME } from '../../client/inputs.ts';
import { VERSION } from '../../broker/src/version.ts';
import { dotenvProblems, formatDotenv, formatEnv } from '../lib/client-formats.ts';
import { str, UsageError, type Command } from '../context.ts';

/** Exit codes, documented in the README and in --help. */
const EXIT = {
  ok: 0,
  /** The broker refused: a 4xx such as ERR_ACCESS_DENIED or ERR_TOKEN_INVALID. Retrying will not help. */
  refused: 1,
  usage: 2,
  /** The broker was unreachable, timed out or kept failing (network, 429, 5xx). Retrying later may help. */
  unavailable: 3,
  /**
   * The answer cannot be used: not a broker response, credentials that cannot become variables, or values
   * that the chosen format cannot carry verbatim (dotenv).
   */
  unusable: 4,
} as const;

const FORMATS = ['env', 'dotenv', 'json'] as const;

export const exchangeCommand: Command = {
  usage: 'exchange --broker URL --role R [--token-env VAR] [--token-file F] [--format env|dotenv|json]',
  summary:
    'Trade a CI ID token for credentials, written to stdout (env: export lines, dotenv, json). ' +
    'Exit 0 ok, 1 refused, 2 usage, 3 broker unavailable, 4 unusable answer.',
  options: {
    broker: { type: 'string' },
    role: { type: 'string' },
    'token-env': { type: 'string' },
    'token-file': { type: 'string' },
    format: { type: 'string' },
    'env-prefix': { type: 'string' },
    'aws-region': { type: 'string' },
    timeout: { type: 'string' },
    retries: { type: 'string' },
  },
  async run(ctx) {
    const brokerText = str(ctx, 'broker');
    if (!brokerText) throw new UsageError('--broker URL is required');
    const broker = parseBrokerUrl(brokerText);
    if (!broker.ok) throw new UsageError(`--broker ${broker.problem}`);
    const role = str(ctx, 'role') ?? '';
    if (!ROLE_NAME.test(role)) throw new UsageError('--role is required: a role name (lower case letters, digits, ".", "_", "-")');
    const format = str(ctx, 'format') ?? 'env';
    if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
    const prefix = str(ctx, 'env-prefix') ?? '';
    if (prefix && !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(prefix)) throw new UsageError('--env-prefix must match [A-Za-z_][A-Za-z0-9_]*');
    const awsRegion = str(ctx, 'aws-region') ?? '';
    if (awsRegion && !/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(awsRegion)) throw new UsageError('--aws-region must be an AWS region such as us-east-1');
    const timeout = wholeNumber(str(ctx, 'timeout'), 60, 1, 600, '--timeout');
    const retries = wholeNumber(str(ctx, 'retries'), 3, 0, 10, '--retries');
    const token = readToken(str(ctx, 'token-env'), str(ctx, 'token-file'), ctx.env);

    const result = await exchangeToken(role, {
      brokerUrl: broker.url,
      // One token for every attempt: this CLI cannot ask the CI for another. If an attempt reached the broker
      // before failing, a retry answers ERR_TOKEN_REPLAYED, which the message explains.
      getToken: async () => token,
      transport: fetchTransport(fetch, `secret-broker-cli/${VERSION}`),
      timeoutMs: timeout * 1000,
      retries,
      onRetry: ({ attempt, delayMs, reason }) => ctx.err(`secret-broker exchange: attempt ${attempt} failed (${reason}); retrying in ${(delayMs / 1000).toFixed(1)}s`),
    });
    if (!result.ok) {
      ctx.err(describeFailure(result, `secret-broker exchange: role "${role}"`));
      return result.kind === 'refused' ? EXIT.refused : result.kind === 'unavailable' ? EXIT.unavailable : EXIT.unusable;
    }
    const { response } = result;
    let text: string;
    if (format === 'json') {
      text = `${JSON.stringify(result.body, null, 2)}\n`;
    } else {
      const plan = envVarsFor(response.credentials, { ...(prefix ? { prefix } : {}), ...(awsRegion ? { awsRegion } : {}) });
      if (!plan.ok) {
        ctx.err(`secret-broker exchange: role "${role}" (request id ${response.request_id}): the credentials cannot become variables, nothing was written: ${plan.problems.join('; ')}. Use --format json, or fix the role's secret env names.`);
        return EXIT.unusable;
      }
      if (format === 'dotenv') {
        const problems = dotenvProblems(plan.vars);
        if (problems.length) {
          ctx.err(`secret-broker exchange: role "${role}" (request id ${response.request_id}): the credentials cannot be written as dotenv without a reader expanding or misreading them, nothing was written: ${problems.join('; ')}. Use --format env or --format json.`);
          return EXIT.unusable;
        }
      }
      text = format === 'env' ? formatEnv(plan.vars) : formatDotenv(plan.vars);
    }
    process.stdout.write(text);
    const types = response.credentials.map((c) => (c.type === 'secret' ? `secret ${c.env}` : c.type));
    ctx.err(`secret-broker exchange: role "${response.role}" granted ${types.join(', ') || 'nothing'} (request id ${response.request_id}, expires ${response.expires_at})`);
    return EXIT.ok;
  },
};

function readToken(envName: string | undefined, file: string | undefined, env: NodeJS.ProcessEnv): string {
  if (envName !== undefined && file !== undefined) throw new UsageError('give --token-env or --token-file, not both');
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`--token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
    if (!text.trim()) throw new UsageError(`--token-file ${file} is empty`);
    return text.trim();
  }
  const name = envName ?? 'SECRET_BROKER_ID_TOKEN';
  const token = env[name]?.trim();
  if (!token) {
    throw new UsageError(
      `no ID token in $${name}. In GitLab CI, declare it on the job: id_tokens: { ${name}: { aud: <the broker's audience> } }`,
    );
  }
  return token;
}

function wholeNumber(text: string | undefined, fallback: number, min: number, max: number, flag: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}`);
  return n;
}
