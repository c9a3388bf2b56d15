import { describe, expect, it } from 'vitest';
import { outputsFor } from '../../../action/src/outputs.ts';
import type { ExchangeResponse } from '../../../client/credentials.ts';

const response = (credentials: ExchangeResponse['credentials']): ExchangeResponse => ({
  request_id: 'R',
  role: 'deploy',
  expires_at: 'T',
  credentials,
  unknown_types: [],
});

describe('outputsFor', () => {
  it('names every field <type>-<field>, numbers repeats, keys secrets by env name, skips empty values', () => {
    const r = outputsFor(
      response([
        { type: 'aws', access_key_id: 'A', secret_access_key: 'S', session_token: '', region: 'us-east-1' },
        { type: 'aws', access_key_id: 'A2', secret_access_key: 'S2' },
        { type: 'github', token: 'G', repositories: ['a', 'b'], permissions: { contents: 'read' } },
        { type: 'secret', name: 'STORE', env: 'DB_URL', value: 'D', version: 4 },
        { type: 'secret', name: 'E', env: 'E', value: '' },
      ]),
      { credentials: true },
    );
    expect(r).toEqual({
      ok: true,
      outputs: [
        ['request-id', 'R'],
        ['expires-at', 'T'],
        ['aws-access-key-id', 'A'],
        ['aws-secret-access-key', 'S'],
        ['aws-region', 'us-east-1'],
        ['aws-2-access-key-id', 'A2'],
        ['aws-2-secret-access-key', 'S2'],
        ['github-token', 'G'],
        ['github-repositories', '["a","b"]'],
        ['github-permissions', '{"contents":"read"}'],
        ['secret-DB_URL', 'D'],
        ['secret-DB_URL-version', '4'],
        ['secret-DB_URL-name', 'STORE'],
        ['secret-E-name', 'E'],
      ],
    });
  });

  it('refuses names that cannot be outputs and names that collide, ignoring case', () => {
    const r = outputsFor(
      response([
        { type: 'secret', name: 'a', env: 'bad name', value: 'v' },
        { type: 'secret', name: 'b', env: 'TOKEN', value: 'v' },
        { type: 'secret', name: 'c', env: 'token', value: 'v' },
      ]),
      { credentials: true },
    );
    expect(!r.ok && r.problems).toEqual([
      'output "secret-bad name": not a valid output name',
      'output "secret-token": two credentials produce this output',
    ]);
  });

  it('output-credentials false: outputs carry descriptors only, never a credential value', () => {
    const creds: ExchangeResponse['credentials'] = [
      {
        type: 'aws',
        access_key_id: 'AKID',
        secret_access_key: 'SAK',
        session_token: 'ST',
        region: 'eu-west-1',
        role_arn: 'arn:aws:iam::111122223333:role/deploy',
        expires_at: 'T1',
      },
      { type: 'azure', access_token: 'AZ', tenant_id: 'tid', client_id: 'cid', scope: 'sc', expires_at: 'T2' },
      { type: 'gcp', access_token: 'GC', service_account: 'sa@p', project_id: 'p' },
      { type: 'github', token: 'GH', repositories: ['web'], permissions: { contents: 'read' } },
      { type: 'secret', name: 'STORE', env: 'DB_URL', value: 'D', version: 4 },
    ];
    // A field a newer broker adds is a value unless it is a known descriptor.
    (creds[0] as unknown as Record<string, unknown>).new_secret_field = 'NEW';
    const r = outputsFor(response(creds), { credentials: false });
    expect(r).toEqual({
      ok: true,
      outputs: [
        ['request-id', 'R'],
        ['expires-at', 'T'],
        ['aws-region', 'eu-west-1'],
        ['aws-role-arn', 'arn:aws:iam::111122223333:role/deploy'],
        ['aws-expires-at', 'T1'],
        ['aws-account-id', '111122223333'],
        ['azure-tenant-id', 'tid'],
        ['azure-client-id', 'cid'],
        ['azure-scope', 'sc'],
        ['azure-expires-at', 'T2'],
        ['gcp-service-account', 'sa@p'],
        ['gcp-project-id', 'p'],
        ['github-repositories', '["web"]'],
        ['github-permissions', '{"contents":"read"}'],
        ['secret-DB_URL-version', '4'],
        ['secret-DB_URL-name', 'STORE'],
      ],
    });
    const values = ['AKID', 'SAK', 'ST', 'AZ', 'GC', 'GH', 'D', 'NEW'];
    for (const [, v] of r.ok ? r.outputs : []) expect(values).not.toContain(v);
  });

  it('aws-account-id comes from each AWS role ARN, in every partition, and is absent without one', () => {
    const r = outputsFor(
      response([
        { type: 'aws', access_key_id: 'A', secret_access_key: 'S', role_arn: 'arn:aws-us-gov:iam::444455556666:role/x' },
        { type: 'aws', access_key_id: 'A2', secret_access_key: 'S2' },
        { type: 'aws', access_key_id: 'A3', secret_access_key: 'S3', role_arn: 'not-an-arn:111122223333' },
      ]),
      { credentials: false },
    );
    expect(r.ok && r.outputs.filter(([n]) => n.endsWith('account-id'))).toEqual([['aws-account-id', '444455556666']]);
  });
});
