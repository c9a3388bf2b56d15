import { describe, expect, it } from 'vitest';
import type { Credential } from '../../../client/credentials.ts';
import { envNameProblem, envVarsFor } from '../../../client/env.ts';

const secret = (env: string, value = 'v'): Credential => ({ type: 'secret', name: env, env, value });

describe('envVarsFor', () => {
  it('maps every type to the names its tools read', () => {
    const plan = envVarsFor([
      { type: 'aws', access_key_id: 'A', secret_access_key: 'S', session_token: 'T', region: 'eu-west-1' },
      { type: 'azure', access_token: 'AZ' },
      { type: 'gcp', access_token: 'G' },
      { type: 'github', token: 'GH' },
      { type: 'secret', name: 'STORE_NAME', env: 'DATABASE_URL', value: 'D' },
    ]);
    expect(plan).toEqual({
      ok: true,
      vars: [
        { name: 'AWS_ACCESS_KEY_ID', value: 'A' },
        { name: 'AWS_SECRET_ACCESS_KEY', value: 'S' },
        { name: 'AWS_SESSION_TOKEN', value: 'T' },
        { name: 'AWS_REGION', value: 'eu-west-1' },
        { name: 'AWS_DEFAULT_REGION', value: 'eu-west-1' },
        { name: 'AZURE_ACCESS_TOKEN', value: 'AZ' },
        { name: 'GOOGLE_OAUTH_ACCESS_TOKEN', value: 'G' },
        { name: 'CLOUDSDK_AUTH_ACCESS_TOKEN', value: 'G' },
        { name: 'GH_TOKEN', value: 'GH' },
        { name: 'DATABASE_URL', value: 'D' },
      ],
    });
  });

  it('the prefix applies to secrets only; aws-region overrides the returned region', () => {
    const plan = envVarsFor([{ type: 'aws', access_key_id: 'A', secret_access_key: 'S', region: 'eu-west-1' }, secret('TOKEN')], {
      prefix: 'APP_',
      awsRegion: 'us-east-2',
    });
    expect(plan.ok && plan.vars.map((v) => `${v.name}=${v.value}`)).toEqual([
      'AWS_ACCESS_KEY_ID=A',
      'AWS_SECRET_ACCESS_KEY=S',
      'AWS_REGION=us-east-2',
      'AWS_DEFAULT_REGION=us-east-2',
      'APP_TOKEN=v',
    ]);
  });

  it('leaves empty values out', () => {
    const plan = envVarsFor([{ type: 'aws', access_key_id: 'A', secret_access_key: 'S', session_token: '' }, secret('EMPTY', '')]);
    expect(plan.ok && plan.vars.map((v) => v.name)).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
  });

  it('refuses the whole set when any name is invalid or repeated, naming each problem but no value', () => {
    const plan = envVarsFor([
      secret('OK'),
      secret('A=B', 'hidden-1'),
      secret('X\nY', 'hidden-2'),
      secret('OK', 'hidden-3'),
      secret('PATH', 'hidden-4'),
    ]);
    expect(plan.ok).toBe(false);
    if (plan.ok) return;
    expect(plan.problems).toEqual([
      '"A=B": the name contains "="',
      '"X\\nY": the name contains NUL, CR or LF',
      '"OK": two credentials set this variable (use outputs, with export-env: false, to tell them apart)',
      '"PATH": the name is reserved for the runner or the shell',
    ]);
    expect(plan.problems.join()).not.toMatch(/hidden/);
  });

  it('refuses a NUL in a value, which no environment can hold', () => {
    const plan = envVarsFor([secret('K', 'a\0b')]);
    expect(plan.ok).toBe(false);
  });
});

describe('envNameProblem', () => {
  it.each([
    ['DATABASE_URL', undefined],
    ['_x1', undefined],
    ['a'.repeat(255), undefined],
    ['', 'the name is empty'],
    ['A=B', 'the name contains "="'],
    ['A\0B', 'the name contains NUL, CR or LF'],
    ['A\rB', 'the name contains NUL, CR or LF'],
    ['A\nB', 'the name contains NUL, CR or LF'],
    ['1ABC', 'the name must match [A-Za-z_][A-Za-z0-9_]* (at most 255 characters)'],
    ['MY-VAR', 'the name must match [A-Za-z_][A-Za-z0-9_]* (at most 255 characters)'],
    ['MY VAR', 'the name must match [A-Za-z_][A-Za-z0-9_]* (at most 255 characters)'],
    ['ÜBER', 'the name must match [A-Za-z_][A-Za-z0-9_]* (at most 255 characters)'],
    ['a'.repeat(256), 'the name must match [A-Za-z_][A-Za-z0-9_]* (at most 255 characters)'],
    ['NODE_OPTIONS', 'the name is reserved for the runner or the shell'],
    ['ld_preload', 'the name is reserved for the runner or the shell'],
    ['GITHUB_TOKEN', 'the name is reserved for the runner or the shell'],
    ['ACTIONS_ID_TOKEN_REQUEST_URL', 'the name is reserved for the runner or the shell'],
    ['CI_JOB_TOKEN', 'the name is reserved for the runner or the shell'],
  ])('%j -> %s', (name, problem) => {
    expect(envNameProblem(name)).toBe(problem);
  });
});
