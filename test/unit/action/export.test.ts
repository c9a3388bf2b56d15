import { describe, expect, it } from 'vitest';
import { blankVariables, exportVariables, planExports } from '../../../action/src/export.ts';
import { maskResponse } from '../../../action/src/mask.ts';
import type { Credential } from '../../../client/credentials.ts';

const creds: Credential[] = [
  { type: 'gcp', access_token: 'ya29.x' },
  { type: 'secret', name: 'S', env: 'TOKEN', value: 'multi\nline' },
  { type: 'secret', name: 'E', env: 'EMPTY', value: '' },
];
const opts = { exportEnv: true, envPrefix: '', awsRegion: '' };

describe('planExports and exportVariables', () => {
  it('exports by type, multi-line values whole, empty values not at all', () => {
    const plan = planExports(creds, opts);
    const exported: string[] = [];
    if (plan.ok) exportVariables(plan.vars, (n, v) => exported.push(`${n}=${JSON.stringify(v)}`));
    expect(exported).toEqual(['GOOGLE_OAUTH_ACCESS_TOKEN="ya29.x"', 'CLOUDSDK_AUTH_ACCESS_TOKEN="ya29.x"', 'TOKEN="multi\\nline"']);
  });

  it('export-env: false exports nothing, and cannot fail on names', () => {
    expect(planExports([{ type: 'secret', name: 'x', env: 'bad=name', value: 'v' }], { ...opts, exportEnv: false })).toEqual({
      ok: true,
      vars: [],
    });
  });

  it('an invalid name refuses the whole set', () => {
    const plan = planExports([...creds, { type: 'secret', name: 'x', env: 'BAD\nNAME', value: 'v' }], { ...opts, envPrefix: 'P_' });
    expect(plan).toEqual({ ok: false, problems: ['"P_BAD\\nNAME": the name contains NUL, CR or LF'] });
  });
});

describe('blankVariables', () => {
  it('exports an empty value for each valid name from the state, skipping anything else', () => {
    const calls: Array<[string, string]> = [];
    expect(blankVariables(['A', 'B_2', 'bad=x', 7, 'PATH'], (n, v) => calls.push([n, v]))).toEqual(['A', 'B_2']);
    expect(calls).toEqual([
      ['A', ''],
      ['B_2', ''],
    ]);
    expect(blankVariables('not a list', () => {})).toEqual([]);
  });
});

describe('maskResponse', () => {
  it('registers every value form before returning, and never an empty string', () => {
    const masked: string[] = [];
    const n = maskResponse({ credentials: creds }, (v) => masked.push(v));
    expect(masked).toEqual(['ya29.x', 'multi\nline', 'multi', 'line']);
    expect(n).toBe(4);
  });
});
