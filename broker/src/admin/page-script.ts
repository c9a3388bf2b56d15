// The review page's browser script (see page.ts). scripts/build-admin.ts bundles it into page-script.gen.ts,
// which page.ts inlines under the response's CSP nonce; nothing on the server runs this file. The data types
// are the server's own, imported as types only: a change to the /v1/audit response that the page does not
// follow is a type error here. Every value from a record is written with textContent, never as HTML: claims
// and user agents are caller-controlled text. The reasons table (audit/reasons.ts) is bundled in: a reason
// shows what it means as its tooltip. The filters live in the page's URL (?role=...&type=aws): a view can be
// shared, and the back button steps through the views. Exports are built here, from the same API pages, with
// the escaping of audit/export-format.ts (CSV cells that would be formulas are defused).
import { toCsv, toJsonLines } from '../audit/export-format.ts';
import type { AuditItem, AuditSummary, RoleUse, Tally } from '../audit/query.ts';
import { describeReason, reviewDecision } from '../audit/reasons.ts';
import type { AuditRecord } from '../audit/record.ts';
import type { ErrorCode } from '../errors.ts';
import type { AdminAuditResponse } from './routes.ts';

const KEY = 'secret-broker.admin-token';
const SVGNS = 'http://www.w3.org/2000/svg';
const state: { cursor: string | null; shown: number; total: number | null; busy: boolean } = {
  cursor: null,
  shown: 0,
  total: null,
  busy: false,
};

type Text = string | number | boolean | null | undefined;
type Field = HTMLInputElement | HTMLSelectElement;

