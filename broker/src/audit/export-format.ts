// Exports of a filtered audit view (the review page's Export buttons; `audit report`'s tables): JSON lines
// and CSV. Browser-safe (the admin page bundles it). Record values are caller-controlled text (claims, user
// agents): in CSV a cell that a spreadsheet would read as a formula is defused with a leading apostrophe
// (OWASP "CSV injection"), and every cell is quoted so that commas, quotes and line breaks stay inside it.
import { identityName, workflowOf, type AuditItem } from './query.ts';
import { reviewDecision } from './reasons.ts';

/**
 * Characters that start a formula in Excel, LibreOffice or Google Sheets (= + - @), their full-width forms
 * (which some spreadsheets fold to ASCII), and tab / CR / LF, which some importers strip before looking.
 */
const FORMULA_START = /^[\s\u0000-\u001f\u00a0\u3000]*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r\n]/;

/** One CSV cell: defused, then quoted (RFC 4180: quotes doubled). */
export function csvCell(value: unknown): string {
  let text = value === undefined || value === null ? '' : typeof value === 'string' ? value : String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

export function csvRow(cells: readonly unknown[]): string {
  return cells.map(csvCell).join(',');
}

/** The CSV columns of a record: who, what, what was decided, what was handed out (never a value). */
export const CSV_COLUMNS = [
  'seq',
  'time',
  'action',
  'decision',
  'code',
  'reason',
  'role',
  'identity',
  'repository_id',
  'actor',
  'workflow',
  'environment',
  'ref',
  'sha',
  'event',
  'credential_types',
  'credential_targets',
  'issuer',
  'subject',
  'request_id',
  'client_ip',
  'user_agent',
  'token_sha256',
  'policy_hash',
  'hash',
] as const;

export function csvRecordCells(item: AuditItem): unknown[] {
  const r = item.record;
  const id = r.identity ?? {};
  const creds = r.credentials ?? [];
  return [
    item.seq,
    r.time,
    r.action,
    reviewDecision(r),
    r.code,
    r.reason,
    r.role,
    identityName(r),
    id.repository_id ?? id.project_id,
    id.actor ?? id.user_login,
    workflowOf(id),
    id.environment,
    id.ref,
    id.sha,
    id.event_name ?? id.pipeline_source,
    creds.map((c) => c.type).join(' '),
    creds.map((c) => c.target).join(' '),
    r.issuer,
    r.subject,
    r.request_id,
    r.client_ip,
    r.user_agent,
    r.token_sha256,
    r.policy_hash,
    item.hash,
  ];
}

/** CRLF line ends (RFC 4180), a header row first. */
export function toCsv(items: readonly AuditItem[]): string {
  const lines = [csvRow(CSV_COLUMNS), ...items.map((i) => csvRow(csvRecordCells(i)))];
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * One JSON object per line: { seq, hash, decision, record }, the record as stored. JSON.stringify escapes
 * CR and LF, so a value never starts a line of its own; U+2028/2029 are escaped too, for readers that
 * split on them.
 */
export function toJsonLines(items: readonly AuditItem[]): string {
  return items
    .map((i) =>
      JSON.stringify({ seq: i.seq, hash: i.hash, decision: reviewDecision(i.record), record: i.record }).replace(
        /[\u2028\u2029]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16)}`,
      ),
    )
    .map((l) => `${l}\n`)
    .join('');
}
