// The action's inputs (docs/ARCHITECTURE.md "Action"), read and checked in one place so that every mistake is
// reported at once, by input name, before any network call.
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

export interface Inputs {
  brokerUrl: string;
  role: string;
  audience: string;
  exportEnv: boolean;
  envPrefix: string;
  awsRegion: string;
  timeoutSeconds: number;
  retries: number;
  cleanup: boolean;
  /** The subset of the role's grants to ask for (types or env names); empty: every grant. */
  grants: string[];
  /** Credential values as step outputs too (configure-aws-credentials' `output-credentials`); else env only. */
  outputCredentials: boolean;
  /** Register the AWS account id as a secret, so that the log shows *** instead (configure-aws-credentials). */
  maskAwsAccountId: boolean;
}

/** Reads one input by its action.yml name; `core.getInput` in the action, a map in tests. */
export type GetInput = (name: string) => string;

export function readInputs(get: GetInput): { ok: true; inputs: Inputs } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const bad = (name: string, problem: string | undefined) => {
    if (problem) problems.push(`input ${name} ${problem}`);
  };

  const brokerText = get('broker-url');
  const broker = parseBrokerUrl(brokerText);
  if (!broker.ok) bad('broker-url', broker.problem);
  const role = get('role');
  bad('role', roleNameProblem(role));
  const envPrefix = get('env-prefix');
  bad('env-prefix', envPrefixProblem(envPrefix));
  const awsRegion = get('aws-region');
  bad('aws-region', awsRegionProblem(awsRegion));
  const grantList = parseGrantList(get('grants'));
  if (!grantList.ok) bad('grants', grantList.problem);

  const int = (name: string, range: NumberRange): number => {
    // An empty input is one the workflow does not set.
    const parsed = parseWholeNumber(get(name) || undefined, range);
    if (parsed.ok) return parsed.value;
    bad(name, parsed.problem);
    return range.fallback;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const text = get(name);
    if (text === '') return fallback;
    if (/^(true|True|TRUE)$/.test(text)) return true;
    if (/^(false|False|FALSE)$/.test(text)) return false;
    bad(name, 'must be true or false');
    return fallback;
  };

  const inputs: Inputs = {
    brokerUrl: broker.ok ? broker.url : '',
    role,
    // Defaults to the broker URL exactly as written: that is what the broker's issuers.yaml usually names.
    audience: get('audience') || brokerText,
    exportEnv: bool('export-env', true),
    envPrefix,
    awsRegion,
    timeoutSeconds: int('timeout-seconds', TIMEOUT_SECONDS),
    retries: int('retries', RETRIES),
    cleanup: bool('cleanup', true),
    grants: grantList.ok ? grantList.grants : [],
    outputCredentials: bool('output-credentials', false),
    maskAwsAccountId: bool('mask-aws-account-id', false),
  };
  return problems.length ? { ok: false, problems } : { ok: true, inputs };
}