function $(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} is missing from the page`);
  return e;
}
function field(id: string): Field {
  const e = $(id);
  if (!(e instanceof HTMLInputElement || e instanceof HTMLSelectElement)) throw new Error(`#${id} is not a form field`);
  return e;
}
function form(id: string): HTMLFormElement {
  const e = $(id);
  if (!(e instanceof HTMLFormElement)) throw new Error(`#${id} is not a form`);
  return e;
}
function dialog(id: string): HTMLDialogElement {
  const e = $(id);
  if (!(e instanceof HTMLDialogElement)) throw new Error(`#${id} is not a dialog`);
  return e;
}
function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: Text): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function svg(tag: string, attrs: Record<string, string | number>): Element {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}
function clear(e: Node): void {
  while (e.firstChild) e.removeChild(e.firstChild);
}
function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
function fmtTime(iso: string, withDate?: boolean): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const t = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withDate === false ? t : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${t}`;
}
function ago(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
function token(): string | null {
  return sessionStorage.getItem(KEY);
}
/** What a reason means, from the table; a reason the table does not know (an older broker's) says so. */
function reasonTitle(code: string, reason: string): string {
  const known = describeReason(reason);
  return `${code}: ${reason}\n${known ? known.meaning : 'Not a reason this broker writes.'}`;
}
function badge(decision: AuditRecord['decision']): HTMLSpanElement {
  return el('span', `badge ${decision}`, decision);
}
/** A table cell that names its column (the phone layout shows the name), with one child for its content. */
function cell(label: string, cls: string, content: Text | Node): HTMLTableCellElement {
  const td = el('td', cls);
  td.dataset.label = label;
  const inner = el('span');
  if (content instanceof Node) inner.appendChild(content);
  else inner.textContent = content === undefined || content === null || content === '' ? '\u2014' : String(content);
  td.appendChild(inner);
  td.title = inner.textContent ?? '';
  return td;
}
/** Enter and Space activate a focusable row, as they would a button. */
function activate(e: HTMLElement, run: () => void): void {
  e.tabIndex = 0;
  e.addEventListener('click', run);
  e.addEventListener('keydown', (k) => {
    if (k.key === 'Enter' || k.key === ' ') {
      k.preventDefault();
      run();
    }
  });
}

function showLogin(message: string): void {
  $('app').hidden = true;
  $('signout').hidden = true;
  $('chain').textContent = '';
  $('login').hidden = false;
  $('login-error').hidden = !message;
  $('login-error').textContent = message || '';
  $('token').focus();
}

/** The filter fields, by the query parameter each one sets (the API's and the page URL's names alike). */
const FILTERS = [
  ['since', 'f-since'],
  ['decision', 'f-decision'],
  ['type', 'f-type'],
  ['role', 'f-role'],
  ['repository', 'f-repository'],
  ['target', 'f-target'],
  ['actor', 'f-actor'],
  ['workflow', 'f-workflow'],
  ['environment', 'f-environment'],
  ['reason', 'f-reason'],
  ['action', 'f-action'],
] as const;
/** In the page URL, a select left on "everything" (value "") is written as this, so it is not the default. */
const ALL = 'all';

function filterParams(): URLSearchParams {
  const p = new URLSearchParams();
  for (const [name, id] of FILTERS) {
    const v = field(id).value.trim();
    if (v) p.set(name, v);
  }
  return p;
}

function params(first: boolean): URLSearchParams {
  const p = filterParams();
  p.set('limit', '50');
  if (first) p.set('summary', '1');
  else p.set('cursor', String(state.cursor));
  return p;
}

/** The view as a page URL: every filter set, and the selects whose default is not what is shown. */
function viewSearch(): string {
  const p = new URLSearchParams();
  for (const [name, id] of FILTERS) {
    const f = field(id);
    const v = f.value.trim();
    if (v) p.set(name, v);
    else if (f instanceof HTMLSelectElement && f.querySelector('option[selected]')?.getAttribute('value')) p.set(name, ALL);
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Fields from the page URL; a value a select does not offer falls back to the select's default. */
function readView(): void {
  form('filters').reset();
  const p = new URLSearchParams(location.search);
  for (const [name, id] of FILTERS) {
    const v = p.get(name);
    if (v === null) continue;
    const f = field(id);
    const want = f instanceof HTMLSelectElement && v === ALL ? '' : v;
    f.value = want;
    if (f.value !== want) {
      const d = f instanceof HTMLSelectElement ? f.querySelector('option[selected]')?.getAttribute('value') : '';
      f.value = d ?? '';
    }
  }
}

/** Applies the fields: a new history entry when the view changed, then the query. */
function apply(): void {
  const search = viewSearch();
  if (search !== location.search) history.pushState(null, '', `${location.pathname}${search}`);
  void load(true);
}

/** The body of a refused query: the broker's error body, or whatever a proxy in between answered. */
type RefusedBody = { error?: ErrorCode } | null;

async function load(first: boolean): Promise<void> {
  const t = token();
  if (!t) {
    showLogin('');
    return;
  }
  if (state.busy) return;
  state.busy = true;
  $('status').textContent = 'Loading\u2026';
  try {
    const res = await fetch(`/v1/audit?${params(first).toString()}`, { headers: { authorization: `Bearer ${t}` }, cache: 'no-store' });
    if (res.status === 401) {
      sessionStorage.removeItem(KEY);
      showLogin('The broker refused this token.');
      return;
    }
    const json: unknown = await res.json();
    if (!res.ok) {
      $('status').textContent = `Query refused: ${(json as RefusedBody)?.error || res.status}`;
      return;
    }
    show(json as AdminAuditResponse, first);
  } catch {
    $('status').textContent = 'The broker is unreachable.';
  } finally {
    state.busy = false;
  }
}

function show(body: AdminAuditResponse, first: boolean): void {
  $('login').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = false;
  if (first) {
    clear($('rows'));
    state.shown = 0;
    renderChain(body.head, body.checkpoint);
    if (body.summary) renderSummary(body.summary);
  }
  body.records.forEach(addRow);
  state.shown += body.records.length;
  state.cursor = body.next_cursor;
  $('more').hidden = !body.next_cursor;
  $('empty').hidden = state.shown > 0;
  $('shown').textContent = `${state.shown}${state.total !== null ? ` of ${state.total}` : ''} record${state.shown === 1 ? '' : 's'}`;
  $('status').textContent = '';
}

function renderChain(head: AdminAuditResponse['head'], cp: AdminAuditResponse['checkpoint']): void {
  const c = $('chain');
  clear(c);
  if (!head) {
    c.textContent = 'Audit log is empty';
    return;
  }
  c.appendChild(document.createTextNode('Chain head '));
  c.appendChild(el('b', '', `#${head.seq}`));
  c.appendChild(document.createTextNode(' \u00b7 '));
  if (cp) {
    c.appendChild(el('span', 'ok', `\u2713 signed checkpoint #${cp.seq}, ${ago(cp.time)}`));
    c.title = `hash ${cp.hash} \u00b7 key ${cp.kid}`;
  } else c.appendChild(el('span', 'warn', 'no signed checkpoint yet'));
}

