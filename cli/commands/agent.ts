// `secret-broker agent`: the exchange client for workloads that hold a token file rather than a CI job's
// environment (a pod's projected service-account token) and for jobs that outlive their credentials. It
// reads the token file anew for each exchange, writes the credentials into files, and, unless --once,
// renews them at a fraction of their lifetime until SIGTERM or SIGINT. stderr carries names, codes and
// request ids, never a value.
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { hasRevocable, type ExchangeResponse } from '../../client/credentials.ts';
import { describeFailure, describeGrant } from '../../client/describe.ts';
import { envVarsFor } from '../../client/env.ts';
import { exchangeToken, revokeRequest, type CallFailure, type CallOptions } from '../../client/exchange.ts';
import { fetchTransport } from '../../client/fetch-transport.ts';
import { awsRegionProblem, envPrefixProblem, parseBrokerUrl, parseGrantList, RETRIES, roleNameProblem } from '../../client/inputs.ts';
import { VERSION } from '../../broker/src/version.ts';
import { str, UsageError, type Command, type CommandContext } from '../context.ts';
import { AgentFiles, outDirProblem } from '../lib/agent-files.ts';
// The exit codes of `secret-broker exchange`; 2 (usage) also for a token file that cannot be read.
import { EXIT } from './exchange.ts';
import { failureDelayMs, parseRefreshAt, renewDelayMs } from '../lib/agent-schedule.ts';
import {
  awsFieldProblem,
  dotenvProblems,
  formatAwsSharedCredentials,
  formatDotenv,
  formatGcpExecutable,
  gcpSubjectCredential,
  onlyCredential,
} from '../lib/client-formats.ts';

const PREFIX = 'secret-broker agent';

export const AGENT_FORMATS = ['files', 'dotenv', 'json', 'aws-credentials', 'gcp-executable'] as const;
type AgentFormat = (typeof AGENT_FORMATS)[number];

/** The file each single-file format writes in --out. */
export const AGENT_FILE_NAMES: Record<Exclude<AgentFormat, 'files'>, string> = {
  dotenv: 'credentials.env',
  json: 'credentials.json',
  'aws-credentials': 'credentials',
  // The `output_file` of a Google executable-sourced credential configuration: the library reads it while
  // it is unexpired and runs its executable only after that.
  'gcp-executable': 'gcp-executable.json',
};

/** Per exchange attempt; near the expiry it is cut to the time left (at least a second). */
const ATTEMPT_TIMEOUT_MS = 60_000;
const REVOKE_TIMEOUT_MS = 5_000;

export const agentCommand: Command = {
  usage:
    'agent --broker URL --role R --token-file F --out DIR [--once] [--format files|dotenv|json|aws-credentials|gcp-executable] [--refresh-at 0.66] [--keep]',
  summary:
    "Keep a workload's credentials in files in DIR (0400, replaced atomically), exchanged for a token file (a pod's " +
    'service-account token) and renewed until SIGTERM, which removes them unless --keep; --once for init containers. ' +
    'Exit codes as exchange; non-zero once credentials expired without renewal.',
  options: {
    broker: { type: 'string' },
    role: { type: 'string' },
    grants: { type: 'string' },
    'token-file': { type: 'string' },
    out: { type: 'string' },
    once: { type: 'boolean' },
    format: { type: 'string' },
    'refresh-at': { type: 'string' },
    keep: { type: 'boolean' },
    'env-prefix': { type: 'string' },
    'aws-region': { type: 'string' },
  },
  async run(ctx) {
    const o = await parseAgentFlags(ctx);
    return runAgent(o, ctx);
  },
};

interface AgentOptions {
  brokerUrl: string;
  role: string;
  grants: string[];
  tokenFile: string;
  out: string;
  once: boolean;
  format: AgentFormat;
  refreshAt: number;
  keep: boolean;
  prefix: string;
  awsRegion: string;
}

