// Exports credentials into the job's environment (GITHUB_ENV) by type, under the names every SDK reads.
// The mapping itself is client/env.ts, shared with the CLI, so a job sees the same names on every CI.
import type { Credential } from '../../client/credentials.ts';
import { envNameProblem, envVarsFor, type EnvVar } from '../../client/env.ts';
import type { Inputs } from './inputs.ts';

export type ExportVariable = (name: string, value: string) => void;

/** The variables to export, or every reason not to (then nothing is exported: half a set is worse than none). */
export function planExports(
  credentials: Credential[],
  inputs: Pick<Inputs, 'exportEnv' | 'envPrefix' | 'awsRegion'>,
): { ok: true; vars: EnvVar[] } | { ok: false; problems: string[] } {
  if (!inputs.exportEnv) return { ok: true, vars: [] };
  return envVarsFor(credentials, { prefix: inputs.envPrefix, awsRegion: inputs.awsRegion });
}

export function exportVariables(vars: EnvVar[], exportVariable: ExportVariable): void {
  for (const v of vars) exportVariable(v.name, v.value);
}

/**
 * The post step cannot unset a variable: GITHUB_ENV can only set one. Exporting an empty value is the
 * closest thing: every step that runs afterwards (the post steps of actions used earlier in the job, which
 * run after ours) sees an empty variable instead of the credential. Names that are not valid variable
 * names are skipped (the state is ours, but it is read back from a file).
 */
export function blankVariables(names: unknown, exportVariable: ExportVariable): string[] {
  const valid = Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string' && envNameProblem(n) === undefined) : [];
  for (const name of valid) exportVariable(name, '');
  return valid;
}
