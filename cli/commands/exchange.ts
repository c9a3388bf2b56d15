// `secret-broker exchange`: the pipeline client for any CI. The ID token comes from an environment variable
// (GitLab's id_tokens) or a file; the credentials go to stdout in the chosen format and nowhere else.
// stderr carries only codes, request ids, names and advice, never a value.
import { readFileSync } from 'node:fs';
import { describeFailure, describeGrant, describeRetry } from '../../client/describe.ts';
import { envVarsFor } from '../../client/env.ts';
import { exchangeToken } from '../../client/exchange.ts';
import { fetchTransport } from '../../client/fetch-transport.ts';
import {
  awsRegionProblem,
  envPrefixProblem,
  parseBrokerUrl,
  parseGrantList,
  parseWholeNumber,
  RETRIES,
  roleNameProblem,
  TIMEOUT_SECONDS,
  type NumberRange,
} from '../../client/inputs.ts';
import { VERSION } from '../../broker/src/version.ts';
import {
  awsFieldProblem,
  dotenvProblems,
  formatAwsCredentialProcess,
  formatDotenv,
  formatEnv,
  formatGcpExecutable,
  gcpSubjectCredential,
  onlyCredential,
} from '../lib/client-formats.ts';
import { str, UsageError, type Command } from '../context.ts';

/** Exit codes, documented in the README and in --help (`agent` answers with the same). */
export const EXIT = {
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

/**
 * aws-credential-process: the JSON an AWS config's `credential_process` runs for (one aws credential).
 * gcp-executable: the response of Google's executable-sourced credentials (one gcp subject token).
 */
const FORMATS = ['env', 'dotenv', 'json', 'aws-credential-process', 'gcp-executable'] as const;

export const exchangeCommand: Command = {
  usage:
    'exchange --broker URL --role R [--grants A,B] [--token-env VAR] [--token-file F] [--format env|dotenv|json|aws-credential-process|gcp-executable]',
  summary:
    'Trade a CI ID token for credentials, written to stdout (env: export lines, dotenv, json, ' +
    'aws-credential-process: the JSON of an AWS credential_process, or gcp-executable: the response of a ' +
    'Google executable-sourced credential, silent on stderr when it succeeds). ' +
    'Exit 0 ok, 1 refused, 2 usage, 3 broker unavailable, 4 unusable answer.',
  options: {
    broker: { type: 'string' },
    role: { type: 'string' },
    grants: { type: 'string' },
    'token-env': { type: 'string' },
    'token-file': { type: 'string' },
    format: { type: 'string' },
    'env-prefix': { type: 'string' },
    'aws-region': { type: 'string' },
    timeout: { type: 'string' },
    retries: { type: 'string' },
  },
  async run(ctx) {
    const broker = parseBrokerUrl(str(ctx, 'broker') ?? '');
    if (!broker.ok) throw new UsageError(`--broker ${broker.problem}`);
    const role = str(ctx, 'role') ?? '';
    usage('--role', roleNameProblem(role));
    const grantList = parseGrantList(str(ctx, 'grants') ?? '');
    if (!grantList.ok) throw new UsageError(`--grants ${grantList.problem}`);
    const format = str(ctx, 'format') ?? 'env';
    if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
    const prefix = str(ctx, 'env-prefix') ?? '';
    usage('--env-prefix', envPrefixProblem(prefix));
    const awsRegion = str(ctx, 'aws-region') ?? '';
    usage('--aws-region', awsRegionProblem(awsRegion));
    const timeout = wholeNumber(str(ctx, 'timeout'), TIMEOUT_SECONDS, '--timeout');
    const retries = wholeNumber(str(ctx, 'retries'), RETRIES, '--retries');
    const token = readToken(str(ctx, 'token-env'), str(ctx, 'token-file'), ctx.env);
    // google-auth-library parses the executable's stdout and stderr together: on success stderr must stay
    // empty, so retry notes are kept and printed only if the exchange fails after all.
    const quiet = format === 'gcp-executable';
    const notes: string[] = [];
    const note = (line: string) => (quiet ? notes.push(line) : ctx.err(line));
    const fail = (line: string) => {
      for (const n of notes) ctx.err(n);
      ctx.err(line);
    };

    const result = await exchangeToken(role, {
      brokerUrl: broker.url,
      grants: grantList.grants,
      // One token for every attempt: this CLI cannot ask the CI for another. If an attempt reached the broker
      // before failing, a retry answers ERR_TOKEN_REPLAYED, which the message explains.
      getToken: async () => token,
      transport: fetchTransport(fetch, `secret-broker-cli/${VERSION}`),
      timeoutMs: timeout * 1000,
      retries,
      onRetry: (retry) => note(describeRetry('secret-broker exchange', retry)),
    });
    if (!result.ok) {
      fail(describeFailure(result, `secret-broker exchange: role "${role}"`));
      return result.kind === 'refused' ? EXIT.refused : result.kind === 'unavailable' ? EXIT.unavailable : EXIT.unusable;
    }
    const { response } = result;
    let text: string;
    if (format === 'json') {
      text = `${JSON.stringify(result.body, null, 2)}\n`;
    } else if (format === 'aws-credential-process') {
      const aws = onlyCredential(response.credentials, 'aws');
      const problem = aws.ok ? awsFieldProblem(aws.credential) : aws.problem;
      if (!aws.ok || problem) {
        ctx.err(
          `secret-broker exchange: role "${role}" (request id ${response.request_id}): no credential_process answer, nothing was written: ${problem}.`,
        );
        return EXIT.unusable;
      }
      text = formatAwsCredentialProcess(aws.credential);
    } else if (format === 'gcp-executable') {
      const gcp = gcpSubjectCredential(response.credentials, ctx.env.GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE);
      if (!gcp.ok) {
        fail(
          `secret-broker exchange: role "${role}" (request id ${response.request_id}): no executable-sourced credential answer, nothing was written: ${gcp.problem}.`,
        );
        return EXIT.unusable;
      }
      text = formatGcpExecutable(gcp.credential);
    } else {
      const plan = envVarsFor(response.credentials, { prefix, awsRegion });
      if (!plan.ok) {
        ctx.err(
          `secret-broker exchange: role "${role}" (request id ${response.request_id}): the credentials cannot become variables, nothing was written: ${plan.problems.join('; ')}. Use --format json, or fix the role's secret env names.`,
        );
        return EXIT.unusable;
      }
      if (format === 'dotenv') {
        const problems = dotenvProblems(plan.vars);
        if (problems.length) {
          ctx.err(
            `secret-broker exchange: role "${role}" (request id ${response.request_id}): the credentials cannot be written as dotenv without a reader expanding or misreading them, nothing was written: ${problems.join('; ')}. Use --format env or --format json.`,
          );
          return EXIT.unusable;
        }
      }
      text = format === 'env' ? formatEnv(plan.vars) : formatDotenv(plan.vars);
    }
    process.stdout.write(text);
    if (!quiet) ctx.err(describeGrant('secret-broker exchange', response));
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

function usage(flag: string, problem: string | undefined): void {
  if (problem) throw new UsageError(`${flag} ${problem}`);
}

function wholeNumber(text: string | undefined, range: NumberRange, flag: string): number {
  const parsed = parseWholeNumber(text, range);
  if (!parsed.ok) throw new UsageError(`${flag} ${parsed.problem}`);
  return parsed.value;
}
