// Reading the audit log for review (GET /v1/audit, the admin page, `audit list`): filters, newest-first
// cursor pages and a summary (decisions, deny reasons, a timeline). The store has no secondary indexes, so a
// query scans backwards from the cursor in pages, stops at `since`, and never scans more than a fixed budget
// per request: a partial page comes back with a cursor to continue from.
import type { AuditEntry, AuditStore } from '../store/ports.ts';
import { parseDuration } from '../util/duration.ts';
import { isReasonFilter, reviewDecision, type Reason } from './reasons.ts';
import { IDENTITY_KEYS } from './identity-keys.ts';
import type { AuditDecision, AuditRecord } from './record.ts';

export const ACTIONS = ['exchange', 'revoke', 'admin_query', 'audit_prune', 'alert', 'admin'] as const;
export const DECISIONS = ['allow', 'deny', 'error'] as const;
export const CREDENTIAL_TYPES = ['aws', 'azure', 'gcp', 'github', 'secret'] as const;
export type CredentialType = (typeof CREDENTIAL_TYPES)[number];

/**
 * Text filters (role, repository, target, actor, workflow, environment) match a value exactly, or as a glob
 * when they contain `*` (any run of characters, `/` included: this is search, not policy): `*prod*` is a
 * substring search, `deploy-*` a prefix. Case-sensitive, like the claims they are compared with.
 */
export interface AuditFilters {
  /** Epoch milliseconds, inclusive. */
  since?: number;
  /** Epoch milliseconds, inclusive. */
  until?: number;
  /** As review counts it (reasons.ts reviewDecision): upstream and store failures are errors. */
  decision?: AuditDecision;
  role?: string;
  /** A repository or project, by path (acme/web) or id. */
  repository?: string;
  /** A credential type handed out (aws, azure, gcp, github, secret). */
  type?: CredentialType;
  /** A credential target handed out (an AWS role ARN, tenant/client, service account, app/installation:repos, NAME@version). */
  target?: string;
  /** actor / user_login, or their ids. */
  actor?: string;
  /** job_workflow_ref, workflow_ref or ci_config_ref_uri. */
  workflow?: string;
  environment?: string;
  /** An error code (ERR_ACCESS_DENIED, OK) or a reason or its prefix (policy.no_allow_matched, policy.): see reasons.ts. */
  reason?: string;
  /**
   * One identity key exactly as the record stores it (a claim name such as `ref`, or a JSON Pointer such
   * as `/kubernetes.io/namespace`) and a text pattern for its value. Only keys an identity can hold
   * (record.ts IDENTITY_KEYS) match anything; the key is looked up as it is, never walked as a path.
   */
  claim?: { key: string; pattern: string };
  actions?: AuditRecord['action'][];
}

