// `audit report`: compliance evidence over a window, built from what the data folder holds (the audit chain,
// its checkpoints, the secret and signing-key stores, the policy). Pure: the command gathers the inputs, this
// builds the report and renders it as JSON, Markdown or a self-contained HTML page. Never a value, a token or
// a key: names, versions, times, counts and hashes only. Each section names the controls it is evidence for.
import { identityName, workflowOf } from '../../broker/src/audit/query.ts';
import { reviewDecision } from '../../broker/src/audit/reasons.ts';
import type { AuditRecord } from '../../broker/src/audit/record.ts';
import type { AuditVerification } from '../../broker/src/audit/verify-audit.ts';

export interface Controls {
  soc2: string[];
  pci_dss: string[];
  hipaa: string[];
}

/** What each section is evidence for (SOC 2 2017 TSC, PCI DSS v4.0, HIPAA Security Rule 45 CFR 164). */
export const CONTROLS = {
  access_review: {
    soc2: ['CC6.1', 'CC6.2', 'CC6.3'],
    pci_dss: ['7.2.4', '10.2.1', '10.2.2'],
    hipaa: ['164.308(a)(4)(ii)(C)', '164.312(b)'],
  },
  unused_roles: { soc2: ['CC6.2', 'CC6.3'], pci_dss: ['7.2.4', '7.2.5.1'], hipaa: ['164.308(a)(4)(ii)(C)'] },
  secrets: { soc2: ['CC6.1'], pci_dss: ['3.7.4', '8.6.3'], hipaa: ['164.312(a)(2)(iv)'] },
  signing_keys: { soc2: ['CC6.1'], pci_dss: ['3.7.4', '3.7.5'], hipaa: ['164.312(a)(2)(iv)', '164.312(c)(1)'] },
  kek: { soc2: ['CC6.1'], pci_dss: ['3.6.1', '3.7.4', '3.7.5'], hipaa: ['164.312(a)(2)(iv)'] },
  audit_integrity: {
    soc2: ['CC7.2', 'CC7.3'],
    pci_dss: ['10.3.2', '10.3.4', '10.5.1'],
    hipaa: ['164.312(b)', '164.312(c)(1)', '164.312(c)(2)'],
  },
  policy: { soc2: ['CC8.1', 'CC6.1'], pci_dss: ['6.5.1', '7.2.1'], hipaa: ['164.308(a)(4)(ii)(B)'] },
} as const satisfies Record<string, Controls>;

export interface ReportInput {
  /** Epoch ms. */
  since: number;
  now: number;
  /** Every record of the chain in the window, oldest first. */
  records: readonly AuditRecord[];
  /** The roles of the policy in force, and its hash. */
  roles: readonly string[];
  policyHash: string;
  /** Every version of every secret: names, versions, times, KEK ids (no ciphertext). */
  secretVersions: readonly { name: string; version: number; created_at: number; kek_id: string; max_age?: number }[];
  /** Epoch seconds, as stored. */
  signingKeys: readonly { kid: string; created_at: number; activates_at: number; kek_id: string }[];
  currentKekId: string;
  verification: AuditVerification;
}

interface Counted {
  count: number;
}
const iso = (ms: number) => new Date(ms).toISOString();
const DAY = 86_400_000;

function tally<K>(m: Map<string, K & Counted>, key: string, init: () => K): K & Counted {
  let v = m.get(key);
  if (!v) {
    v = { ...init(), count: 0 } as K & Counted;
    m.set(key, v);
  }
  v.count++;
  return v;
}
const byCount = <T extends Counted>(m: Map<string, T>) => [...m.values()].sort((a, b) => b.count - a.count);