async function parseAgentFlags(ctx: CommandContext): Promise<AgentOptions> {
  const broker = parseBrokerUrl(str(ctx, 'broker') ?? '');
  if (!broker.ok) throw new UsageError(`--broker ${broker.problem}`);
  const role = str(ctx, 'role') ?? '';
  const roleProblem = roleNameProblem(role);
  if (roleProblem) throw new UsageError(`--role ${roleProblem}`);
  const grantList = parseGrantList(str(ctx, 'grants') ?? '');
  if (!grantList.ok) throw new UsageError(`--grants ${grantList.problem}`);
  const format = str(ctx, 'format') ?? 'files';
  if (!(AGENT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${AGENT_FORMATS.join(', ')}`);
  const refreshAt = parseRefreshAt(str(ctx, 'refresh-at'));
  if (!refreshAt.ok) throw new UsageError(`--refresh-at ${refreshAt.problem}`);
  const prefix = str(ctx, 'env-prefix') ?? '';
  const prefixProblem = envPrefixProblem(prefix);
  if (prefixProblem) throw new UsageError(`--env-prefix ${prefixProblem}`);
  const awsRegion = str(ctx, 'aws-region') ?? '';
  const regionProblem = awsRegionProblem(awsRegion);
  if (regionProblem) throw new UsageError(`--aws-region ${regionProblem}`);
  const tokenFile = str(ctx, 'token-file');
  if (!tokenFile)
    throw new UsageError(
      "--token-file is required: the path of the projected service-account token (a projected volume's serviceAccountToken, with the broker's audience)",
    );
  try {
    await readTokenFile(tokenFile);
  } catch (err) {
    throw new UsageError(
      `--token-file ${(err as Error).message}: mount the projected service-account token there, or point --token-file at it`,
    );
  }
  const out = str(ctx, 'out');
  if (!out) throw new UsageError('--out is required: the directory the credentials are written to (a shared emptyDir volume)');
  const outProblem = await outDirProblem(out);
  if (outProblem) throw new UsageError(`--out ${outProblem}`);
  return {
    brokerUrl: broker.url,
    role,
    grants: grantList.grants,
    tokenFile,
    out,
    once: ctx.values.once === true,
    format: format as AgentFormat,
    refreshAt: refreshAt.value,
    keep: ctx.values.keep === true,
    prefix,
    awsRegion,
  };
}

/** The token, read anew for every attempt: the kubelet replaces the file before the token expires. */
async function readTokenFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  if (!text.trim()) throw new Error(`${file} is empty`);
  return text.trim();
}

/** The files a response becomes, by name, or why it cannot (names only, never a value). */
export function renderAgentFiles(
  format: AgentFormat,
  response: ExchangeResponse,
  body: unknown,
  env: { prefix: string; awsRegion: string },
): { ok: true; files: Map<string, string> } | { ok: false; problem: string } {
  if (format === 'json') return { ok: true, files: new Map([[AGENT_FILE_NAMES.json, `${JSON.stringify(body, null, 2)}\n`]]) };
  if (format === 'aws-credentials') {
    const aws = onlyCredential(response.credentials, 'aws');
    if (!aws.ok) return aws;
    const problem = awsFieldProblem(aws.credential);
    if (problem) return { ok: false, problem };
    return { ok: true, files: new Map([[AGENT_FILE_NAMES['aws-credentials'], formatAwsSharedCredentials(aws.credential)]]) };
  }
  if (format === 'gcp-executable') {
    const gcp = gcpSubjectCredential(response.credentials);
    if (!gcp.ok) return gcp;
    return { ok: true, files: new Map([[AGENT_FILE_NAMES['gcp-executable'], formatGcpExecutable(gcp.credential)]]) };
  }
  const plan = envVarsFor(response.credentials, env);
  if (!plan.ok) return { ok: false, problem: `the credentials cannot become variables: ${plan.problems.join('; ')}` };
  if (format === 'dotenv') {
    const problems = dotenvProblems(plan.vars);
    if (problems.length) return { ok: false, problem: `the credentials cannot be written as dotenv: ${problems.join('; ')}` };
    return { ok: true, files: new Map([[AGENT_FILE_NAMES.dotenv, formatDotenv(plan.vars)]]) };
  }
  // files: the value exactly as sent, no newline added, so `$(cat DIR/NAME)` and readFile agree.
  return { ok: true, files: new Map(plan.vars.map((v) => [v.name, v.value])) };
}

function exitFor(f: CallFailure): number {
  return f.kind === 'refused'
    ? EXIT.refused
    : f.kind === 'unavailable'
      ? EXIT.unavailable
      : f.kind === 'token'
        ? EXIT.usage
        : EXIT.unusable;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

async function runAgent(o: AgentOptions, ctx: CommandContext): Promise<number> {
  const files = new AgentFiles(o.out);
  // SIGTERM (the pod stops) or SIGINT ends a wait or an exchange in flight; --once keeps the default
  // behaviour, since its files are meant to outlive it.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (!o.once) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  const stoppable: typeof fetch = (input, init) =>
    fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, stop.signal]) : stop.signal });
  const call = (retries: number, timeoutMs: number): CallOptions & { grants: string[] } => ({
    brokerUrl: o.brokerUrl,
    grants: o.grants,
    getToken: () => readTokenFile(o.tokenFile),
    transport: fetchTransport(stoppable, `secret-broker-agent/${VERSION}`),
    timeoutMs,
    retries,
    onRetry: (r) => ctx.err(`${PREFIX}: attempt ${r.attempt} failed (${r.reason}); retrying in ${seconds(r.delayMs)}`),
  });

  /** One exchange written to disk, or the failure's exit code and log line, or stopped by a signal. */
  type Renewal = { stopped: true } | { exit: number; line: string } | { response: ExchangeResponse; expiresMs: number; count: number };
  const renew = async (retries: number, timeoutMs: number): Promise<Renewal> => {
    const result = await exchangeToken(o.role, call(retries, timeoutMs));
    if (stop.signal.aborted) return { stopped: true };
    if (!result.ok) return { exit: exitFor(result), line: describeFailure(result, `${PREFIX}: role "${o.role}"`) };
    const { response } = result;
    const expiresMs = Date.parse(response.expires_at);
    const rendered = renderAgentFiles(o.format, response, result.body, { prefix: o.prefix, awsRegion: o.awsRegion });
    if (!rendered.ok || !Number.isFinite(expiresMs)) {
      const problem = rendered.ok ? '"expires_at" is not a time' : rendered.problem;
      return {
        exit: EXIT.unusable,
        line: `${PREFIX}: role "${o.role}" (request id ${response.request_id}): nothing was written: ${problem}`,
      };
    }
    try {
      await files.replace(rendered.files);
    } catch (err) {
      // A full memory volume or a changed mode: the old files stay (each write is all or nothing); retried.
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      return {
        exit: EXIT.unusable,
        line: `${PREFIX}: role "${o.role}" (request id ${response.request_id}): could not write the files in ${o.out} (${code})`,
      };
    }
    return { response, expiresMs, count: rendered.files.size };
  };

  try {
    const first = await renew(RETRIES.fallback, ATTEMPT_TIMEOUT_MS);
    if ('stopped' in first) return EXIT.ok;
    if ('exit' in first) {
      ctx.err(first.line);
      return first.exit;
    }
    let { response, expiresMs } = first;
    let issuedMs = Date.now();
    const wrote = (n: number) => `wrote ${n} file${n === 1 ? '' : 's'} to ${o.out}`;
    if (o.once) {
      ctx.err(`${describeGrant(PREFIX, response)}; ${wrote(first.count)}`);
      return EXIT.ok;
    }
    for (;;) {
      const wait = renewDelayMs(issuedMs, expiresMs, o.refreshAt, Math.random);
      ctx.err(`${describeGrant(PREFIX, response)}; ${wrote(files.names.length)}; renewing in ${seconds(wait)}`);
      if (!(await sleep(wait, stop.signal))) break;
      let renewed = false;
      for (let failures = 1; !renewed; failures++) {
        const timeoutMs = Math.max(1_000, Math.min(ATTEMPT_TIMEOUT_MS, expiresMs - Date.now()));
        const next = await renew(0, timeoutMs);
        if ('stopped' in next) break;
        if (!('exit' in next)) {
          ({ response, expiresMs } = next);
          issuedMs = Date.now();
          renewed = true;
          break;
        }
        if (Date.now() >= expiresMs) {
          ctx.err(next.line);
          ctx.err(
            `${PREFIX}: the credentials of request ${response.request_id} expired at ${response.expires_at} without renewal; ${o.keep ? 'keeping' : 'removing'} the files and exiting`,
          );
          if (!o.keep) await files.removeAll();
          return next.exit;
        }
        const backoff = failureDelayMs(failures, Math.random, Date.now(), expiresMs);
        ctx.err(`${next.line}; retrying in ${seconds(backoff)} (the current credentials expire at ${response.expires_at})`);
        if (!(await sleep(backoff, stop.signal))) break;
      }
      if (stop.signal.aborted) break;
    }
    // Stopped by a signal.
    if (o.keep) {
      ctx.err(
        `${PREFIX}: stopped; --keep leaves ${files.names.length} file(s) in ${o.out} and the credentials valid until ${response.expires_at}`,
      );
      return EXIT.ok;
    }
    await files.removeAll();
    await revokeOnStop(response, call, ctx);
    ctx.err(`${PREFIX}: stopped; removed the files it wrote in ${o.out}`);
    return EXIT.ok;
  } finally {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
  }
}

/**
 * On SIGTERM without --keep the files are gone, so nothing should go on holding what can be taken back early
 * (GitHub tokens, PostgreSQL logins): the agent revokes the current request, proven by the token file again
 * (accepted as a reuse by an issuer with `replay: reuse`). Earlier requests are never revoked on renewal: a
 * reader may still use the credentials it read a moment before. A failed revoke is logged; they expire anyway.
 */
async function revokeOnStop(
  response: ExchangeResponse,
  call: (retries: number, timeoutMs: number) => CallOptions,
  ctx: CommandContext,
): Promise<void> {
  if (!hasRevocable(response)) return;
  const result = await revokeRequest(response.request_id, {
    ...call(0, REVOKE_TIMEOUT_MS),
    // The stop signal has fired: the revoke needs a transport it does not abort.
    transport: fetchTransport(fetch, `secret-broker-agent/${VERSION}`),
  });
  if (result.ok) ctx.err(`${PREFIX}: revoked ${result.revoked.join(', ') || 'nothing (already gone)'} of request ${response.request_id}`);
  else
    ctx.err(
      `${describeFailure(result, `${PREFIX}: revoke of request ${response.request_id}`)}. The credentials stay valid until ${response.expires_at}.`,
    );
}

/** True when the time passed, false when `signal` ended the wait. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return delay(ms, undefined, { signal }).then(
    () => true,
    () => false,
  );
}
