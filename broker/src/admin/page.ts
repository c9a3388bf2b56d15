// The audit review page: one HTML document with inline CSS and JS (no build step, no external assets),
// allowed by a per-response CSP nonce. It asks for the admin token, keeps it in sessionStorage (this tab
// only, gone when the tab closes) and sends it as a bearer header to /v1/audit. Every value from a record
// is written with textContent: claims and user agents are caller-controlled text.

const STYLE = String.raw`
:root { --bg:#f6f7f9; --card:#fff; --ink:#1c2430; --muted:#5b6675; --line:#e3e7ec; --accent:#2f5bd3;
  --allow:#1f8a4c; --allow-bg:#e5f5ec; --deny:#c9372c; --deny-bg:#fdeceb; --error:#b7791f; --error-bg:#fdf3e1;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
* { box-sizing: border-box; }
body { margin: 0; }
header { background: #17202c; color: #fff; padding: 10px 24px; display: flex; align-items: center; gap: 16px; }
header h1 { font-size: 16px; margin: 0; font-weight: 600; letter-spacing: .2px; }
header h1 span { color: #9fb3d1; font-weight: 400; }
header .chain { margin-left: auto; font-size: 12px; color: #c9d4e3; }
header .chain b { color: #fff; font-weight: 600; }
header .chain .ok { color: #7ee2a8; }
header .chain .warn { color: #ffd28a; }
header button { background: transparent; color: #c9d4e3; border: 1px solid #3a4656; }
main { max-width: 1280px; margin: 0 auto; padding: 18px 24px 40px; }
button { font: inherit; border-radius: 6px; border: 1px solid var(--line); background: #fff; padding: 5px 12px; cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button:focus-visible, input:focus-visible, select:focus-visible, tr:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
input, select { font: inherit; padding: 5px 8px; border: 1px solid #cfd6de; border-radius: 6px; background: #fff; color: inherit; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
#login { max-width: 420px; margin: 80px auto; }
#login h2 { margin: 0 0 6px; font-size: 18px; }
#login p { color: var(--muted); margin: 0 0 14px; }
#login .row { display: flex; gap: 8px; }
#login input { flex: 1; }
#login .err { color: var(--deny); margin-top: 10px; }
form#filters { display: flex; flex-wrap: wrap; gap: 10px 14px; align-items: end; margin-bottom: 14px; }
form#filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 3px; }
form#filters input { width: 170px; }
form#filters .actions { display: flex; gap: 8px; }
.grid { display: grid; grid-template-columns: repeat(4, 1fr) ; gap: 12px; margin-bottom: 12px; }
.stat .n { font-size: 26px; font-weight: 650; }
.stat .l { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .5px; }
.stat.allow .n { color: var(--allow); } .stat.deny .n { color: var(--deny); } .stat.error .n { color: var(--error); }
.split { display: grid; grid-template-columns: 3fr 2fr; gap: 12px; margin-bottom: 12px; }
h2.section { font-size: 13px; margin: 0 0 8px; color: var(--muted); text-transform: uppercase; letter-spacing: .5px; font-weight: 600; }
#chart svg { width: 100%; height: auto; display: block; }
.legend { display: flex; gap: 14px; font-size: 12px; color: var(--muted); margin-top: 4px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.legend .a { background: var(--allow); } .legend .d { background: var(--deny); } .legend .e { background: var(--error); }
#reasons table { width: 100%; border-collapse: collapse; }
#reasons td { padding: 5px 4px; border-top: 1px solid var(--line); vertical-align: middle; }
#reasons tr { cursor: pointer; }
#reasons tr:hover td { background: #f3f6fb; }
#reasons .bar { height: 6px; background: var(--deny); border-radius: 3px; opacity: .75; min-width: 2px; }
#reasons .count { text-align: right; font-variant-numeric: tabular-nums; width: 44px; font-weight: 600; }
#reasons .barcell { width: 30%; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.empty { color: var(--muted); padding: 8px 0; }
.tablecard { padding: 0; overflow: hidden; }
.tablehead { display: flex; align-items: center; padding: 12px 16px 8px; }
.tablehead .meta { margin-left: auto; color: var(--muted); font-size: 12px; }
table.records { width: 100%; border-collapse: collapse; table-layout: fixed; }
col.c-time { width: 170px; } col.c-decision { width: 76px; } col.c-role { width: 156px; } col.c-repo { width: 140px; }
col.c-ref { width: 172px; } col.c-event { width: 144px; } col.c-request { width: 120px; }
table.records th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 600; padding: 8px 10px; background: #fafbfc; border-top: 1px solid var(--line); border-bottom: 1px solid var(--line); }
table.records td { padding: 8px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
table.records tbody tr { cursor: pointer; }
table.records tbody tr:hover td { background: #f3f6fb; }
table.records td.reason { color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.badge.allow { color: var(--allow); background: var(--allow-bg); }
.badge.deny { color: var(--deny); background: var(--deny-bg); }
.badge.error { color: var(--error); background: var(--error-bg); }
.code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 11.5px; background: #eef1f5; border-radius: 4px; padding: 1px 5px; color: #334155; }
#morebar { padding: 12px 16px; display: flex; gap: 12px; align-items: center; }
#status { color: var(--muted); font-size: 12px; }
dialog { border: none; border-radius: 12px; padding: 0; width: min(820px, 94vw); max-height: 90vh; box-shadow: 0 20px 60px rgba(15,23,42,.35); }
dialog::backdrop { background: rgba(15,23,42,.45); }
dialog .dhead { display: flex; align-items: center; gap: 10px; padding: 14px 18px; border-bottom: 1px solid var(--line); position: sticky; top: 0; background: #fff; }
dialog .dhead h2 { margin: 0; font-size: 16px; }
dialog .dhead .sub { color: var(--muted); font-size: 12px; }
dialog .dhead button { margin-left: auto; }
dialog .dbody { padding: 6px 18px 18px; }
dialog h3 { font-size: 12px; text-transform: uppercase; letter-spacing: .5px; color: var(--muted); margin: 16px 0 6px; }
dl.kv { display: grid; grid-template-columns: 190px 1fr; margin: 0; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
dl.kv dt, dl.kv dd { margin: 0; padding: 5px 10px; border-bottom: 1px solid var(--line); }
dl.kv dt { color: var(--muted); background: #fafbfc; font-size: 12.5px; }
dl.kv dd { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
dl.kv dt:nth-last-of-type(1), dl.kv dd:nth-last-of-type(1) { border-bottom: none; }
ul.trace { list-style: none; padding: 0; margin: 0; }
ul.trace li { padding: 3px 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
ul.trace li.pass::before { content: "\2713  "; color: var(--allow); font-weight: 700; }
ul.trace li.fail::before { content: "\2717  "; color: var(--deny); font-weight: 700; }
table.creds { width: 100%; border-collapse: collapse; border: 1px solid var(--line); border-radius: 8px; }
table.creds th, table.creds td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); font-size: 12.5px; }
table.creds th { color: var(--muted); background: #fafbfc; font-weight: 600; }
details.raw summary { cursor: pointer; color: var(--muted); margin-top: 14px; }
details.raw pre { background: #0f1722; color: #d7e1ee; padding: 12px; border-radius: 8px; overflow: auto; font-size: 12px; }
[hidden] { display: none !important; }
@media (max-width: 900px) { .grid { grid-template-columns: repeat(2, 1fr); } .split { grid-template-columns: 1fr; } }
`;