export function buildAuditReport(input: ReportInput) {
  const exchanges = input.records.filter((r) => r.action === 'exchange' && r.role);
  const roles = new Map<string, AuditRecord[]>();
  for (const r of exchanges) {
    const list = roles.get(r.role!) ?? [];
    list.push(r);
    roles.set(r.role!, list);
  }

  const access = [...roles.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([role, rs]) => {
      const identities = new Map<
        string,
        { identity: string; allowed: number; denied: number; errors: number; first: string; last: string; workflows: string[] } & Counted
      >();
      const credentials = new Map<string, { type: string; target: string } & Counted>();
      const denials = new Map<string, { code: string; reason: string } & Counted>();
      const counts = { allow: 0, deny: 0, error: 0 };
      for (const r of rs) {
        const d = reviewDecision(r);
        counts[d]++;
        const who = identityName(r) ?? '(unverified)';
        const id = tally(identities, who, () => ({
          identity: who,
          allowed: 0,
          denied: 0,
          errors: 0,
          first: r.time,
          last: r.time,
          workflows: [] as string[],
        }));
        id[d === 'allow' ? 'allowed' : d === 'deny' ? 'denied' : 'errors']++;
        if (r.time < id.first) id.first = r.time;
        if (r.time > id.last) id.last = r.time;
        const wf = workflowOf(r.identity ?? {});
        if (wf && !id.workflows.includes(wf)) id.workflows.push(wf);
        if (d === 'allow')
          for (const c of r.credentials ?? []) tally(credentials, `${c.type}\u0000${c.target}`, () => ({ type: c.type, target: c.target }));
        else tally(denials, `${r.code}\u0000${r.reason}`, () => ({ code: r.code, reason: r.reason }));
      }
      // ISO times of one format sort as text.
      const allowed = rs
        .filter((r) => reviewDecision(r) === 'allow')
        .map((r) => r.time)
        .sort();
      return {
        role,
        in_policy: input.roles.includes(role),
        requests: rs.length,
        allowed: counts.allow,
        denied: counts.deny,
        errors: counts.error,
        first_use: allowed[0] ?? null,
        last_use: allowed.at(-1) ?? null,
        identities: byCount(identities),
        credentials: byCount(credentials),
        denials: byCount(denials),
      };
    });

  const used = new Set(access.filter((a) => a.allowed > 0).map((a) => a.role));
  const unused = [...input.roles].filter((r) => !used.has(r)).sort();

  // Secrets: the current (newest) version's age, and the versions created in the window after the first.
  const names = new Map<
    string,
    {
      name: string;
      version: number;
      created_at: number;
      versions: number;
      rotations: number;
      kek_id: string;
      max_age: number | null;
    }
  >();
  for (const v of input.secretVersions) {
    const s = names.get(v.name) ?? {
      name: v.name,
      version: 0,
      created_at: 0,
      versions: 0,
      rotations: 0,
      kek_id: v.kek_id,
      max_age: null,
    };
    s.versions++;
    if (v.version > 1 && v.created_at * 1000 >= input.since) s.rotations++;
    // The rotation policy is the newest version's (a rotation carries it forward or changes it).
    if (v.version > s.version)
      Object.assign(s, { version: v.version, created_at: v.created_at, kek_id: v.kek_id, max_age: v.max_age ?? null });
    names.set(v.name, s);
  }
  const secrets = [...names.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((s) => ({
      name: s.name,
      current_version: s.version,
      versions: s.versions,
      current_version_created: iso(s.created_at * 1000),
      age_days: Math.floor((input.now - s.created_at * 1000) / DAY),
      rotations_in_window: s.rotations,
      max_age_days: s.max_age === null ? null : s.max_age / 86_400,
      past_max_age: s.max_age !== null && input.now - s.created_at * 1000 > s.max_age * 1000,
    }));

  const keys = [...input.signingKeys].sort((a, b) => a.activates_at - b.activates_at);
  const inWindow = (s: number) => s * 1000 >= input.since && s * 1000 <= input.now;
  const active = keys.filter((k) => k.activates_at * 1000 <= input.now).at(-1);

  const byKek = new Map<string, { kek_id: string; secret_versions: number; signing_keys: number }>();
  const kekRow = (id: string) => byKek.get(id) ?? byKek.set(id, { kek_id: id, secret_versions: 0, signing_keys: 0 }).get(id)!;
  for (const v of input.secretVersions) kekRow(v.kek_id).secret_versions++;
  for (const k of input.signingKeys) kekRow(k.kek_id).signing_keys++;
  const stale = [...byKek.values()].filter((k) => k.kek_id !== input.currentKekId);

  const v = input.verification;
  const head = v.head;
  const latest = v.checkpoints.latest;
  const covered = latest ? v.count - v.uncovered : 0;

  const hashes = new Map<string, { hash: string; first_seen: string; last_seen: string } & Counted>();
  for (const r of input.records) {
    const h = tally(hashes, r.policy_hash, () => ({ hash: r.policy_hash, first_seen: r.time, last_seen: r.time }));
    if (r.time < h.first_seen) h.first_seen = r.time;
    if (r.time > h.last_seen) h.last_seen = r.time;
  }

  return {
    report: 'secret-broker audit report',
    generated_at: iso(input.now),
    window: { since: iso(input.since), until: iso(input.now), records: input.records.length },
    sections: {
      access_review: {
        title: 'Access review per role',
        controls: CONTROLS.access_review,
        roles: access,
      },
      unused_roles: {
        title: 'Roles never used in the window',
        controls: CONTROLS.unused_roles,
        roles: unused,
      },
      secrets: {
        title: 'Stored secrets: age of the current version, rotations in the window, rotation policy',
        controls: CONTROLS.secrets,
        /** Names of the secrets whose current version is older than their max_age. */
        past_max_age: secrets.filter((x) => x.past_max_age).map((x) => x.name),
        secrets,
      },
      signing_keys: {
        title: "The broker's signing keys and their rotations",
        controls: CONTROLS.signing_keys,
        active: active?.kid ?? null,
        // A rotation is a key added after another (the first key ever replaces nothing).
        rotations_in_window: keys.slice(1).filter((k) => inWindow(k.created_at)).length,
        next: keys.find((k) => k.activates_at * 1000 > input.now)?.kid ?? null,
        keys: keys.map((k) => ({ kid: k.kid, created_at: iso(k.created_at * 1000), activates_at: iso(k.activates_at * 1000) })),
      },
      kek: {
        title: 'Key-encryption keys: what each KEK wraps (a complete rewrap leaves only the current one)',
        controls: CONTROLS.kek,
        current_kek_id: input.currentKekId,
        rewrap_complete: stale.length === 0,
        by_kek: [...byKek.values()].sort((a, b) => (a.kek_id < b.kek_id ? -1 : 1)),
      },
      audit_integrity: {
        title: 'Audit chain verification and checkpoint coverage',
        controls: CONTROLS.audit_integrity,
        chain_ok: v.ok,
        problems: v.ok ? [] : v.problems.map((p) => ({ kind: p.kind, seq: p.seq ?? null, reason: p.reason })),
        records: v.count,
        starts_after_seq: v.start.seq,
        head: head ? { seq: head.seq, hash: head.hash } : null,
        checkpoints_verified: v.checkpoints.verified,
        latest_checkpoint: latest ? { seq: latest.seq, time: latest.time, kid: latest.kid } : null,
        covered_by_checkpoint: covered,
        uncovered: v.uncovered,
      },
      policy: {
        title: 'Policy versions in force',
        controls: CONTROLS.policy,
        current: input.policyHash,
        hashes: byCount(hashes).sort((a, b) => (a.first_seen < b.first_seen ? -1 : 1)),
      },
    },
  };
}

export type AuditReport = ReturnType<typeof buildAuditReport>;

// Rendering. Markdown cells and HTML text are caller-controlled (claims): escaped, never interpreted.

const controlsLine = (c: Controls) => `SOC 2 ${c.soc2.join(', ')} · PCI DSS ${c.pci_dss.join(', ')} · HIPAA ${c.hipaa.join(', ')}`;

type Table = { head: string[]; rows: (string | number | boolean | null)[][] };

function tablesOf(report: AuditReport): { key: string; title: string; controls: Controls; notes: string[]; tables: Table[] }[] {
  const s = report.sections;
  const a = s.access_review.roles;
  return [
    {
      key: 'access_review',
      title: s.access_review.title,
      controls: s.access_review.controls,
      notes: [],
      tables: [
        {
          head: ['Role', 'Requests', 'Allowed', 'Denied', 'Errors', 'First use', 'Last use'],
          rows: a.map((r) => [r.role, r.requests, r.allowed, r.denied, r.errors, r.first_use, r.last_use]),
        },
        {
          head: ['Role', 'Identity', 'Allowed', 'Denied', 'Errors', 'First', 'Last', 'Workflows'],
          rows: a.flatMap((r) =>
            r.identities.map((i) => [r.role, i.identity, i.allowed, i.denied, i.errors, i.first, i.last, i.workflows.join(' ')]),
          ),
        },
        {
          head: ['Role', 'Credential', 'Target', 'Handed out'],
          rows: a.flatMap((r) => r.credentials.map((c) => [r.role, c.type, c.target, c.count])),
        },
        { head: ['Role', 'Code', 'Reason', 'Count'], rows: a.flatMap((r) => r.denials.map((d) => [r.role, d.code, d.reason, d.count])) },
      ],
    },
    {
      key: 'unused_roles',
      title: s.unused_roles.title,
      controls: s.unused_roles.controls,
      notes: s.unused_roles.roles.length ? [] : ['Every role of the policy was used.'],
      tables: [{ head: ['Role'], rows: s.unused_roles.roles.map((r) => [r]) }],
    },
    {
      key: 'secrets',
      title: s.secrets.title,
      controls: s.secrets.controls,
      notes: s.secrets.past_max_age.length ? [`Past their max age (rotation overdue): ${s.secrets.past_max_age.join(', ')}.`] : [],
      tables: [
        {
          head: ['Secret', 'Version', 'Versions', 'Current since', 'Age (days)', 'Rotations in window', 'Max age (days)', 'Overdue'],
          rows: s.secrets.secrets.map((x) => [
            x.name,
            x.current_version,
            x.versions,
            x.current_version_created,
            x.age_days,
            x.rotations_in_window,
            x.max_age_days,
            x.past_max_age ? 'OVERDUE' : 'no',
          ]),
        },
      ],
    },
    {
      key: 'signing_keys',
      title: s.signing_keys.title,
      controls: s.signing_keys.controls,
      notes: [
        `Active key: ${s.signing_keys.active ?? 'none'}; next: ${s.signing_keys.next ?? 'none'}; rotations in the window: ${s.signing_keys.rotations_in_window}.`,
      ],
      tables: [{ head: ['Key id', 'Created', 'Signs from'], rows: s.signing_keys.keys.map((k) => [k.kid, k.created_at, k.activates_at]) }],
    },
    {
      key: 'kek',
      title: s.kek.title,
      controls: s.kek.controls,
      notes: [`Current KEK: ${s.kek.current_kek_id}; rewrap complete: ${s.kek.rewrap_complete ? 'yes' : 'NO'}.`],
      tables: [
        {
          head: ['KEK id', 'Secret versions', 'Signing keys'],
          rows: s.kek.by_kek.map((k) => [k.kek_id, k.secret_versions, k.signing_keys]),
        },
      ],
    },
    {
      key: 'audit_integrity',
      title: s.audit_integrity.title,
      controls: s.audit_integrity.controls,
      notes: [
        s.audit_integrity.chain_ok
          ? `Chain OK: ${s.audit_integrity.records} record(s), head seq ${s.audit_integrity.head?.seq ?? '-'}; ${s.audit_integrity.checkpoints_verified} checkpoint(s) verified, latest seq ${s.audit_integrity.latest_checkpoint?.seq ?? '-'}; ${s.audit_integrity.covered_by_checkpoint} record(s) covered by a signed checkpoint, ${s.audit_integrity.uncovered} newer.`
          : 'Chain BROKEN: see the problems below.',
      ],
      tables: [{ head: ['Problem', 'Seq', 'Reason'], rows: s.audit_integrity.problems.map((p) => [p.kind, p.seq, p.reason]) }],
    },
    {
      key: 'policy',
      title: s.policy.title,
      controls: s.policy.controls,
      notes: [`In force now: ${s.policy.current}.`],
      tables: [
        {
          head: ['Policy hash', 'First seen', 'Last seen', 'Records'],
          rows: s.policy.hashes.map((h) => [h.hash, h.first_seen, h.last_seen, h.count]),
        },
      ],
    },
  ];
}

/** Markdown table cells: pipes and backslashes escaped, line breaks and HTML-significant characters neutralised. */
function mdCell(v: unknown): string {
  const text = v === null || v === undefined ? '-' : String(v);
  return text.replace(/[\\|`*_[\]<>#]/g, (c) => `\\${c}`).replace(/[\r\n\u2028\u2029]+/g, ' ');
}

export function renderMarkdown(report: AuditReport): string {
  const out: string[] = [
    `# Audit report`,
    '',
    `Window: ${report.window.since} to ${report.window.until} (${report.window.records} records). Generated ${report.generated_at}.`,
    '',
  ];
  for (const sec of tablesOf(report)) {
    out.push(`## ${sec.title}`, '', `Evidence for: ${controlsLine(sec.controls)}`, '');
    for (const n of sec.notes) out.push(mdCell(n).replace(/\\([_*])/g, '$1'), '');
    for (const t of sec.tables) {
      if (!t.rows.length) continue;
      out.push(`| ${t.head.join(' | ')} |`, `| ${t.head.map(() => '---').join(' | ')} |`);
      for (const r of t.rows) out.push(`| ${r.map(mdCell).join(' | ')} |`);
      out.push('');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

const htmlEscape = (v: unknown) => (v === null || v === undefined ? '-' : String(v)).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One self-contained page: inline CSS only, no script, no external anything (its own CSP says so). */
export function renderHtml(report: AuditReport): string {
  const body: string[] = [];
  for (const sec of tablesOf(report)) {
    body.push(
      `<section id="${sec.key}"><h2>${htmlEscape(sec.title)}</h2><p class="controls">Evidence for: ${htmlEscape(controlsLine(sec.controls))}</p>`,
    );
    for (const n of sec.notes) body.push(`<p>${htmlEscape(n)}</p>`);
    for (const t of sec.tables) {
      if (!t.rows.length) continue;
      body.push(
        `<table><thead><tr>${t.head.map((h) => `<th>${htmlEscape(h)}</th>`).join('')}</tr></thead><tbody>${t.rows
          .map((r) => `<tr>${r.map((c) => `<td>${htmlEscape(c)}</td>`).join('')}</tr>`)
          .join('')}</tbody></table>`,
      );
    }
    body.push('</section>');
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Audit report · secret-broker</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; color: #1c2430; margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; border-bottom: 1px solid #e3e7ec; padding-bottom: 4px; }
.controls { color: #5b6675; font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 14px; font-size: 12.5px; }
th, td { text-align: left; border: 1px solid #e3e7ec; padding: 4px 8px; vertical-align: top; overflow-wrap: anywhere; }
th { background: #fafbfc; color: #5b6675; }
</style></head><body>
<h1>Audit report</h1>
<p>Window: ${htmlEscape(report.window.since)} to ${htmlEscape(report.window.until)} (${report.window.records} records). Generated ${htmlEscape(report.generated_at)}.</p>
${body.join('\n')}
</body></html>
`;
}
