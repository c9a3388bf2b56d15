// Filters, newest-first cursor pages and the summary behind GET /v1/audit and the review page.
import { describe, expect, it } from 'vitest';
import {
  bucketFor,
  matchesFilters,
  parseAuditQuery,
  queryAudit,
  SCAN_BUDGET,
  type AuditQueryRequest,
} from '../../../broker/src/audit/query.ts';
import { auditFixture, makeRecord, T0 } from './fixtures.ts';

const q = (over: Partial<AuditQueryRequest> = {}): AuditQueryRequest => ({ filters: {}, limit: 50, summary: false, ...over });

describe('parseAuditQuery', () => {
  const parse = (s: string) => parseAuditQuery(new URLSearchParams(s), T0);

  it('reads every filter, relative and absolute times, cursor, limit and summary', () => {
    const r = parse(
      'since=24h&until=2026-11-28T00:00:00Z&decision=deny&role=deploy&repository=acme/web&reason=policy.&action=exchange,revoke&cursor=42&limit=10&summary=1',
    );
    expect(r).toEqual({
      ok: true,
      query: {
        filters: {
          since: T0 - 86_400_000,
          until: T0,
          decision: 'deny',
          role: 'deploy',
          repository: 'acme/web',
          reason: 'policy.',
          actions: ['exchange', 'revoke'],
        },
        cursor: 42,
        limit: 10,
        summary: true,
      },
      echo: expect.objectContaining({ decision: 'deny', cursor: '42' }),
    });
    expect(parse('')).toMatchObject({ ok: true, query: { filters: {}, limit: 50, summary: false } });
  });

  it('reads the review filters: credential type and target, actor, workflow, environment', () => {
    const r = parse('type=aws&target=arn:aws:iam::1:role/*&actor=alice&workflow=*deploy.yml*&environment=production&role=*prod*');
    expect(r).toMatchObject({
      ok: true,
      query: {
        filters: {
          type: 'aws',
          target: 'arn:aws:iam::1:role/*',
          actor: 'alice',
          workflow: '*deploy.yml*',
          environment: 'production',
          role: '*prod*',
        },
      },
    });
  });

  it.each([
    ['type=ftp', 'audit_query.type'],
    ['type=aws&type=gcp', 'audit_query.repeated_parameter'],
    ['unknown=1', 'audit_query.unknown_parameter'],
    ['role=a&role=b', 'audit_query.repeated_parameter'],
    ['decision=maybe', 'audit_query.decision'],
    ['since=yesterday', 'audit_query.since'],
    ['until=12', 'audit_query.until'],
    ['cursor=0', 'audit_query.cursor'],
    ['cursor=abc', 'audit_query.cursor'],
    ['cursor=-1', 'audit_query.cursor'],
    ['limit=0', 'audit_query.limit'],
    ['limit=501', 'audit_query.limit'],
    ['limit=1e2', 'audit_query.limit'],
    ['action=exchange,delete', 'audit_query.action'],
    ['summary=yes', 'audit_query.summary'],
    [`role=${'x'.repeat(257)}`, 'audit_query.value_too_long'],
  ])('refuses %s', (s, detail) => {
    expect(parse(s)).toEqual({ ok: false, detail });
  });
});

describe('matchesFilters', () => {
  const gitlab = makeRecord({
    identity: { project_path: 'grp/app', project_id: 77 },
    decision: 'deny',
    code: 'ERR_ACCESS_DENIED',
    reason: 'policy.no_match',
  });
  it.each([
    [{ repository: 'acme/web' }, makeRecord(), true],
    [{ repository: '123' }, makeRecord(), true],
    [{ repository: 'acme/we' }, makeRecord(), false],
    [{ repository: 'grp/app' }, gitlab, true],
    [{ repository: '77' }, gitlab, true],
    [{ reason: 'ERR_ACCESS_DENIED' }, gitlab, true],
    [{ reason: 'policy.' }, gitlab, true],
    [{ reason: 'policy.no_match' }, gitlab, true],
    [{ reason: 'token.' }, gitlab, false],
    [{ decision: 'deny' as const }, gitlab, true],
    [{ decision: 'deny' as const }, makeRecord(), false],
    [{ role: 'deploy' }, makeRecord(), true],
    [{ role: 'deplo' }, makeRecord(), false],
    [{ actions: ['admin_query' as const] }, makeRecord(), false],
    [{ since: T0 + 1 }, makeRecord(), false],
    [{ until: T0 }, makeRecord(), true],
    // Text filters: exact, or a glob with `*` (substring: *x*).
    [{ role: 'dep*' }, makeRecord(), true],
    [{ role: '*plo*' }, makeRecord(), true],
    [{ role: '*prod*' }, makeRecord(), false],
    [{ repository: 'acme/*' }, makeRecord(), true],
    [{ repository: '*/web' }, makeRecord(), true],
    [{ repository: 'grp/*' }, makeRecord(), false],
    [{ type: 'secret' as const }, makeRecord(), true],
    [{ type: 'aws' as const }, makeRecord(), false],
    [{ target: 'DB_URL' }, makeRecord(), true],
    [{ target: 'DB_*' }, makeRecord(), true],
    [{ target: 'arn:*' }, makeRecord(), false],
    [{ actor: 'alice' }, makeRecord({ identity: { actor: 'alice' } }), true],
    [{ actor: '42' }, makeRecord({ identity: { user_login: 'bob', user_id: 42 } }), true],
    [{ actor: 'ali' }, makeRecord({ identity: { actor: 'alice' } }), false],
    [
      { workflow: '*deploy.yml@*' },
      makeRecord({ identity: { job_workflow_ref: 'acme/ci/.github/workflows/deploy.yml@refs/heads/main' } }),
      true,
    ],
    [
      { workflow: 'gitlab.com/grp/app//.gitlab-ci.yml@*' },
      makeRecord({ identity: { ci_config_ref_uri: 'gitlab.com/grp/app//.gitlab-ci.yml@refs/heads/main' } }),
      true,
    ],
    [{ environment: 'production' }, makeRecord({ identity: { environment: 'production' } }), true],
    [{ environment: 'prod' }, makeRecord({ identity: { environment: 'production' } }), false],
    [{ decision: 'error' as const }, makeRecord({ decision: 'deny', code: 'ERR_UPSTREAM', reason: 'aws.timeout' }), true],
  ])('%j', (filters, record, expected) => {
    expect(matchesFilters(record, filters)).toBe(expected);
  });
});