export interface AuditQueryRequest {
  filters: AuditFilters;
  /** Opaque to clients; the seq to continue below. */
  cursor?: number;
  limit: number;
  summary: boolean;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;
/** Records examined per request at most (filters are evaluated in memory). */
export const SCAN_BUDGET = 20_000;
const PAGE = 500;
/**
 * A record's time is when its request started; it is appended when the request ends. Scanning newest first,
 * a record this much older than `since` means nothing older can still match.
 */
const APPEND_SLACK_MS = 15 * 60_000;

const TEXT_FILTERS = ['role', 'repository', 'target', 'actor', 'workflow', 'environment'] as const;
const PARAMS = new Set(['since', 'until', 'decision', ...TEXT_FILTERS, 'type', 'reason', 'claim', 'action', 'cursor', 'limit', 'summary']);
const MAX_VALUE = 256;

export type ParsedQuery = { ok: true; query: AuditQueryRequest; echo: Record<string, string> } | { ok: false; detail: Reason };

/** "24h" / "7d" before now, or an ISO time. */
function parseTime(text: string, nowMs: number): number | undefined {
  const seconds = parseDuration(text);
  if (seconds !== undefined) return nowMs - seconds * 1000;
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * `KEY=PATTERN` (`/kubernetes.io/namespace=team-*`), split at the first `=` (no identity key holds one),
 * or undefined when KEY is not a key an audit identity can hold or PATTERN is empty: a filter that could
 * select nothing is a typo.
 */
export function parseClaimFilter(text: string): { key: string; pattern: string } | undefined {
  const at = text.indexOf('=');
  if (at <= 0) return undefined;
  const key = text.slice(0, at);
  const pattern = text.slice(at + 1);
  return IDENTITY_KEYS.has(key) && pattern !== '' ? { key, pattern } : undefined;
}

/** Strict: unknown parameters, repeated parameters and bad values are refused, never ignored. */
export function parseAuditQuery(params: URLSearchParams, nowMs: number): ParsedQuery {
  const echo: Record<string, string> = {};
  for (const [name, value] of params) {
    if (!PARAMS.has(name)) return { ok: false, detail: 'audit_query.unknown_parameter' };
    if (Object.hasOwn(echo, name)) return { ok: false, detail: 'audit_query.repeated_parameter' };
    if (value.length > MAX_VALUE) return { ok: false, detail: 'audit_query.value_too_long' };
    echo[name] = value;
  }
  const filters: AuditFilters = {};
  for (const name of ['since', 'until'] as const) {
    const v = echo[name];
    if (v === undefined || v === '') continue;
    const t = parseTime(v, nowMs);
    if (t === undefined) return { ok: false, detail: `audit_query.${name}` };
    filters[name] = t;
  }
  if (echo.decision) {
    if (!(DECISIONS as readonly string[]).includes(echo.decision)) return { ok: false, detail: 'audit_query.decision' };
    filters.decision = echo.decision as AuditDecision;
  }
  if (echo.action) {
    const actions = echo.action.split(',');
    if (!actions.every((a) => (ACTIONS as readonly string[]).includes(a))) return { ok: false, detail: 'audit_query.action' };
    filters.actions = actions as AuditRecord['action'][];
  }
  for (const name of TEXT_FILTERS) {
    const v = echo[name];
    if (v) filters[name] = v;
  }
  if (echo.type) {
    if (!(CREDENTIAL_TYPES as readonly string[]).includes(echo.type)) return { ok: false, detail: 'audit_query.type' };
    filters.type = echo.type as CredentialType;
  }
  if (echo.reason) {
    // A filter that can select nothing is a typo (or a reason this broker never writes): say so.
    if (!isReasonFilter(echo.reason)) return { ok: false, detail: 'audit_query.reason' };
    filters.reason = echo.reason;
  }
  if (echo.claim) {
    const claim = parseClaimFilter(echo.claim);
    if (!claim) return { ok: false, detail: 'audit_query.claim' };
    filters.claim = claim;
  }
  let cursor: number | undefined;
  if (echo.cursor) {
    if (!/^[1-9]\d{0,15}$/.test(echo.cursor)) return { ok: false, detail: 'audit_query.cursor' };
    cursor = Number(echo.cursor);
  }
  let limit = DEFAULT_LIMIT;
  if (echo.limit) {
    if (!/^\d{1,4}$/.test(echo.limit) || Number(echo.limit) < 1 || Number(echo.limit) > MAX_LIMIT)
      return { ok: false, detail: 'audit_query.limit' };
    limit = Number(echo.limit);
  }
  const summary = echo.summary === '1' || echo.summary === 'true';
  if (echo.summary !== undefined && !summary && echo.summary !== '0' && echo.summary !== 'false')
    return { ok: false, detail: 'audit_query.summary' };
  return { ok: true, query: { filters, ...(cursor !== undefined ? { cursor } : {}), limit, summary }, echo };
}

/**
 * Exact, or a glob when the pattern has `*`. Matched by the classic two-pointer walk (back to the last `*` on a
 * mismatch): O(text x pattern) at worst, where a regex of many `*` would backtrack exponentially on a hostile
 * pattern (a query value is up to 256 characters, and is tested on every scanned record).
 */
export function textMatches(value: unknown, pattern: string): boolean {
  if (value === undefined || value === null) return false;
  const text = String(value);
  if (!pattern.includes('*')) return text === pattern;
  let t = 0;
  let p = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

function anyMatches(identity: AuditRecord['identity'], keys: readonly string[], wanted: string): boolean {
  return keys.some((k) => Object.hasOwn(identity, k) && textMatches(identity[k], wanted));
}

const REPOSITORY_KEYS = ['repository', 'project_path', 'repository_id', 'project_id'];
const ACTOR_KEYS = ['actor', 'user_login', 'actor_id', 'user_id'];
const WORKFLOW_KEYS = ['job_workflow_ref', 'workflow_ref', 'ci_config_ref_uri'];

/** The workflow that ran: the reusable callee when there is one (job_workflow_ref), else the caller. */
export function workflowOf(identity: AuditRecord['identity']): string | null {
  for (const k of WORKFLOW_KEYS) {
    const v = Object.hasOwn(identity, k) ? identity[k] : undefined;
    if (typeof v === 'string' && v) return v;
  }
  return null;
}

export function matchesFilters(record: AuditRecord, f: AuditFilters): boolean {
  const t = Date.parse(record.time);
  const id = record.identity ?? {};
  const creds = record.credentials ?? [];
  if (f.since !== undefined && !(t >= f.since)) return false;
  if (f.until !== undefined && !(t <= f.until)) return false;
  if (f.decision !== undefined && reviewDecision(record) !== f.decision) return false;
  if (f.actions !== undefined && !f.actions.includes(record.action)) return false;
  if (f.role !== undefined && !textMatches(record.role, f.role)) return false;
  if (f.repository !== undefined && !anyMatches(id, REPOSITORY_KEYS, f.repository)) return false;
  if (f.actor !== undefined && !anyMatches(id, ACTOR_KEYS, f.actor)) return false;
  if (f.workflow !== undefined && !anyMatches(id, WORKFLOW_KEYS, f.workflow)) return false;
  if (f.environment !== undefined && !anyMatches(id, ['environment'], f.environment)) return false;
  // The key set is checked here too: a filter built in code must not reach a key no identity holds either.
  if (f.claim !== undefined && !(IDENTITY_KEYS.has(f.claim.key) && anyMatches(id, [f.claim.key], f.claim.pattern))) return false;
  if (f.type !== undefined && !creds.some((c) => c.type === f.type)) return false;
  if (f.target !== undefined && !creds.some((c) => textMatches(c.target, f.target!))) return false;
  if (f.reason !== undefined && record.code !== f.reason && !String(record.reason).startsWith(f.reason)) return false;
  return true;
}

export interface AuditItem {
  seq: number;
  hash: string;
  record: AuditRecord;
}

export interface AuditSummary {
  /** Records counted (matching the filters, over the whole window when `complete`). */
  total: number;
  complete: boolean;
  decisions: Record<AuditDecision, number>;
  /** Refusals grouped by code and reason, most frequent first. */
  deny_reasons: { code: string; reason: string; count: number }[];
  timeline: { bucket_ms: number; buckets: { start: string; allow: number; deny: number; error: number }[] };
  /** The per-role view: who used each role, how often, from which refs and workflows, and when last. */
  roles: RoleUse[];
}

export interface Tally {
  value: string;
  count: number;
}

export interface RoleUse {
  role: string;
  total: number;
  allow: number;
  deny: number;
  error: number;
  first: string;
  last: string;
  /** The last allowed exchange: the role's last use. */
  last_allow: string | null;
  /** Repositories or projects (else subjects), most frequent first; the same for the rest. */
  identities: Tally[];
  workflows: Tally[];
  refs: Tally[];
  environments: Tally[];
  /** `type target` of what was handed out. */
  credentials: Tally[];
}

const ROLES_MAX = 100;
const TALLY_MAX = 10;

export interface AuditPage {
  records: AuditItem[];
  /** Pass back as `cursor` for the next (older) page; null when the scan reached the end. */
  next_cursor: string | null;
  /** Records examined for this page. */
  scanned: number;
  summary?: AuditSummary;
}

const BUCKETS = [60_000, 5 * 60_000, 15 * 60_000, 3_600_000, 3 * 3_600_000, 6 * 3_600_000, 12 * 3_600_000, 86_400_000, 7 * 86_400_000];

/** A bucket size that draws the window in at most ~48 bars. */
export function bucketFor(spanMs: number): number {
  return BUCKETS.find((b) => spanMs / b <= 48) ?? BUCKETS.at(-1)!;
}

function parse(entry: AuditEntry): AuditRecord | null {
  try {
    return JSON.parse(entry.record) as AuditRecord;
  } catch {
    return null;
  }
}

/** One newest-first page for `q`, and on request the summary of everything in the window that matches. */
export async function queryAudit(store: AuditStore, q: AuditQueryRequest, nowMs: number): Promise<AuditPage> {
  const f = q.filters;
  const records: AuditItem[] = [];
  const summaryRecords: AuditRecord[] = [];
  let scanned = 0;
  let before = q.cursor;
  let nextCursor: number | null = null;
  let exhausted = false;
  let pageFull = false;
  scan: for (;;) {
    const batch = await store.list({ ...(before !== undefined ? { beforeSeq: before } : {}), limit: PAGE, descending: true });
    if (batch.length === 0) {
      exhausted = true;
      break;
    }
    for (const entry of batch) {
      if (scanned >= SCAN_BUDGET) break scan;
      scanned++;
      before = entry.seq;
      const record = parse(entry);
      if (!record) continue;
      if (f.since !== undefined && Date.parse(record.time) < f.since - APPEND_SLACK_MS) {
        exhausted = true;
        break scan;
      }
      if (!matchesFilters(record, f)) continue;
      if (!pageFull) {
        records.push({ seq: entry.seq, hash: entry.hash, record });
        if (records.length === q.limit) {
          pageFull = true;
          nextCursor = entry.seq;
          if (!q.summary) break scan;
        }
      } else if (!q.summary) break scan;
      if (q.summary) summaryRecords.push(record);
    }
  }
  // A page cut short by the scan budget continues where the scan stopped.
  if (!pageFull && !exhausted && before !== undefined) nextCursor = before;
  // A full page with nothing after it: no cursor (known only when the scan went on for the summary).
  if (pageFull && q.summary && exhausted && summaryRecords.length === records.length) nextCursor = null;
  const page: AuditPage = { records, next_cursor: nextCursor === null ? null : String(nextCursor), scanned };
  if (q.summary) page.summary = summarise(summaryRecords, exhausted, f, nowMs);
  return page;
}

/** Who a record speaks for: its repository or project, else its subject. */
export function identityName(r: AuditRecord): string | null {
  const id = r.identity ?? {};
  const v = id.repository ?? id.project_path ?? r.subject;
  return v === undefined || v === null || v === '' ? null : String(v);
}

type Counter = Map<string, number>;
const bump = (m: Counter, v: unknown) => {
  if (v === undefined || v === null || v === '') return;
  const k = String(v);
  m.set(k, (m.get(k) ?? 0) + 1);
};
const top = (m: Counter, n = TALLY_MAX): Tally[] =>
  [...m]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1))
    .slice(0, n);

/** Newest first in, so the first record seen of a role is its last. */
export function summariseRoles(records: readonly AuditRecord[], max = ROLES_MAX): RoleUse[] {
  const roles = new Map<string, { use: RoleUse; ids: Counter; wf: Counter; refs: Counter; envs: Counter; creds: Counter }>();
  for (const r of records) {
    if (r.action !== 'exchange' || !r.role) continue;
    let g = roles.get(r.role);
    if (!g) {
      g = {
        use: {
          role: r.role,
          total: 0,
          allow: 0,
          deny: 0,
          error: 0,
          first: r.time,
          last: r.time,
          last_allow: null,
          identities: [],
          workflows: [],
          refs: [],
          environments: [],
          credentials: [],
        },
        ids: new Map(),
        wf: new Map(),
        refs: new Map(),
        envs: new Map(),
        creds: new Map(),
      };
      roles.set(r.role, g);
    }
    const u = g.use;
    const d = reviewDecision(r);
    u.total++;
    u[d]++;
    if (r.time < u.first) u.first = r.time;
    if (r.time > u.last) u.last = r.time;
    if (d === 'allow' && (u.last_allow === null || r.time > u.last_allow)) u.last_allow = r.time;
    const id = r.identity ?? {};
    bump(g.ids, identityName(r));
    bump(g.wf, workflowOf(id));
    bump(g.refs, id.ref);
    bump(g.envs, id.environment);
    for (const c of r.credentials ?? []) bump(g.creds, `${c.type} ${c.target}`);
  }
  return [...roles.values()]
    .map((g) => ({
      ...g.use,
      identities: top(g.ids),
      workflows: top(g.wf),
      refs: top(g.refs),
      environments: top(g.envs),
      credentials: top(g.creds),
    }))
    .sort((a, b) => b.total - a.total || (a.role < b.role ? -1 : 1))
    .slice(0, max);
}

function summarise(records: readonly AuditRecord[], complete: boolean, f: AuditFilters, nowMs: number): AuditSummary {
  const decisions: Record<AuditDecision, number> = { allow: 0, deny: 0, error: 0 };
  const reasons = new Map<string, { code: string; reason: string; count: number }>();
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const r of records) {
    decisions[reviewDecision(r)]++;
    if (r.decision !== 'allow') {
      const key = `${r.code}\u0000${r.reason}`;
      const group = reasons.get(key) ?? { code: r.code, reason: r.reason, count: 0 };
      group.count++;
      reasons.set(key, group);
    }
    const t = Date.parse(r.time);
    if (Number.isFinite(t)) {
      lo = Math.min(lo, t);
      hi = Math.max(hi, t);
    }
  }
  const from = f.since ?? (Number.isFinite(lo) ? lo : nowMs);
  const to = f.until ?? Math.max(nowMs, Number.isFinite(hi) ? hi : nowMs);
  const bucket = bucketFor(Math.max(1, to - from));
  const first = Math.floor(from / bucket) * bucket;
  const count = Math.min(500, Math.floor((to - first) / bucket) + 1);
  const buckets = Array.from({ length: count }, (_, i) => ({
    start: new Date(first + i * bucket).toISOString(),
    allow: 0,
    deny: 0,
    error: 0,
  }));
  for (const r of records) {
    const i = Math.floor((Date.parse(r.time) - first) / bucket);
    const b = buckets[i];
    if (b) b[reviewDecision(r)]++;
  }
  return {
    total: records.length,
    complete,
    decisions,
    deny_reasons: [...reasons.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)).slice(0, 50),
    timeline: { bucket_ms: bucket, buckets },
    roles: summariseRoles(records),
  };
}
