// How `secret-broker exchange` writes credentials to stdout. Each format is meant for a machine: a shell
// that sources it, a dotenv reader, or a JSON parser. Values are written as they are, never reformatted, and
// never in a form any of those readers would execute or expand.
import type { AwsCredential, Credential, GcpCredential } from '../../client/credentials.ts';
import { printableName, type EnvVar } from '../../client/env.ts';

/**
 * POSIX shell: `export NAME='value'`, for `. file` or `eval`. Inside single quotes sh and bash take every
 * byte literally (no `$`, backquote or backslash processing); a `'` closes, escapes and reopens as `'\''`.
 * NUL, the one byte a shell cannot hold, never gets here (client/env.ts refuses it).
 */
export function formatEnv(vars: EnvVar[]): string {
  return vars.map((v) => `export ${v.name}=${shellQuote(v.value)}\n`).join('');
}

/**
 * Why `value` cannot be written as a dotenv line that every reader takes back verbatim, or undefined.
 * The line is `NAME='value'`: single quotes are literal in sh and bash (`set -a; . file`) and in npm dotenv,
 * but python-dotenv expands `${VAR}` even there and decodes `\\` and `\'`, npm dotenv turns every CR into a
 * LF, and a reader without multi-line support would take each line of a value as a line of the file (a
 * variable of its own). Double quotes are no way out: the shell expands `$(...)` inside them. Such values
 * go out with `--format env` or `--format json` instead. Never echoes the value.
 */
export function dotenvValueProblem(value: string): string | undefined {
  if (value.includes("'")) return 'the value contains a single quote';
  if (/[\r\n\u2028\u2029]/.test(value)) return 'the value spans lines (CR, LF or a Unicode line separator)';
  if (value.includes('${')) return 'the value contains "${", which python-dotenv expands';
  if (/\\\\|\\$/.test(value)) return 'the value contains "\\\\" or ends with "\\", which dotenv readers unescape';
  return undefined;
}

/** Every variable whose value `dotenvValueProblem` refuses, as `"NAME": why` (names only). */
export function dotenvProblems(vars: EnvVar[]): string[] {
  return vars.flatMap((v) => {
    const problem = dotenvValueProblem(v.value);
    return problem ? [`${printableName(v.name)}: ${problem}`] : [];
  });
}

/** dotenv: `NAME='value'`, read back verbatim by python-dotenv, npm dotenv and `set -a; . file`. */
export function formatDotenv(vars: EnvVar[]): string {
  // The caller checks dotenvProblems first, to say which variables; this guard keeps the function safe alone.
  if (dotenvProblems(vars).length) throw new Error('formatDotenv: a value cannot be written as dotenv');
  return vars.map((v) => `${v.name}='${v.value}'\n`).join('');
}

export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * The one credential of `type` in a response, for the formats that carry one credential (an AWS
 * credential_process answer, a shared credentials file). Several would leave the choice to chance, so they
 * are refused with the fix: select one with --grants.
 */
export function onlyCredential<T extends Credential['type']>(
  credentials: Credential[],
  type: T,
): { ok: true; credential: Extract<Credential, { type: T }> } | { ok: false; problem: string } {
  const found = credentials.filter((c): c is Extract<Credential, { type: T }> => c.type === type);
  if (found.length === 1) return { ok: true, credential: found[0]! };
  return {
    ok: false,
    problem:
      found.length === 0
        ? `the response holds no ${type} credential (the role grants ${credentials.map((c) => c.type).join(', ') || 'nothing'})`
        : `the response holds ${found.length} ${type} credentials: select one with --grants`,
  };
}

/** Why an AWS credential cannot be written as one line per field (INI, JSON is always fine), or undefined. */
export function awsFieldProblem(c: AwsCredential): string | undefined {
  const values = [c.access_key_id, c.secret_access_key, c.session_token ?? ''];
  // Access keys and session tokens are base64-like; a line break would start another INI key.
  return values.some((v) => /[\0\r\n\u2028\u2029]/.test(v) || v !== v.trim())
    ? 'an AWS value spans lines or has surrounding spaces'
    : undefined;
}

/**
 * The AWS CLI/SDK `credential_process` answer: https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-sourcing-external.html
 * Expiration lets the SDK call the process again before the credentials run out.
 */
export function formatAwsCredentialProcess(c: AwsCredential): string {
  return `${JSON.stringify({
    Version: 1,
    AccessKeyId: c.access_key_id,
    SecretAccessKey: c.secret_access_key,
    ...(c.session_token ? { SessionToken: c.session_token } : {}),
    ...(c.expires_at ? { Expiration: new Date(c.expires_at).toISOString() } : {}),
  })}\n`;
}

/** The AWS shared credentials file (INI, `[default]`), for AWS_SHARED_CREDENTIALS_FILE. The region belongs in the config file. */
export function formatAwsSharedCredentials(c: AwsCredential, profile = 'default'): string {
  if (awsFieldProblem(c)) throw new Error('formatAwsSharedCredentials: a value cannot be written as INI');
  const lines = [`[${profile}]`, `aws_access_key_id = ${c.access_key_id}`, `aws_secret_access_key = ${c.secret_access_key}`];
  if (c.session_token) lines.push(`aws_session_token = ${c.session_token}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The one gcp subject-token credential of a response, for Google's executable-sourced credentials, or why
 * not (names only). An access token cannot serve: the library wants a token it exchanges itself.
 * `audience` is what the library asked for (GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE), when it said.
 */
export function gcpSubjectCredential(
  credentials: Credential[],
  audience?: string,
): { ok: true; credential: GcpCredential & { subject_token: string; subject_token_type: string } } | { ok: false; problem: string } {
  const gcp = onlyCredential(credentials, 'gcp');
  if (!gcp.ok) return gcp;
  const c = gcp.credential;
  if (c.subject_token === undefined || c.subject_token_type === undefined)
    return {
      ok: false,
      problem:
        "the gcp credential is an access token, and Google's executable-sourced credentials take a subject token: give the role's gcp grant `hand_out: subject_token`",
    };
  if (audience && c.audience !== audience)
    return {
      ok: false,
      problem: `the credential configuration's audience (GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE) is ${audience}, but the role's gcp grant is for ${c.audience}`,
    };
  return { ok: true, credential: { ...c, subject_token: c.subject_token, subject_token_type: c.subject_token_type } };
}

/**
 * Google's executable-sourced credentials response (version 1), which google-auth-library's
 * PluggableAuthClient reads from the executable's stdout, or from its output_file while it is unexpired.
 * expiration_time (epoch seconds) is when the subject token expires; the library runs the executable again
 * for its next exchange.
 */
export function formatGcpExecutable(c: GcpCredential & { subject_token: string; subject_token_type: string }): string {
  const expires = c.expires_at === undefined ? Number.NaN : Date.parse(c.expires_at);
  return `${JSON.stringify({
    version: 1,
    success: true,
    token_type: c.subject_token_type,
    id_token: c.subject_token,
    ...(Number.isFinite(expires) ? { expiration_time: Math.floor(expires / 1000) } : {}),
  })}\n`;
}