const SCRIPT = String.raw`
(function () {
  'use strict';
  var KEY = 'secret-broker.admin-token';
  var SVGNS = 'http://www.w3.org/2000/svg';
  var state = { cursor: null, shown: 0, total: null, busy: false };
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function fmtTime(iso, withDate) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    var t = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    return withDate === false ? t : d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + t;
  }
  function ago(iso) {
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 90) return s + ' s ago';
    if (s < 5400) return Math.round(s / 60) + ' min ago';
    if (s < 129600) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' d ago';
  }
  function token() { return sessionStorage.getItem(KEY); }
  function badge(decision) { return el('span', 'badge ' + decision, decision); }

  function showLogin(message) {
    $('app').hidden = true; $('signout').hidden = true; $('chain').textContent = '';
    $('login').hidden = false;
    $('login-error').hidden = !message; $('login-error').textContent = message || '';
    $('token').focus();
  }

  function params(first) {
    var p = new URLSearchParams();
    var f = { since: $('f-since').value, decision: $('f-decision').value, role: $('f-role').value.trim(),
      repository: $('f-repository').value.trim(), reason: $('f-reason').value.trim(), action: $('f-action').value };
    for (var k in f) if (f[k]) p.set(k, f[k]);
    p.set('limit', '50');
    if (first) p.set('summary', '1'); else p.set('cursor', state.cursor);
    return p;
  }

  function load(first) {
    var t = token();
    if (!t) { showLogin(''); return Promise.resolve(); }
    if (state.busy) return Promise.resolve();
    state.busy = true;
    $('status').textContent = 'Loading\u2026';
    return fetch('/v1/audit?' + params(first).toString(), { headers: { authorization: 'Bearer ' + t }, cache: 'no-store' })
      .then(function (res) {
        if (res.status === 401) { sessionStorage.removeItem(KEY); showLogin('The broker refused this token.'); return null; }
        return res.json().then(function (body) {
          if (!res.ok) { $('status').textContent = 'Query refused: ' + (body && body.error || res.status); return null; }
          return body;
        });
      })
      .then(function (body) {
        if (!body) return;
        $('login').hidden = true; $('app').hidden = false; $('signout').hidden = false;
        if (first) {
          clear($('rows')); state.shown = 0;
          renderChain(body.head, body.checkpoint);
          if (body.summary) renderSummary(body.summary);
        }
        body.records.forEach(addRow);
        state.shown += body.records.length;
        state.cursor = body.next_cursor;
        $('more').hidden = !body.next_cursor;
        $('empty').hidden = state.shown > 0;
        $('shown').textContent = state.shown + (state.total !== null ? ' of ' + state.total : '') + ' record' + (state.shown === 1 ? '' : 's');
        $('status').textContent = '';
      })
      .catch(function () { $('status').textContent = 'The broker is unreachable.'; })
      .then(function () { state.busy = false; });
  }

  function renderChain(head, cp) {
    var c = $('chain'); clear(c);
    if (!head) { c.textContent = 'Audit log is empty'; return; }
    c.appendChild(document.createTextNode('Chain head '));
    c.appendChild(el('b', '', '#' + head.seq));
    c.appendChild(document.createTextNode(' \u00b7 '));
    if (cp) {
      c.appendChild(el('span', 'ok', '\u2713 signed checkpoint #' + cp.seq + ', ' + ago(cp.time)));
      c.title = 'hash ' + cp.hash + ' \u00b7 key ' + cp.kid;
    } else c.appendChild(el('span', 'warn', 'no signed checkpoint yet'));
  }

  function renderSummary(s) {
    state.total = s.total;
    $('n-total').textContent = s.total + (s.complete ? '' : '+');
    $('n-allow').textContent = s.decisions.allow;
    $('n-deny').textContent = s.decisions.deny;
    $('n-error').textContent = s.decisions.error;
    renderChart(s.timeline);
    renderReasons(s.deny_reasons);
  }

  function renderChart(tl) {
    var box = $('chart'); clear(box);
    var W = 640, H = 170, L = 34, B = 22, T = 8;
    var n = tl.buckets.length || 1;
    var max = 1;
    tl.buckets.forEach(function (b) { max = Math.max(max, b.allow + b.deny + b.error); });
    var s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'Allowed and denied requests over time' });
    var ih = H - B - T, iw = W - L - 6, step = iw / n, bw = Math.max(1, step * 0.72);
    [0, 0.5, 1].forEach(function (f) {
      var y = T + ih - ih * f;
      s.appendChild(svg('line', { x1: L, x2: W - 4, y1: y, y2: y, stroke: '#e3e7ec', 'stroke-width': 1 }));
      var lab = svg('text', { x: L - 6, y: y + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#5b6675' });
      lab.textContent = String(Math.round(max * f));
      s.appendChild(lab);
    });
    var withDate = tl.bucket_ms >= 86400000 || n * tl.bucket_ms > 86400000;
    tl.buckets.forEach(function (b, i) {
      var x = L + i * step + (step - bw) / 2, y = T + ih;
      var g = svg('g', {});
      var title = svg('title', {});
      title.textContent = fmtTime(b.start) + ': ' + b.allow + ' allowed, ' + b.deny + ' denied, ' + b.error + ' errors';
      g.appendChild(title);
      [['allow', '#1f8a4c'], ['deny', '#c9372c'], ['error', '#b7791f']].forEach(function (p) {
        var v = b[p[0]]; if (!v) return;
        var h = ih * v / max; y -= h;
        g.appendChild(svg('rect', { x: x, y: y, width: bw, height: h, fill: p[1], rx: 1.5 }));
      });
      s.appendChild(g);
      if (i === 0 || i === n - 1 || (n > 6 && i === Math.floor(n / 2))) {
        var d = new Date(b.start);
        var label = withDate ? (pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + (tl.bucket_ms < 86400000 ? ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes()) : ''))
          : pad(d.getHours()) + ':' + pad(d.getMinutes());
        var t = svg('text', { x: x + bw / 2, y: H - 6, 'text-anchor': i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle', 'font-size': 10, fill: '#5b6675' });
        t.textContent = label;
        s.appendChild(t);
      }
    });
    box.appendChild(s);
  }

  function renderReasons(groups) {
    var box = $('reasons'); clear(box);
    if (!groups.length) { box.appendChild(el('div', 'empty', 'No refusals in this window.')); return; }
    var top = groups[0].count, table = el('table');
    groups.slice(0, 8).forEach(function (g) {
      var tr = el('tr');
      tr.title = 'Show these refusals';
      var c1 = el('td'); c1.appendChild(el('span', 'code', g.code));
      c1.appendChild(document.createElement('br'));
      c1.appendChild(el('span', 'mono', g.reason));
      var c2 = el('td', 'barcell'); var bar = el('div', 'bar'); bar.style.width = Math.max(2, Math.round(100 * g.count / top)) + '%'; c2.appendChild(bar);
      tr.appendChild(c1); tr.appendChild(c2); tr.appendChild(el('td', 'count', g.count));
      tr.addEventListener('click', function () { $('f-reason').value = g.reason; $('f-decision').value = g.code === 'ERR_INTERNAL' || g.code === 'ERR_UNAVAILABLE' ? 'error' : 'deny'; load(true); });
      table.appendChild(tr);
    });
    box.appendChild(table);
  }

  function who(r) {
    var id = r.identity || {};
    return id.repository || id.project_path || r.subject || '\u2014';
  }

  function addRow(item) {
    var r = item.record, id = r.identity || {};
    var tr = el('tr');
    tr.tabIndex = 0;
    tr.dataset.seq = item.seq;
    var cells = [
      el('td', 'mono', fmtTime(r.time)),
      (function () { var td = el('td'); td.appendChild(badge(r.decision)); return td; })(),
      el('td', '', r.action === 'exchange' ? (r.role || '\u2014') : r.action.replace('_', ' ')),
      el('td', '', who(r)),
      el('td', 'mono', id.ref || '\u2014'),
      el('td', '', id.event_name || id.pipeline_source || '\u2014'),
      (function () { var td = el('td', 'reason mono', r.reason); td.title = r.code + ': ' + r.reason; return td; })(),
      el('td', 'mono', r.request_id),
    ];
    cells.forEach(function (c) { if (!c.title) c.title = c.textContent; tr.appendChild(c); });
    function open() { openDetail(item); }
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', function (e) { if (e.key === 'Enter') open(); });
    $('rows').appendChild(tr);
  }

  function kv(pairs) {
    var dl = el('dl', 'kv');
    pairs.forEach(function (p) {
      if (p[1] === undefined || p[1] === null || p[1] === '') return;
      dl.appendChild(el('dt', '', p[0]));
      dl.appendChild(el('dd', '', typeof p[1] === 'object' ? JSON.stringify(p[1]) : p[1]));
    });
    return dl;
  }

  function openDetail(item) {
    var r = item.record, body = $('d-body');
    clear(body);
    var head = $('d-title'); clear(head);
    head.appendChild(badge(r.decision));
    head.appendChild(document.createTextNode(' ' + (r.action === 'exchange' ? (r.role || 'no role') : r.action.replace('_', ' '))));
    $('d-sub').textContent = fmtTime(r.time) + ' \u00b7 ' + r.request_id;

    body.appendChild(el('h3', '', 'Decision'));
    body.appendChild(kv([['Code', r.code], ['Reason', r.reason], ['HTTP status', r.status], ['Upstream', r.upstream ? r.upstream.type + ': ' + r.upstream.code : null], ['Revoked request', r.target_request_id]]));

    body.appendChild(el('h3', '', 'Verified identity'));
    var idPairs = [['issuer', r.issuer], ['sub', r.subject], ['jti', r.jti]];
    var id = r.identity || {};
    Object.keys(id).sort().forEach(function (k) { idPairs.push([k, String(id[k])]); });
    if (!r.issuer && !r.subject && !Object.keys(id).length) body.appendChild(el('div', 'empty', 'The token was not verified: no claims are trusted for this request.'));
    else body.appendChild(kv(idPairs));

    if (r.action === 'exchange') {
      body.appendChild(el('h3', '', 'Policy trace'));
      var t = r.policy_trace;
      if (!t) body.appendChild(el('div', 'empty', 'The policy was not evaluated (refused before that step).'));
      else {
        var ul = el('ul', 'trace');
        var deniedBy = t.matched && t.matched.indexOf('deny') === 0;
        if (!t.matched) ul.appendChild(el('li', 'fail', 'no allow condition set matched'));
        else if (deniedBy) ul.appendChild(el('li', 'fail', t.matched + ' matched: a deny rule refused this identity'));
        else ul.appendChild(el('li', 'pass', t.matched + ' matched: every condition held'));
        // A deny condition that does not hold is good news; an allow condition that does not hold is why.
        t.failed.forEach(function (f) {
          var isDeny = f.indexOf('deny') === 0;
          ul.appendChild(el('li', isDeny ? 'pass' : 'fail', f + (isDeny ? ': does not apply' : ': did not hold')));
        });
        body.appendChild(ul);
      }
    }

    body.appendChild(el('h3', '', 'Credentials'));
    if (!r.credentials || !r.credentials.length) body.appendChild(el('div', 'empty', 'None handed out.'));
    else {
      var table = el('table', 'creds'), hr = el('tr');
      ['Type', 'Target', 'Expires'].forEach(function (h) { hr.appendChild(el('th', '', h)); });
      table.appendChild(hr);
      r.credentials.forEach(function (c) {
        var tr = el('tr');
        tr.appendChild(el('td', '', c.type)); tr.appendChild(el('td', 'mono', c.target)); tr.appendChild(el('td', 'mono', c.expires_at ? fmtTime(c.expires_at) : '\u2014'));
        table.appendChild(tr);
      });
      body.appendChild(table);
    }

    if (r.query) { body.appendChild(el('h3', '', 'Query')); body.appendChild(kv(Object.keys(r.query).map(function (k) { return [k, r.query[k]]; }))); }

    body.appendChild(el('h3', '', 'Request'));
    body.appendChild(kv([['Client IP', r.client_ip], ['User agent', r.user_agent], ['Token SHA-256', r.token_sha256], ['Policy hash', r.policy_hash], ['Chain seq', String(item.seq)], ['Record hash', item.hash]]));

    var raw = el('details', 'raw'); raw.appendChild(el('summary', '', 'Raw record'));
    raw.appendChild(el('pre', '', JSON.stringify(r, null, 2)));
    body.appendChild(raw);
    $('detail').showModal();
  }

  $('login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var v = $('token').value.trim();
    if (!v) return;
    sessionStorage.setItem(KEY, v);
    $('token').value = '';
    load(true);
  });
  $('signout').addEventListener('click', function () { sessionStorage.removeItem(KEY); showLogin(''); });
  $('filters').addEventListener('submit', function (e) { e.preventDefault(); load(true); });
  $('reset').addEventListener('click', function () { $('filters').reset(); load(true); });
  $('more').addEventListener('click', function () { load(false); });
  $('d-close').addEventListener('click', function () { $('detail').close(); });
  $('detail').addEventListener('click', function (e) { if (e.target === $('detail')) $('detail').close(); });
  if (token()) load(true); else showLogin('');
})();
`;

