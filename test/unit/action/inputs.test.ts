import { describe, expect, it } from 'vitest';
import { readInputs } from '../../../action/src/inputs.ts';

const get = (values: Record<string, string>) => (name: string) => values[name] ?? '';

describe('readInputs', () => {
  it('applies the documented defaults; audience defaults to broker-url as written', () => {
    expect(readInputs(get({ 'broker-url': 'https://broker.example.com/', role: 'deploy-web.prod' }))).toEqual({
      ok: true,
      inputs: {
        brokerUrl: 'https://broker.example.com',
        role: 'deploy-web.prod',
        audience: 'https://broker.example.com/',
        exportEnv: true,
        envPrefix: '',
        awsRegion: '',
        timeoutSeconds: 60,
        retries: 3,
        cleanup: true,
        grants: [],
        outputCredentials: false,
        maskAwsAccountId: false,
      },
    });
  });

  it('reads every input', () => {
    const r = readInputs(
      get({
        'broker-url': 'http://127.0.0.1:8787',
        role: 'r',
        audience: 'aud',
        'export-env': 'FALSE',
        'env-prefix': 'APP_',
        'aws-region': 'eu-central-1',
        'timeout-seconds': '5',
        retries: '0',
        cleanup: 'false',
        grants: ' aws ,\nDATABASE_URL\n\n,db.url-2 ',
        'output-credentials': 'true',
        'mask-aws-account-id': 'True',
      }),
    );
    expect(r).toEqual({
      ok: true,
      inputs: {
        brokerUrl: 'http://127.0.0.1:8787',
        role: 'r',
        audience: 'aud',
        exportEnv: false,
        envPrefix: 'APP_',
        awsRegion: 'eu-central-1',
        timeoutSeconds: 5,
        retries: 0,
        cleanup: false,
        grants: ['aws', 'DATABASE_URL', 'db.url-2'],
        outputCredentials: true,
        maskAwsAccountId: true,
      },
    });
  });

  it('reports every problem at once, by input name', () => {
    const r = readInputs(
      get({
        'broker-url': 'https://user:pw@broker.example.com',
        role: 'Bad Role',
        'export-env': 'yes',
        'env-prefix': '1X',
        'aws-region': 'mars',
        grants: 'aws, a=b',
        'output-credentials': 'on',
        'timeout-seconds': '0',
        retries: '2.5',
        cleanup: '',
      }),
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems).toEqual([
      'input broker-url must not contain a user name or password',
      'input role "Bad Role" is not a role name (lower case letters, digits, ".", "_", "-"; at most 63)',
      'input env-prefix must match [A-Za-z_][A-Za-z0-9_]* (it starts every secret variable name)',
      'input aws-region "mars" is not an AWS region such as us-east-1',
      'input grants "a=b" is not a grant type or an env name',
      'input export-env must be true or false',
      'input timeout-seconds must be a whole number from 1 to 600',
      'input retries must be a whole number from 0 to 10',
      'input output-credentials must be true or false',
    ]);
  });

  it.each([
    ['', 'is required'],
    ['broker.example.com', 'is not an absolute URL'],
    ['http://broker.example.com', 'must use https://'],
    ['https://broker.example.com/?x=1', 'must not contain a query'],
    ['ftp://127.0.0.1', 'must use https://'],
  ])('broker-url %j: %s', (url, problem) => {
    const r = readInputs(get({ 'broker-url': url, role: 'r' }));
    expect(!r.ok && r.problems[0]).toContain(problem);
  });

  it.each(['http://localhost:1', 'http://[::1]:8787', 'https://broker.example.com/prefix'])('accepts %s', (url) => {
    expect(readInputs(get({ 'broker-url': url, role: 'r' })).ok).toBe(true);
  });

  it.each([
    ['aws,aws', 'names an entry twice'],
    [Array.from({ length: 17 }, (_, i) => `G${i}`).join(','), 'more than 16'],
    ['*', 'is not a grant type'],
    ['aws secret', 'is not a grant type'],
  ])('grants %j: %s', (grants, problem) => {
    const r = readInputs(get({ 'broker-url': 'https://b.example.com', role: 'r', grants }));
    expect(!r.ok && r.problems[0]).toContain(problem);
  });
});
