// The access diff (diff.ts) as Markdown for a pull-request comment or a terminal: a count by risk, then a
// section per issuer and role, highest risk first, each with a table of its changes and, for a role, who can
// obtain it after the change.
import { code, type PolicyChange, type PolicyDiff, type Risk } from './diff.ts';

const ICON: Record<Risk, string> = { high: '🔴', medium: '🟠', low: '🟢' };
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export interface MarkdownOptions {
  base: string;
  head: string;
  /** Heading level of the title (2 = ##). */
  level?: number;
}

export function renderDiffMarkdown(diff: PolicyDiff, options: MarkdownOptions): string {
  const h = (n: number) => '#'.repeat((options.level ?? 2) + n);
  const out: string[] = [];
  out.push(`${h(0)} Access changes`, '');
  out.push(`${code(options.base)} → ${code(options.head)}`, '');
  if (diff.roles.length === 0 && diff.issuers.length === 0) {
    out.push('No change in who can obtain what.');
    return `${out.join('\n')}\n`;
  }
  const { high, medium, low } = diff.counts;
  out.push(
    `${ICON.high} **${high} high** · ${ICON.medium} **${medium} medium** · ${ICON.low} ${low} low — ${diff.roles.length} role${diff.roles.length === 1 ? '' : 's'}${diff.issuers.length > 0 ? `, ${diff.issuers.length} issuer${diff.issuers.length === 1 ? '' : 's'}` : ''} changed`,
    '',
  );
  const table = (changes: PolicyChange[]) => {
    out.push('| risk | effect | where | change |', '|---|---|---|---|');
    for (const c of changes) out.push(`| ${ICON[c.risk]} ${c.risk} | ${c.direction} | ${cell(code(c.where))} | ${cell(c.summary)} |`);
    out.push('');
  };
  for (const i of diff.issuers) {
    out.push(`${h(1)} ${ICON[i.risk]} issuer ${code(i.issuer)} · ${i.status}`, '');
    table(i.changes);
  }
  for (const r of diff.roles) {
    out.push(`${h(1)} ${ICON[r.risk]} ${code(r.role)} · ${r.status}${r.production ? ' · production' : ''}`, '');
    out.push(`${code(r.file)}`, '');
    table(r.changes);
    if (r.whoNow.length > 0) {
      out.push(`<details><summary>Who can obtain <code>${r.role}</code> after this change</summary>`, '');
      for (const line of r.whoNow) out.push(`- ${code(line)}`);
      out.push('', '</details>', '');
    }
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
