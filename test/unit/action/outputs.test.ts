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
    );
    expect(!r.ok && r.problems).toEqual([
      'output "secret-bad name": not a valid output name',
      'output "secret-token": two credentials produce this output',
    ]);
  });
});
