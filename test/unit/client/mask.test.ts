import { describe, expect, it } from 'vitest';
import { valuesToMask } from '../../../client/mask.ts';

const body = (...credentials: unknown[]) => ({ request_id: 'r', role: 'x', expires_at: 't', credentials });

describe('valuesToMask', () => {
  it('masks the value fields of every type, not the descriptors', () => {
    const v = valuesToMask(
      body(
        {
          type: 'aws',
          access_key_id: 'AKID',
          secret_access_key: 'SAK',
          session_token: 'ST',
          region: 'us-east-1',
          role_arn: 'arn:aws:iam::1:role/r',
          expires_at: '2030-01-01T00:00:00Z',
        },
        { type: 'azure', access_token: 'AZ', tenant_id: 'tid', client_id: 'cid', scope: 's' },
        { type: 'gcp', access_token: 'GC', service_account: 'sa@p', project_id: 'p' },
        { type: 'github', token: 'ghs_x', repositories: ['web'], permissions: { contents: 'read' } },
        { type: 'secret', name: 'N', env: 'E', value: 'V', version: 3 },
      ),
    );
    expect(v.sort()).toEqual(['AKID', 'AZ', 'GC', 'SAK', 'ST', 'V', 'ghs_x'].sort());
  });

  it('masks every line of a multi-line value, trimmed, besides the whole value', () => {
    const value = 'line one\r\n  indented two  \n\nthree';
    expect(valuesToMask(body({ type: 'secret', name: 'K', value }))).toEqual([value, 'line one', 'indented two', 'three']);
  });

  it('masks every string inside a JSON secret, with their lines and escaped forms, but not keys or numbers', () => {
    const value = JSON.stringify({ type: 'service_account', key: 'a\nb', list: ['x1', { deep: 'y2' }], port: 5432, on: true }, null, 2);
    const v = valuesToMask(body({ type: 'secret', name: 'K', value }));
    expect(v[0]).toBe(value);
    for (const s of ['service_account', 'a\nb', 'a', 'b', 'a\\nb', 'x1', 'y2']) expect(v).toContain(s);
    for (const s of ['key', 'list', 'deep', '5432', 'true', '{', '}', '],', '[']) expect(v).not.toContain(s);
  });

  it('skips lines of bare JSON punctuation, which would star out the whole log', () => {
    expect(valuesToMask(body({ type: 'secret', name: 'K', value: '{\n "a": "s3cret"\n}' }))).toEqual([
      '{\n "a": "s3cret"\n}',
      '"a": "s3cret"',
      's3cret',
    ]);
  });

  it('never returns an empty string', () => {
    expect(valuesToMask(body({ type: 'secret', name: 'E', value: '' }, { type: 'secret', name: 'F', value: '\n\n' }))).toEqual(['\n\n']);
    expect(valuesToMask(body({ type: 'secret', name: 'J', value: '{"a": ""}' }))).toEqual(['{"a": ""}']);
  });

  it('masks unknown types and unknown fields by default', () => {
    expect(valuesToMask(body({ type: 'ssh', private_key: 'PK', name: 'n', extra: { nested: ['Z'] } }))).toEqual(['PK', 'Z']);
    expect(valuesToMask(body({ type: 'aws', access_key_id: 'A', secret_access_key: 'B', new_field: 'C' }))).toEqual(['A', 'B', 'C']);
  });

  it('ignores what is not a response, and values that are not JSON containers', () => {
    expect(valuesToMask(null)).toEqual([]);
    expect(valuesToMask({ credentials: 'x' })).toEqual([]);
    expect(valuesToMask(body(null, 'str', { type: 'secret', name: 'K', value: '"quoted"' }))).toEqual(['"quoted"']);
    expect(valuesToMask(body({ type: 'secret', name: 'K', value: '{not json' }))).toEqual(['{not json']);
  });
});
