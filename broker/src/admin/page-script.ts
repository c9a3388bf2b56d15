// The review page's browser script (see page.ts). scripts/build-admin.ts bundles it into page-script.gen.ts,
// which page.ts inlines under the response's CSP nonce; nothing on the server runs this file. The data types
// are the server's own, imported as types only: a change to the /v1/audit response that the page does not
// follow is a type error here. Every value from a record is written with textContent, never as HTML: claims
// and user agents are caller-controlled text. The reasons table (audit/reasons.ts) is bundled in: a reason
// shows what it means as its tooltip.
import type { AuditItem, AuditSummary } from '../audit/query.ts';
import { describeReason } from '../audit/reasons.ts';
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

function showLogin(message: string): void {
  $('app').hidden = true;
  $('signout').hidden = true;
  $('chain').textContent = '';
  $('login').hidden = false;
  $('login-error').hidden = !message;
  $('login-error').textContent = message || '';
  $('token').focus();
}

function params(first: boolean): URLSearchParams {
  const p = new URLSearchParams();
  const f = {
    since: field('f-since').value,
    decision: field('f-decision').value,
    role: field('f-role').value.trim(),
    repository: field('f-repository').value.trim(),
    reason: field('f-reason').value.trim(),
    action: field('f-action').value,
  };
  for (const [k, v] of Object.entries(f)) if (v) p.set(k, v);
  p.set('limit', '50');
  if (first) p.set('summary', '1');
  else p.set('cursor', String(state.cursor));
  return p;
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
    const y = T + ih - ih * f;
    s.appendChild(svg('line', { x1: L, x2: W - 4, y1: y, y2: y, stroke: '#e3e7ec', 'stroke-width': 1 }));
    const lab = svg('text', { x: L - 6, y: y + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#5b6675' });
    lab.textContent = String(Math.round(max * f));
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
    tr.addEventListener('click', () => {
      field('f-reason').value = g.reason;
      field('f-decision').value = g.code === 'ERR_INTERNAL' || g.code === 'ERR_UNAVAILABLE' ? 'error' : 'deny';
      void load(true);
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
  tr.tabIndex = 0;
  tr.dataset.seq = String(item.seq);
  const decision = el('td');
  decision.appendChild(badge(r.decision));
  const reason = el('td', 'reason mono', r.reason);
  reason.title = reasonTitle(r.code, r.reason);
  const cells = [
    el('td', 'mono', fmtTime(r.time)),
    decision,
    el('td', '', r.action === 'exchange' ? r.role || '\u2014' : r.action.replace('_', ' ')),
    el('td', '', who(r)),
    el('td', 'mono', id.ref || '\u2014'),
    el('td', '', id.event_name || id.pipeline_source || '\u2014'),
    reason,
    el('td', 'mono', r.request_id),
  ];
  for (const c of cells) {
    if (!c.title) c.title = c.textContent ?? '';
    tr.appendChild(c);
  }
  const open = () => openDetail(item);
  tr.addEventListener('click', open);
  tr.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') open();
  });
  $('rows').appendChild(tr);
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
  head.appendChild(badge(r.decision));
  head.appendChild(document.createTextNode(` ${r.action === 'exchange' ? r.role || 'no role' : r.action.replace('_', ' ')}`));
  $('d-sub').textContent = `${fmtTime(r.time)} \u00b7 ${r.request_id}`;

  body.appendChild(el('h3', '', 'Decision'));
  body.appendChild(
    kv([
      ['Code', r.code],
      ['Reason', r.reason],
      ['Meaning', describeReason(r.reason)?.meaning],
      ['HTTP status', r.status],
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
  void load(true);
});
$('reset').addEventListener('click', () => {
  form('filters').reset();
  void load(true);
});
$('more').addEventListener('click', () => {
  void load(false);
});
$('d-close').addEventListener('click', () => dialog('detail').close());
$('detail').addEventListener('click', (e) => {
  if (e.target === $('detail')) dialog('detail').close();
});
if (token()) void load(true);
else showLogin('');
