// Which environment variables a set of credentials becomes: the same mapping for the action's GITHUB_ENV
// exports and the CLI's env/dotenv output, so a job sees the same names on every CI.
import type { Credential } from './credentials.ts';
import { envNameProblem, printableName } from './env-names.ts';

export interface EnvVar {
  name: string;
  value: string;
}

export interface EnvOptions {
  /** Prepended to secret variable names only (cloud variables keep the names their SDKs read); '' for none. */
  prefix?: string;
  /** Overrides the AWS credential's region for AWS_REGION and AWS_DEFAULT_REGION; '' keeps the credential's. */
  awsRegion?: string;
}

export { envNameProblem, printableName } from './env-names.ts';

/**
 * The variables for `credentials`, in response order. Empty values are left out (an empty AWS_SESSION_TOKEN
 * breaks SDKs that would otherwise fall back correctly). Any invalid or repeated name makes the whole plan
 * fail: exporting half of an ambiguous set would be worse than exporting nothing.
 */
export function envVarsFor(
  credentials: Credential[],
  options: EnvOptions = {},
): { ok: true; vars: EnvVar[] } | { ok: false; problems: string[] } {
  const vars: EnvVar[] = [];
  const problems: string[] = [];
  const prefix = options.prefix ?? '';
  const push = (name: string, value: string | undefined) => {
    if (value === undefined || value === '') return;
    const problem = envNameProblem(name);
    if (problem) problems.push(`${printableName(name)}: ${problem}`);
    else if (value.includes('\0')) problems.push(`${printableName(name)}: the value contains NUL, which no environment can hold`);
    // A lone UTF-16 surrogate has no UTF-8 form: it would be written as U+FFFD, a value other than the one sent.
    else if (/\p{Cs}/u.test(value)) problems.push(`${printableName(name)}: the value is not well-formed Unicode text`);
    else if (vars.some((v) => v.name === name))
      problems.push(`${printableName(name)}: two credentials set this variable (use outputs, with export-env: false, to tell them apart)`);
    else vars.push({ name, value });
  };
  for (const c of credentials) {
    switch (c.type) {
      case 'aws': {
        push('AWS_ACCESS_KEY_ID', c.access_key_id);
        push('AWS_SECRET_ACCESS_KEY', c.secret_access_key);
        push('AWS_SESSION_TOKEN', c.session_token);
        const region = options.awsRegion || c.region;
        push('AWS_REGION', region);
        push('AWS_DEFAULT_REGION', region);
        break;
      }
      case 'azure':
        push('AZURE_ACCESS_TOKEN', c.access_token);
        break;
      case 'gcp':
        // The first is read by Terraform's Google provider and client libraries, the second by gcloud.
        // A subject token becomes no variable: no Google tool reads one from the environment (it is for
        // `--format gcp-executable`, or json).
        push('GOOGLE_OAUTH_ACCESS_TOKEN', c.access_token);
        push('CLOUDSDK_AUTH_ACCESS_TOKEN', c.access_token);
        break;
      case 'github':
        push('GH_TOKEN', c.token);
        break;
      case 'secret':
        push(`${prefix}${c.env}`, c.value);
        break;
      case 'postgres': {
        // libpq's own names, so psql, pg_dump and most drivers connect with no arguments.
        const pg = c.env_prefix ?? 'PG';
        push(`${pg}HOST`, c.host);
        push(`${pg}PORT`, c.port);
        push(`${pg}DATABASE`, c.database);
        push(`${pg}USER`, c.username);
        push(`${pg}PASSWORD`, c.password);
        push('DATABASE_URL', c.url);
        break;
      }
    }
  }
  return problems.length ? { ok: false, problems } : { ok: true, vars };
}
