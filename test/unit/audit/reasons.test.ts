// The one table of audit reasons (broker/src/audit/reasons.ts): what the writer may write, what the query
// accepts, what the page shows and what docs/REASONS.md says. The writer's side is held by the types
// (BrokerError, Draft.finish and MintResult take a Reason); the source scan below also catches a reason
// that reaches them through a cast.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderAdminPage } from '../../../broker/src/admin/page.ts';
import { parseAuditQuery } from '../../../broker/src/audit/query.ts';
import { describeReason, FAMILIES, familyOf, isReasonFilter, REASONS } from '../../../broker/src/audit/reasons.ts';
import { ERROR_STATUS } from '../../../broker/src/errors.ts';
import { REASONS_DOC_PATH, renderReasonsDoc } from '../../../scripts/gen-reasons-doc.ts';
import { T0 } from './fixtures.ts';

const SRC = resolve(import.meta.dirname, '../../../broker/src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.gen.ts') ? [path] : [];
  });
}

/**
 * String literals in the places a reason is written: a BrokerError's detail, a `detail:` or `reason:` of a
 * result, the minters' failure helpers, Draft.finish and a route's outcome. A template literal contributes
 * its text up to the first `${`.
 */
const WRITE_SITES = [
  /new BrokerError\(\s*'ERR_[A-Z_]+',\s*(['`])((?:(?!\1)[^$\\])*)/g,
  /\bdetail:\s*(['`])((?:(?!\1)[^$\\])*)/g,
  /\b(?:fail|upstreamFailure|refuse)\(\s*(['`])((?:(?!\1)[^$\\])*)/g,
  /\boutcome = \{ reason:\s*(['`])((?:(?!\1)[^$\\])*)/g,
];

function writtenReasons(): { file: string; text: string; template: boolean }[] {
  const found = [];
  for (const path of sources(SRC)) {
    const text = readFileSync(path, 'utf8');
    for (const re of WRITE_SITES) {
      for (const m of text.matchAll(re)) {
        const literal = m[2] ?? '';
        const closed = text[(m.index ?? 0) + m[0].length] === m[1];
        found.push({ file: relative(SRC, path), text: literal, template: m[1] === '`' && !closed });
      }
    }
  }
  return found;
}

describe('the reasons table', () => {
  it('gives every reason a code the broker has and a meaning', () => {
    for (const r of [...Object.values(REASONS), ...Object.values(FAMILIES)]) {
      expect(r.code === 'OK' || Object.hasOwn(ERROR_STATUS, r.code)).toBe(true);
      expect(r.meaning.length).toBeGreaterThan(10);
    }
    // A family's prefix ends where its variable part starts.
    for (const prefix of Object.keys(FAMILIES)) expect(prefix).toMatch(/[.:_]$/);
  });

  it('every reason written in broker/src is in the table', () => {
    const sites = writtenReasons();
    // The scan finds the write sites (a regex that matches nothing would pass anything).
    expect(sites.length).toBeGreaterThan(100);
    // Only what has the shape of a reason (`area.what`): the other results with a `detail` are not audit
    // reasons (an HTTP helper's, the JWKS download's, Cloudflare Access's, which admin/auth.ts prefixes
    // with `admin.access_`). A template that starts with a variable is held by its types alone.
    const unknown = sites.filter(({ text, template }) => {
      if (!/^[a-z_]+\./.test(text) && !/^(allowed|done|bug|unhandled|unfinished)$/.test(text)) return false;
      return template ? !isReasonFilter(text) : describeReason(text) === undefined;
    });
    expect(unknown).toEqual([]);
  });

  it('keeps the reasons that are written today, and families by longest prefix', () => {
    const cases: [string, string][] = [
      ['policy.no_allow_matched', 'ERR_ACCESS_DENIED'],
      ['policy.deny_matched', 'ERR_ACCESS_DENIED'],
      ['token.exp_expired', 'ERR_TOKEN_EXPIRED'],
      ['token.unknown_kid:github', 'ERR_TOKEN_INVALID'],
      ['token.ERR_JWT_INVALID', 'ERR_TOKEN_INVALID'],
      ['jwks.unavailable:gitlab', 'ERR_UNAVAILABLE'],
      ['aws.http_403:AccessDenied', 'ERR_UPSTREAM'],
      ['aws.secret_store_failed', 'ERR_UNAVAILABLE'],
      ['gcp.sts.malformed_response:json', 'ERR_UPSTREAM'],
      ['github.app_key_unavailable:github-app-1', 'ERR_UNAVAILABLE'],
      ['secret.not_found:DB_URL', 'ERR_UPSTREAM'],
      ['secret.store_failed:DB_URL', 'ERR_UNAVAILABLE'],
      ['secret.kek_unknown:A', 'ERR_INTERNAL'],
      ['mint.aws_failed:boom', 'ERR_UPSTREAM'],
      ['revoke.not_owner', 'OK'],
      ['admin.access_jwt_invalid', 'ERR_TOKEN_INVALID'],
    ];
    for (const [reason, code] of cases) expect([reason, describeReason(reason)?.code]).toEqual([reason, code]);
    // A prefix alone is not a member of its family, and nothing the broker never writes is described.
    expect(familyOf('aws.')).toBeUndefined();
    for (const r of ['policy.no_match', 'policy.denied', 'policy.allow_matched', 'aws', 'tokens.x', '']) {
      expect([r, describeReason(r)]).toEqual([r, undefined]);
    }
  });
});

describe('the reason filter of GET /v1/audit', () => {
  const parse = (reason: string) => parseAuditQuery(new URLSearchParams({ reason }), T0);

  it.each([
    'policy.',
    'policy.no_allow_matched',
    'policy.no_such',
    'ERR_ACCESS_DENIED',
    'OK',
    'token.',
    'aws.http_403',
    'aws.http_403:AccessDenied',
    'gcp.sts.timeout',
    'secret.not_found:DB_URL',
    'revoke.',
  ])('accepts a code, a reason or a prefix of one: %s', (reason) => {
    expect(parse(reason)).toMatchObject({ ok: true, query: { filters: { reason } } });
  });

  it.each(['policy.no_match', 'policy.denied', 'ERR_NOPE', 'err_access_denied', 'nonsense', 'awz', 'policy.x'])(
    'refuses a filter that can match no reason the broker writes: %s',
    (reason) => {
      expect(parse(reason)).toEqual({ ok: false, detail: 'audit_query.reason' });
    },
  );
});

describe('the admin page and docs/REASONS.md', () => {
  it('the reason filter placeholder is a reason the broker writes', () => {
    const placeholder = /id="f-reason" placeholder="([^"]*)"/.exec(renderAdminPage('n'))?.[1];
    expect(placeholder).toBeDefined();
    expect(Object.hasOwn(REASONS, placeholder!)).toBe(true);
  });

  it('docs/REASONS.md is a fresh render of the table (node scripts/gen-reasons-doc.ts)', () => {
    expect(readFileSync(REASONS_DOC_PATH, 'utf8')).toBe(renderReasonsDoc());
    for (const reason of [...Object.keys(REASONS), ...Object.keys(FAMILIES)]) {
      expect(renderReasonsDoc()).toContain(`\`${reason}\``);
    }
  });
});
