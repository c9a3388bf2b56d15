import { describe, expect, it } from 'vitest';
import { DEFAULT_PUBLIC_URL, parseSettings, splitList } from '../../broker/src/settings.ts';

describe('parseSettings', () => {
  it('gives the documented defaults for an empty environment', () => {
    const parsed = parseSettings({});
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.settings).toMatchObject({
      publicUrl: DEFAULT_PUBLIC_URL,
      publicUrlSet: false,
      kek: undefined,
      previousKeks: [],
      upstreamTimeoutMs: 10_000,
      rateLimits: {},
      audit: { checkpointEveryRecords: 1000, checkpointIntervalMs: 600_000, retentionMs: undefined },
    });
  });

  it('reads every setting', () => {
    const parsed = parseSettings({
      BROKER_PUBLIC_URL: 'https://broker.example.com',
      BROKER_KEK: ' a2V5 ',
      BROKER_KEK_PREVIOUS: ' one, ,two ,',
      BROKER_UPSTREAM_TIMEOUT_MS: '2500',
      BROKER_RATE_LIMITS: 'client=10/1m',
      BROKER_AUDIT_CHECKPOINT_RECORDS: '50',
      BROKER_AUDIT_CHECKPOINT_INTERVAL: '1m',
      BROKER_AUDIT_RETENTION: '90d',
    });
    expect(parsed.ok && parsed.settings).toMatchObject({
      publicUrl: 'https://broker.example.com',
      publicUrlSet: true,
      kek: 'a2V5',
      previousKeks: ['one', 'two'],
      upstreamTimeoutMs: 2500,
      rateLimits: { client: { limit: 10, windowS: 60 } },
      audit: { checkpointEveryRecords: 50, checkpointIntervalMs: 60_000, retentionMs: 90 * 86_400_000 },
    });
  });

  it('collects every problem at once, naming each setting and never echoing a secret', () => {
    const parsed = parseSettings({
      BROKER_PUBLIC_URL: 'ftp://secret-host',
      BROKER_KEK: '  ',
      BROKER_ADMIN_TOKEN: 'weak-admin-token',
      BROKER_UPSTREAM_TIMEOUT_MS: 'soon',
      BROKER_RATE_LIMITS: 'everyone=1',
      BROKER_AUDIT_CHECKPOINT_RECORDS: '0',
      BROKER_AUDIT_CHECKPOINT_INTERVAL: 'often',
      BROKER_AUDIT_RETENTION: '1h',
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const names = [
      'BROKER_PUBLIC_URL',
      'BROKER_KEK',
      'BROKER_UPSTREAM_TIMEOUT_MS',
      'BROKER_RATE_LIMITS',
      'BROKER_AUDIT_CHECKPOINT_RECORDS',
      'BROKER_AUDIT_CHECKPOINT_INTERVAL',
      'BROKER_AUDIT_RETENTION',
    ];
    for (const name of names) expect(parsed.problems.some((p) => p.includes(name))).toBe(true);
    expect(parsed.problems.join('\n')).not.toContain('weak-admin-token');
  });

  it('splits lists without empty entries', () => {
    expect(splitList(undefined)).toEqual([]);
    expect(splitList(' a ,, b,')).toEqual(['a', 'b']);
  });
});

describe('database settings', () => {
  it('default to node:sqlite, a pool of 10 and a 5 s statement deadline', () => {
    const parsed = parseSettings({});
    expect(parsed.ok && parsed.settings.database).toEqual({ url: undefined, poolSize: 10, statementTimeoutMs: 5000 });
  });

  it('read BROKER_DATABASE_URL, BROKER_DATABASE_POOL_SIZE and BROKER_DATABASE_STATEMENT_TIMEOUT_MS', () => {
    const parsed = parseSettings({
      BROKER_DATABASE_URL: 'postgresql://broker@db.internal:5432/broker',
      BROKER_DATABASE_POOL_SIZE: '4',
      BROKER_DATABASE_STATEMENT_TIMEOUT_MS: '1500',
    });
    expect(parsed.ok && parsed.settings.database).toEqual({
      url: 'postgresql://broker@db.internal:5432/broker',
      poolSize: 4,
      statementTimeoutMs: 1500,
    });
  });

  it('refuse a URL that is not postgres:// without echoing it (it may hold the password)', () => {
    const parsed = parseSettings({ BROKER_DATABASE_URL: 'mysql://u:hunter2@db/x', BROKER_DATABASE_POOL_SIZE: '0' });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems.join('\n')).toMatch(/BROKER_DATABASE_URL is not valid/);
    expect(parsed.problems.join('\n')).toMatch(/BROKER_DATABASE_POOL_SIZE/);
    expect(parsed.problems.join('\n')).not.toContain('hunter2');
  });
});