function renderSummary(s: AuditSummary): void {
  state.total = s.total;
  $('n-total').textContent = `${s.total}${s.complete ? '' : '+'}`;
  $('n-allow').textContent = String(s.decisions.allow);
  $('n-deny').textContent = String(s.decisions.deny);
  $('n-error').textContent = String(s.decisions.error);
  renderChart(s.timeline);
  renderReasons(s.deny_reasons);
  renderRoles(s.roles, s.complete);
}

function tallyList(items: readonly Tally[], n = 3): HTMLUListElement {
  const ul = el('ul');
  for (const t of items.slice(0, n)) {
    const li = el('li');
    li.appendChild(el('span', 'mono', t.value));
    li.appendChild(el('span', 'n', `\u00d7${t.count}`));
    li.title = `${t.value}: ${t.count}`;
    ul.appendChild(li);
  }
  if (items.length > n) ul.appendChild(el('li', 'n', `+${items.length - n} more`));
  if (!items.length) ul.appendChild(el('li', 'n', '\u2014'));
  return ul;
}

function renderRoles(roles: readonly RoleUse[], complete: boolean): void {
  const body = $('roles');
  clear(body);
  $('roles-empty').hidden = roles.length > 0;
  $('roles-meta').textContent = roles.length
    ? `${roles.length} role${roles.length === 1 ? '' : 's'}${complete ? '' : ' (partial scan)'}`
    : '';
  for (const r of roles) {
    const tr = el('tr');
    const name = el('button', 'link mono', r.role);
    name.type = 'button';
    name.title = `Show the requests for ${r.role}`;
    name.addEventListener('click', () => {
      field('f-role').value = r.role;
      apply();
    });
    const counts = el('span', 'counts');
    counts.appendChild(el('span', '', `${r.total}`));
    counts.appendChild(el('span', 'a', `${r.allow} ok`));
    if (r.deny) counts.appendChild(el('span', 'd', `${r.deny} denied`));
    if (r.error) counts.appendChild(el('span', 'e', `${r.error} errors`));
    const last = r.last_allow ? `${fmtTime(r.last_allow)}` : 'never allowed';
    tr.appendChild(cell('Role', '', name));
    tr.appendChild(cell('Requests', '', counts));
    tr.appendChild(cell('Used by', '', tallyList(r.identities)));
    tr.appendChild(cell('Workflows', '', tallyList(r.workflows)));
    tr.appendChild(cell('Refs', '', tallyList(r.refs)));
    tr.appendChild(cell('Last use', 'mono', last));
    body.appendChild(tr);
  }
}

const BAR_COLOURS = [
  ['allow', '#1f8a4c'],
  ['deny', '#c9372c'],
  ['error', '#b7791f'],
] as const;

