import { describe, expect, it } from 'vitest';
import { summaryMarkdown } from '../../../action/src/summary.ts';

describe('summaryMarkdown', () => {
  it('shows role, request id, types, targets and expiry, and no value', () => {
    const md = summaryMarkdown(
      {
        request_id: '01JREQ',
        role: 'deploy',
        expires_at: '2030-01-01T00:15:00Z',
        unknown_types: ['ssh'],
        credentials: [
          {
            type: 'aws',
            access_key_id: 'AKIDVALUE',
            secret_access_key: 'SAKVALUE',
            role_arn: 'arn:aws:iam::1:role/r',
            expires_at: '2030-01-01T00:15:00Z',
          },
          { type: 'github', token: 'ghs_VALUE', repositories: ['web', 'api'] },
          { type: 'secret', name: 'DB', env: 'DATABASE_URL', value: 'postgres://VALUE', version: 3 },
        ],
      },
      'https://broker.example.com',
    );
    expect(md).toContain('Role `deploy` from https://broker.example.com: request id `01JREQ`, expires 2030-01-01T00:15:00Z.');
    expect(md).toContain('| aws | arn:aws:iam::1:role/r | 2030-01-01T00:15:00Z |');
    expect(md).toContain('| github | web, api |  |');
    expect(md).toContain('| secret | DATABASE_URL (version 3) |  |');
    expect(md).toContain('| ssh | (not used by this version of the action) | |');
    expect(md).not.toMatch(/VALUE/);
  });

  it('escapes what could break the table or inject HTML', () => {
    const md = summaryMarkdown(
      {
        request_id: 'r',
        role: 'x',
        expires_at: 't',
        unknown_types: [],
        credentials: [{ type: 'gcp', access_token: 'v', service_account: 'a|b<script>\nc' }],
      },
      'u',
    );
    expect(md).toContain('| gcp | a\\|b&lt;script&gt; c |  |');
  });
});
