// The action's inputs (docs/ARCHITECTURE.md "Action"), read and checked in one place so that every mistake is
// reported at once, by input name, before any network call.
import { printableName } from '../../client/env.ts';
import { parseBrokerUrl, ROLE_NAME } from '../../client/inputs.ts';

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
}

/** Reads one input by its action.yml name; `core.getInput` in the action, a map in tests. */
export type GetInput = (name: string) => string;

export function readInputs(get: GetInput): { ok: true; inputs: Inputs } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const bad = (name: string, problem: string) => problems.push(`input ${name} ${problem}`);

  const brokerText = get('broker-url');
  let brokerUrl = '';
  if (!brokerText) bad('broker-url', 'is required: the base URL of your secret-broker, e.g. https://broker.example.com');
  else {
    const parsed = parseBrokerUrl(brokerText);
    if (parsed.ok) brokerUrl = parsed.url;
    else bad('broker-url', parsed.problem);
  }

  const role = get('role');
  if (!role) bad('role', 'is required: the name of a role in the broker\'s policies');
  else if (!ROLE_NAME.test(role)) bad('role', `${printableName(role)} is not a role name (lower case letters, digits, ".", "_", "-"; at most 63)`);

  const envPrefix = get('env-prefix');
  if (envPrefix && !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(envPrefix)) bad('env-prefix', 'must match [A-Za-z_][A-Za-z0-9_]* (it starts every secret variable name)');

  const awsRegion = get('aws-region');
  if (awsRegion && !/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(awsRegion)) bad('aws-region', `${printableName(awsRegion)} is not an AWS region such as us-east-1`);

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const text = get(name);
    if (text === '') return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) bad(name, `must be a whole number from ${min} to ${max}`);
    return n;
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
    brokerUrl,
    role,
    // Defaults to the broker URL exactly as written: that is what the broker's issuers.yaml usually names.
    audience: get('audience') || brokerText,
    exportEnv: bool('export-env', true),
    envPrefix,
    awsRegion,
    timeoutSeconds: int('timeout-seconds', 60, 1, 600),
    retries: int('retries', 3, 0, 10),
    cleanup: bool('cleanup', true),
  };
  return problems.length ? { ok: false, problems } : { ok: true, inputs };
}