function renderChart(tl: AuditSummary['timeline']): void {
  const box = $('chart');
  clear(box);
  const W = 640;
  const H = 170;
  const L = 34;
  const B = 22;
  const T = 8;
  const n = tl.buckets.length || 1;
  let max = 1;
  for (const b of tl.buckets) max = Math.max(max, b.allow + b.deny + b.error);
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Allowed and denied requests over time' });
  const ih = H - B - T;
  const iw = W - L - 6;
  const step = iw / n;
  const bw = Math.max(1, step * 0.72);
  for (const f of [0, 0.5, 1]) {
    // Whole numbers only: a window of at most one request per bar has no middle line.
    if (!Number.isInteger(max * f)) continue;
    const y = T + ih - ih * f;
    s.appendChild(svg('line', { x1: L, x2: W - 4, y1: y, y2: y, stroke: '#e3e7ec', 'stroke-width': 1 }));
    const lab = svg('text', { x: L - 6, y: y + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#5b6675' });
    lab.textContent = String(max * f);
    s.appendChild(lab);
  }
  const withDate = tl.bucket_ms >= 86400000 || n * tl.bucket_ms > 86400000;
  tl.buckets.forEach((b, i) => {
    const x = L + i * step + (step - bw) / 2;
    let y = T + ih;
    const g = svg('g', {});
    const title = svg('title', {});
    title.textContent = `${fmtTime(b.start)}: ${b.allow} allowed, ${b.deny} denied, ${b.error} errors`;
    g.appendChild(title);
    for (const [decision, fill] of BAR_COLOURS) {
      const v = b[decision];
      if (!v) continue;
      const h = (ih * v) / max;
      y -= h;
      g.appendChild(svg('rect', { x, y, width: bw, height: h, fill, rx: 1.5 }));
    }
    s.appendChild(g);
    if (i === 0 || i === n - 1 || (n > 6 && i === Math.floor(n / 2))) {
      const d = new Date(b.start);
      const label = withDate
        ? `${pad(d.getMonth() + 1)}-${pad(d.getDate())}${tl.bucket_ms < 86400000 ? ` ${pad(d.getHours())}:${pad(d.getMinutes())}` : ''}`
        : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
      const t = svg('text', {
        x: x + bw / 2,
        y: H - 6,
        'text-anchor': i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle',
        'font-size': 10,
        fill: '#5b6675',
      });
      t.textContent = label;
      s.appendChild(t);
    }
  });
  box.appendChild(s);
}

function renderReasons(groups: AuditSummary['deny_reasons']): void {
  const box = $('reasons');
  clear(box);
  const [most] = groups;
  if (!most) {
    box.appendChild(el('div', 'empty', 'No refusals in this window.'));
    return;
  }
  const top = most.count;
  const table = el('table');
  for (const g of groups.slice(0, 8)) {
    const tr = el('tr');
    tr.title = 'Show these refusals';
    const c1 = el('td');
    c1.appendChild(el('span', 'code', g.code));
    c1.appendChild(document.createElement('br'));
    const label = el('span', 'mono', g.reason);
    label.title = reasonTitle(g.code, g.reason);
    c1.appendChild(label);
    const c2 = el('td', 'barcell');
    const bar = el('div', 'bar');
    bar.style.width = `${Math.max(2, Math.round((100 * g.count) / top))}%`;
    c2.appendChild(bar);
    tr.appendChild(c1);
    tr.appendChild(c2);
    tr.appendChild(el('td', 'count', g.count));
    activate(tr, () => {
      field('f-reason').value = g.reason;
      field('f-decision').value = reviewDecision({ decision: 'deny', code: g.code });
      apply();
    });
    table.appendChild(tr);
  }
  box.appendChild(table);
}

function who(r: AuditRecord): Text {
  const id = r.identity || {};
  return id.repository || id.project_path || r.subject || '\u2014';
}

function addRow(item: AuditItem): void {
  const r = item.record;
  const id = r.identity || {};
  const tr = el('tr');
  tr.dataset.seq = String(item.seq);
  const creds = (r.credentials || []).map((c) => `${c.type} ${c.target}`).join(', ');
  const reason = cell('Reason', 'reason mono', r.reason);
  reason.title = reasonTitle(r.code, r.reason);
  tr.appendChild(cell('Time', 'mono nowrap', fmtTime(r.time)));
  tr.appendChild(cell('Decision', 'nowrap', badge(reviewDecision(r))));
  tr.appendChild(cell('Role', '', r.action === 'exchange' ? r.role : r.action.replace('_', ' ')));
  tr.appendChild(cell('Repository', '', who(r)));
  tr.appendChild(cell('Workflow', 'mono', id.job_workflow_ref || id.workflow_ref || id.ci_config_ref_uri));
  tr.appendChild(cell('Environment', '', id.environment));
  tr.appendChild(cell('Actor', '', id.actor || id.user_login));
  tr.appendChild(cell('Credentials', 'mono', creds));
  tr.appendChild(reason);
  activate(tr, () => openDetail(item));
  $('rows').appendChild(tr);
}

/** Every record of the current view, page by page (the API's largest page), for an export. */
async function fetchAll(t: string): Promise<AuditItem[] | null> {
  const items: AuditItem[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 200; pages++) {
    const p = filterParams();
    p.set('limit', '500');
    if (cursor) p.set('cursor', cursor);
    const res = await fetch(`/v1/audit?${p.toString()}`, { headers: { authorization: `Bearer ${t}` }, cache: 'no-store' });
    if (!res.ok) return null;
    const body = (await res.json()) as AdminAuditResponse;
    items.push(...body.records);
    $('status').textContent = `Exporting\u2026 ${items.length} records`;
    cursor = body.next_cursor;
    if (!cursor) return items;
  }
  return items;
}

async function exportView(format: 'jsonl' | 'csv'): Promise<void> {
  const t = token();
  if (!t || state.busy) return;
  state.busy = true;
  try {
    const items = await fetchAll(t);
    if (!items) {
      $('status').textContent = 'Export refused by the broker.';
      return;
    }
    const text = format === 'csv' ? toCsv(items) : toJsonLines(items);
    const type = format === 'csv' ? 'text/csv;charset=utf-8' : 'application/x-ndjson';
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = el('a');
    a.href = url;
    a.download = `audit-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.${format}`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    $('status').textContent =
      `Exported ${items.length} record${items.length === 1 ? '' : 's'} as ${format === 'csv' ? 'CSV' : 'JSON lines'}.`;
  } catch {
    $('status').textContent = 'The broker is unreachable.';
  } finally {
    state.busy = false;
  }
}

type Pair = [label: string, value: Text | object];

function kv(pairs: Pair[]): HTMLDListElement {
  const dl = el('dl', 'kv');
  for (const [label, value] of pairs) {
    if (value === undefined || value === null || value === '') continue;
    dl.appendChild(el('dt', '', label));
    dl.appendChild(el('dd', '', typeof value === 'object' ? JSON.stringify(value) : value));
  }
  return dl;
}

function openDetail(item: AuditItem): void {
  const r = item.record;
  const body = $('d-body');
  clear(body);
  const head = $('d-title');
  clear(head);
  head.appendChild(badge(reviewDecision(r)));
  head.appendChild(document.createTextNode(` ${r.action === 'exchange' ? r.role || 'no role' : r.action.replace('_', ' ')}`));
  $('d-sub').textContent = `${fmtTime(r.time)} \u00b7 ${r.request_id}`;

  body.appendChild(el('h3', '', 'Decision'));
  body.appendChild(
    kv([
      ['Code', r.code],
      ['Reason', r.reason],
      ['Meaning', describeReason(r.reason)?.meaning],
      ['HTTP status', r.status],
      ['Recorded decision', reviewDecision(r) === r.decision ? null : r.decision],
      ['Upstream', r.upstream ? `${r.upstream.type}: ${r.upstream.code}` : null],
      ['Revoked request', r.target_request_id],
    ]),
  );

  body.appendChild(el('h3', '', 'Verified identity'));
  const idPairs: Pair[] = [
    ['issuer', r.issuer],
    ['sub', r.subject],
    ['jti', r.jti],
  ];
  const id = r.identity || {};
  for (const k of Object.keys(id).sort()) idPairs.push([k, String(id[k])]);
  if (!r.issuer && !r.subject && !Object.keys(id).length)
    body.appendChild(el('div', 'empty', 'The token was not verified: no claims are trusted for this request.'));
  else body.appendChild(kv(idPairs));

  if (r.action === 'exchange') {
    body.appendChild(el('h3', '', 'Policy trace'));
    const t = r.policy_trace;
    if (!t) body.appendChild(el('div', 'empty', 'The policy was not evaluated (refused before that step).'));
    else {
      const ul = el('ul', 'trace');
      const deniedBy = t.matched?.indexOf('deny') === 0;
      if (!t.matched) ul.appendChild(el('li', 'fail', 'no allow condition set matched'));
      else if (deniedBy) ul.appendChild(el('li', 'fail', `${t.matched} matched: a deny rule refused this identity`));
      else ul.appendChild(el('li', 'pass', `${t.matched} matched: every condition held`));
      // A deny condition that does not hold is good news; an allow condition that does not hold is why.
      for (const f of t.failed) {
        const isDeny = f.indexOf('deny') === 0;
        ul.appendChild(el('li', isDeny ? 'pass' : 'fail', f + (isDeny ? ': does not apply' : ': did not hold')));
      }
      body.appendChild(ul);
    }
  }

  body.appendChild(el('h3', '', 'Credentials'));
  if (!r.credentials?.length) body.appendChild(el('div', 'empty', 'None handed out.'));
  else {
    const table = el('table', 'creds');
    const hr = el('tr');
    for (const h of ['Type', 'Target', 'Expires']) hr.appendChild(el('th', '', h));
    table.appendChild(hr);
    for (const c of r.credentials) {
      const tr = el('tr');
      tr.appendChild(el('td', '', c.type));
      tr.appendChild(el('td', 'mono', c.target));
      tr.appendChild(el('td', 'mono', c.expires_at ? fmtTime(c.expires_at) : '\u2014'));
      table.appendChild(tr);
    }
    body.appendChild(table);
  }

  if (r.query) {
    body.appendChild(el('h3', '', 'Query'));
    body.appendChild(kv(Object.entries(r.query)));
  }

  body.appendChild(el('h3', '', 'Request'));
  body.appendChild(
    kv([
      ['Client IP', r.client_ip],
      ['User agent', r.user_agent],
      ['Token SHA-256', r.token_sha256],
      ['Policy hash', r.policy_hash],
      ['Chain seq', String(item.seq)],
      ['Record hash', item.hash],
    ]),
  );

  const raw = el('details', 'raw');
  raw.appendChild(el('summary', '', 'Raw record'));
  raw.appendChild(el('pre', '', JSON.stringify(r, null, 2)));
  body.appendChild(raw);
  dialog('detail').showModal();
}

form('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const v = field('token').value.trim();
  if (!v) return;
  sessionStorage.setItem(KEY, v);
  field('token').value = '';
  void load(true);
});
$('signout').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  showLogin('');
});
form('filters').addEventListener('submit', (e) => {
  e.preventDefault();
  apply();
});
$('f-reset').addEventListener('click', () => {
  form('filters').reset();
  apply();
});
$('export-jsonl').addEventListener('click', () => void exportView('jsonl'));
$('export-csv').addEventListener('click', () => void exportView('csv'));
// Back and forward: the URL is the view.
window.addEventListener('popstate', () => {
  readView();
  void load(true);
});
$('more').addEventListener('click', () => {
  void load(false);
});
$('d-close').addEventListener('click', () => dialog('detail').close());
$('detail').addEventListener('click', (e) => {
  if (e.target === $('detail')) dialog('detail').close();
});
readView();
if (token()) void load(true);
else showLogin('');