describe('queryAudit', () => {
  const seeded = async () => {
    const f = await auditFixture();
    // 30 records, one second apart: every third is a denial, roles alternate.
    await f.append(30, (i) =>
      i % 3 === 0
        ? {
            decision: 'deny',
            code: 'ERR_ACCESS_DENIED',
            reason: i % 2 ? 'policy.no_match' : 'policy.denied',
            status: 403,
            role: 'prod',
            credentials: [],
          }
        : { role: i % 2 ? 'deploy' : 'prod' },
    );
    return f;
  };

  it('pages newest first with an opaque cursor until the end', async () => {
    const f = await seeded();
    const first = await queryAudit(f.audit, q({ limit: 12 }), f.clock.now);
    expect(first.records.map((r) => r.seq)).toEqual([30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19]);
    expect(first.next_cursor).toBe('19');
    const seqs = [...first.records.map((r) => r.seq)];
    let cursor = first.next_cursor;
    while (cursor) {
      const page = await queryAudit(f.audit, q({ limit: 12, cursor: Number(cursor) }), f.clock.now);
      seqs.push(...page.records.map((r) => r.seq));
      cursor = page.next_cursor;
    }
    expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => 30 - i));
  });

  it('filters, and pages through the filtered records', async () => {
    const f = await seeded();
    const denies = await queryAudit(f.audit, q({ filters: { decision: 'deny' }, limit: 4 }), f.clock.now);
    expect(denies.records.map((r) => r.seq)).toEqual([30, 27, 24, 21]);
    const next = await queryAudit(f.audit, q({ filters: { decision: 'deny' }, limit: 4, cursor: Number(denies.next_cursor) }), f.clock.now);
    expect(next.records.map((r) => r.seq)).toEqual([18, 15, 12, 9]);
    const reason = await queryAudit(f.audit, q({ filters: { reason: 'policy.no_match' } }), f.clock.now);
    expect(reason.records.map((r) => r.seq)).toEqual([27, 21, 15, 9, 3]);
    expect(reason.next_cursor).toBeNull();
  });

  it('stops scanning once records are older than since', async () => {
    const f = await seeded();
    await f.append(1);
    f.clock.now += 3_600_000;
    await f.append(2);
    const page = await queryAudit(f.audit, q({ filters: { since: f.clock.now - 60_000 } }), f.clock.now);
    expect(page.records.map((r) => r.seq)).toEqual([33, 32]);
    expect(page.scanned).toBe(3);
    expect(page.next_cursor).toBeNull();
  });

  it('summarises the window: decisions, deny reasons by count, a timeline', async () => {
    const f = await seeded();
    const page = await queryAudit(f.audit, q({ limit: 5, summary: true, filters: { since: T0 - 60_000 } }), f.clock.now);
    expect(page.records).toHaveLength(5);
    expect(page.next_cursor).toBe('26');
    expect(page.summary).toMatchObject({
      total: 30,
      complete: true,
      decisions: { allow: 20, deny: 10, error: 0 },
      deny_reasons: [
        { code: 'ERR_ACCESS_DENIED', reason: 'policy.denied', count: 5 },
        { code: 'ERR_ACCESS_DENIED', reason: 'policy.no_match', count: 5 },
      ],
    });
    const tl = page.summary!.timeline;
    expect(tl.bucket_ms).toBe(60_000);
    expect(tl.buckets.reduce((n, b) => n + b.allow + b.deny + b.error, 0)).toBe(30);
  });

  it('a scan cut short by its budget returns a cursor to continue from', async () => {
    const f = await auditFixture();
    const { buildEntry } = await import('../../../broker/src/audit/chain.ts');
    let prev = '0'.repeat(64);
    for (let seq = 1; seq <= SCAN_BUDGET + 5; seq++) {
      const e = await buildEntry(seq, prev, makeRecord({ decision: seq <= 2 ? 'deny' : 'allow' }));
      f.audit.entries.push(e);
      prev = e.hash;
    }
    const page = await queryAudit(f.audit, q({ filters: { decision: 'deny' } }), f.clock.now);
    expect(page.records).toEqual([]);
    expect(page.scanned).toBe(SCAN_BUDGET);
    expect(page.next_cursor).toBe('6');
    const rest = await queryAudit(f.audit, q({ filters: { decision: 'deny' }, cursor: 6 }), f.clock.now);
    expect(rest.records.map((r) => r.seq)).toEqual([2, 1]);
  }, 60_000);
});

describe('bucketFor', () => {
  it.each([
    [3_600_000, 300_000],
    [86_400_000, 3_600_000],
    [7 * 86_400_000, 6 * 3_600_000],
    [90 * 86_400_000, 7 * 86_400_000],
  ])('%i ms -> %i ms', (span, bucket) => expect(bucketFor(span)).toBe(bucket));
});
