// The audit review page: one HTML document with inline CSS and JS (no external assets), allowed by a
// per-response CSP nonce. The script is page-script.ts, bundled by scripts/build-admin.ts into the committed
// page-script.gen.ts. It asks for the admin token, keeps it in sessionStorage (this tab only, gone when the
// tab closes) and sends it as a bearer header to /v1/audit. Every value from a record is written with
// textContent: claims and user agents are caller-controlled text.
import { ADMIN_PAGE_SCRIPT } from './page-script.gen.ts';

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
form#filters .hint { flex-basis: 100%; margin: 0; font-size: 12px; color: var(--muted); }
.tablehead .exports { display: flex; gap: 8px; margin-left: 12px; }
.pad { padding: 8px 16px; }
.scroll { overflow-x: auto; }
table.roles { width: 100%; border-collapse: collapse; table-layout: fixed; }
table.roles th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 600; padding: 8px 10px; background: #fafbfc; border-top: 1px solid var(--line); border-bottom: 1px solid var(--line); }
table.roles td { padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; font-size: 12.5px; overflow-wrap: anywhere; }
table.roles td ul { list-style: none; margin: 0; padding: 0; }
table.roles td li { padding: 1px 0; }
table.roles td li .n { color: var(--muted); font-variant-numeric: tabular-nums; margin-left: 4px; }
table.roles button.link { border: none; background: none; padding: 0; color: var(--accent); font-weight: 600; text-align: left; overflow-wrap: anywhere; }
.counts span { margin-right: 8px; font-variant-numeric: tabular-nums; }
.counts .a { color: var(--allow); } .counts .d { color: var(--deny); } .counts .e { color: var(--error); }
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
#reasons tr:focus-visible { outline: 2px solid var(--accent); outline-offset: -2px; }
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
col.c-time { width: 164px; } col.c-decision { width: 72px; } col.c-role { width: 130px; } col.c-repo { width: 120px; }
col.c-workflow { width: 200px; } col.c-env { width: 100px; } col.c-actor { width: 90px; } col.c-creds { width: 210px; }
col.c-rrole { width: 150px; } col.c-rcount { width: 150px; } col.c-rlast { width: 130px; }
table.records th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 600; padding: 8px 10px; background: #fafbfc; border-top: 1px solid var(--line); border-bottom: 1px solid var(--line); }
table.records td { padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
table.records td.nowrap { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
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
/* Phones: filters two to a row, and each table row a small card whose cells name their column. */
@media (max-width: 700px) {
  header { padding: 10px 12px; flex-wrap: wrap; gap: 6px 12px; }
  header .chain { margin-left: 0; order: 3; flex-basis: 100%; }
  main { padding: 12px 10px 32px; }
  form#filters { gap: 8px 10px; }
  form#filters label { flex: 1 1 calc(50% - 10px); min-width: 0; }
  form#filters input, form#filters select { width: 100%; }
  .stat .n { font-size: 22px; }
  .tablehead { flex-wrap: wrap; gap: 6px; }
  .tablehead .meta { margin-left: 0; }
  .tablehead .exports { margin-left: 0; flex-basis: 100%; }
  table.records, table.records tbody, table.records tr, table.records td,
  table.roles, table.roles tbody, table.roles tr, table.roles td { display: block; width: 100%; }
  table.records thead, table.roles thead, table.records colgroup, table.roles colgroup { display: none; }
  table.records tbody tr, table.roles tbody tr { border-bottom: 1px solid var(--line); padding: 6px 12px; }
  table.records td, table.roles td { border: none; padding: 2px 0; white-space: normal; overflow-wrap: anywhere; display: grid; grid-template-columns: 104px 1fr; gap: 8px; }
  table.records td::before, table.roles td::before { content: attr(data-label); color: var(--muted); font-size: 12px; font-family: system-ui, sans-serif; }
  dl.kv { grid-template-columns: 1fr; }
}
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
    <form id="filters" aria-label="Filters">
      <label>Window<select id="f-since">
        <option value="1h">Last hour</option><option value="24h" selected>Last 24 hours</option><option value="7d">Last 7 days</option>
        <option value="30d">Last 30 days</option><option value="90d">Last 90 days</option><option value="">Everything</option></select></label>
      <label>Decision<select id="f-decision"><option value="">Any</option><option value="allow">Allowed</option><option value="deny">Denied</option><option value="error">Errors</option></select></label>
      <label>Credential<select id="f-type"><option value="">Any</option><option value="aws">AWS</option><option value="azure">Azure</option><option value="gcp">Google Cloud</option><option value="github">GitHub</option><option value="secret">Secret</option></select></label>
      <label>Role<input id="f-role" placeholder="deploy-* or *prod*"></label>
      <label>Repository / project<input id="f-repository" placeholder="acme/* or id"></label>
      <label>Target<input id="f-target" placeholder="arn:aws:iam::*"></label>
      <label>Actor<input id="f-actor" placeholder="alice"></label>
      <label>Workflow<input id="f-workflow" placeholder="*deploy.yml@*"></label>
      <label>Environment<input id="f-environment" placeholder="production"></label>
      <label>Reason or code<input id="f-reason" placeholder="policy.no_allow_matched"></label>
      <label>Show<select id="f-action"><option value="exchange,revoke" selected>Credential requests</option><option value="admin_query,audit_prune,alert">Admin activity and alerts</option><option value="">Everything</option></select></label>
      <div class="actions"><button class="primary" type="submit">Apply</button><button type="button" id="f-reset">Reset</button></div>
      <p class="hint">Text filters match exactly; <span class="mono">*</span> matches anything (<span class="mono">*prod*</span>: contains prod).</p>
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
    <div class="card tablecard" id="roles-card">
      <div class="tablehead"><h2 class="section">Roles: who used them, how often, from where</h2><span class="meta" id="roles-meta"></span></div>
      <div class="scroll"><table class="roles">
        <colgroup><col class="c-rrole"><col class="c-rcount"><col><col><col><col class="c-rlast"></colgroup>
        <thead><tr><th>Role</th><th>Requests</th><th>Used by</th><th>Workflows</th><th>Refs</th><th>Last use</th></tr></thead>
        <tbody id="roles"></tbody>
      </table></div>
      <div class="empty pad" id="roles-empty" hidden>No credential requests in this view.</div>
    </div>
    <div class="card tablecard">
      <div class="tablehead"><h2 class="section">Decisions, newest first</h2><span class="meta" id="shown"></span>
        <span class="exports"><button type="button" id="export-jsonl">Export JSON lines</button><button type="button" id="export-csv">Export CSV</button></span></div>
      <table class="records">
        <colgroup><col class="c-time"><col class="c-decision"><col class="c-role"><col class="c-repo"><col class="c-workflow"><col class="c-env"><col class="c-actor"><col class="c-creds"><col></colgroup>
        <thead><tr><th>Time</th><th>Decision</th><th>Role</th><th>Repository / project</th><th>Workflow</th><th>Environment</th><th>Actor</th><th>Credentials</th><th>Reason</th></tr></thead>
        <tbody id="rows"></tbody>
      </table>
      <div class="empty pad" id="empty" hidden>No records match these filters.</div>
      <div id="morebar"><button type="button" id="more" hidden>Load older</button><span id="status" role="status"></span></div>
    </div>
  </section>
</main>
<dialog id="detail" aria-labelledby="d-title">
  <div class="dhead"><div><h2 id="d-title"></h2><div class="sub mono" id="d-sub"></div></div><button type="button" id="d-close">Close</button></div>
  <div class="dbody" id="d-body"></div>
</dialog>
<script nonce="${nonce}">${ADMIN_PAGE_SCRIPT}</script>
</body>
</html>
`;
}
