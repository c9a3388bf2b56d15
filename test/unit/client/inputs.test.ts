import { describe, expect, it } from 'vitest';
import { ROLE_NAME as POLICY_ROLE_NAME } from '../../../broker/src/policy/schema.ts';
import {
  awsRegionProblem,
  envPrefixProblem,
  parseWholeNumber,
  RETRIES,
  ROLE_NAME,
  roleNameProblem,
  TIMEOUT_SECONDS,
} from '../../../client/inputs.ts';

describe('client/inputs', () => {
  it('checks role names by the broker policy rule itself, not a copy', () => {
    expect(ROLE_NAME).toBe(POLICY_ROLE_NAME);
    expect(roleNameProblem('deploy-web.prod')).toBeUndefined();
    expect(roleNameProblem('')).toMatch(/is required/);
    for (const bad of ['Deploy', '-x', 'a'.repeat(64), 'a b']) expect(roleNameProblem(bad)).toMatch(/is not a role name/);
  });

  it.each([
    [undefined, TIMEOUT_SECONDS, { ok: true, value: 60 }],
    [undefined, RETRIES, { ok: true, value: 3 }],
    ['600', TIMEOUT_SECONDS, { ok: true, value: 600 }],
    ['0', RETRIES, { ok: true, value: 0 }],
    ['0', TIMEOUT_SECONDS, { ok: false, problem: 'must be a whole number from 1 to 600' }],
    ['11', RETRIES, { ok: false, problem: 'must be a whole number from 0 to 10' }],
    ['2.5', RETRIES, { ok: false, problem: 'must be a whole number from 0 to 10' }],
    ['ten', RETRIES, { ok: false, problem: 'must be a whole number from 0 to 10' }],
  ])('parseWholeNumber(%j)', (text, range, expected) => {
    expect(parseWholeNumber(text, range)).toEqual(expected);
  });

  it('an empty env prefix or AWS region means none; anything else must be well formed', () => {
    expect(envPrefixProblem('')).toBeUndefined();
    expect(envPrefixProblem('APP_')).toBeUndefined();
    expect(envPrefixProblem('1X')).toMatch(/must match/);
    expect(awsRegionProblem('')).toBeUndefined();
    expect(awsRegionProblem('eu-central-1')).toBeUndefined();
    expect(awsRegionProblem('mars')).toMatch(/is not an AWS region/);
  });
});