export function renderAdminPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Audit review · secret-broker</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header>
  <h1>secret-broker <span>audit review</span></h1>
  <div class="chain" id="chain"></div>
  <button type="button" id="signout" hidden>Sign out</button>
</header>
<main>
  <section id="login" class="card" hidden>
    <h2>Sign in</h2>
    <p>Enter the broker's admin token. It stays in this tab only and is sent to this broker, nowhere else.</p>
    <form id="login-form" autocomplete="off">
      <div class="row"><input id="token" type="password" placeholder="BROKER_ADMIN_TOKEN" aria-label="Admin token" required><button class="primary" type="submit">Sign in</button></div>
      <div class="err" id="login-error" hidden></div>
    </form>
  </section>
  <section id="app" hidden>
    <form id="filters">
      <label>Window<select id="f-since">
        <option value="1h">Last hour</option><option value="24h" selected>Last 24 hours</option><option value="7d">Last 7 days</option>
        <option value="30d">Last 30 days</option><option value="90d">Last 90 days</option><option value="">Everything</option></select></label>
      <label>Decision<select id="f-decision"><option value="">Any</option><option value="allow">Allowed</option><option value="deny">Denied</option><option value="error">Errors</option></select></label>
      <label>Role<input id="f-role" placeholder="deploy-web-prod"></label>
      <label>Repository / project<input id="f-repository" placeholder="acme/web or id"></label>
      <label>Reason or code<input id="f-reason" placeholder="policy.no_match"></label>
      <label>Show<select id="f-action"><option value="exchange,revoke" selected>Credential requests</option><option value="admin_query,audit_prune">Admin activity</option><option value="">Everything</option></select></label>
      <div class="actions"><button class="primary" type="submit">Apply</button><button type="button" id="reset">Reset</button></div>
    </form>
    <div class="grid">
      <div class="card stat"><div class="l">Requests</div><div class="n" id="n-total">–</div></div>
      <div class="card stat allow"><div class="l">Allowed</div><div class="n" id="n-allow">–</div></div>
      <div class="card stat deny"><div class="l">Denied</div><div class="n" id="n-deny">–</div></div>
      <div class="card stat error"><div class="l">Errors</div><div class="n" id="n-error">–</div></div>
    </div>
    <div class="split">
      <div class="card"><h2 class="section">Allowed and denied over time</h2><div id="chart"></div>
        <div class="legend"><span><i class="a"></i>allowed</span><span><i class="d"></i>denied</span><span><i class="e"></i>errors</span></div></div>
      <div class="card"><h2 class="section">Deny reasons</h2><div id="reasons"></div></div>
    </div>
    <div class="card tablecard">
      <div class="tablehead"><h2 class="section">Decisions, newest first</h2><span class="meta" id="shown"></span></div>
      <table class="records">
        <colgroup><col class="c-time"><col class="c-decision"><col class="c-role"><col class="c-repo"><col class="c-ref"><col class="c-event"><col><col class="c-request"></colgroup>
        <thead><tr><th>Time</th><th>Decision</th><th>Role</th><th>Repository / project</th><th>Ref</th><th>Event</th><th>Reason</th><th>Request</th></tr></thead>
        <tbody id="rows"></tbody>
      </table>
      <div class="empty" id="empty" hidden>No records match these filters.</div>
      <div id="morebar"><button type="button" id="more" hidden>Load older</button><span id="status"></span></div>
    </div>
  </section>
</main>
<dialog id="detail" aria-labelledby="d-title">
  <div class="dhead"><div><h2 id="d-title"></h2><div class="sub mono" id="d-sub"></div></div><button type="button" id="d-close">Close</button></div>
  <div class="dbody" id="d-body"></div>
</dialog>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}
