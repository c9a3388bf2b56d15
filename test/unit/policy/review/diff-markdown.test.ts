// The access diff as Markdown: sections by risk, tables of changes, escaping.
import { describe, expect, it } from 'vitest';
import { diffPolicies } from '../../../../broker/src/policy/review/diff.ts';
import { renderDiffMarkdown } from '../../../../broker/src/policy/review/diff-markdown.ts';
import { BASE, role, side } from './diff-fixtures.ts';

describe('Markdown', () => {
  it('a section per role, highest risk first, with a table of changes', async () => {
    const base = await side({ a: role('a', BASE), b: role('b', BASE) });
    const head = await side({
      a: role('a', BASE.replace('      ref: refs/heads/main\n', '')),
      b: role(
        'b',
        BASE.replace('[push]', '[push, workflow_dispatch]').replace('ref_type: branch', 'ref_type: branch\n      environment: qa'),
      ),
    });
    const md = renderDiffMarkdown(diffPolicies(base, head), { base: 'origin/main', head: 'working tree' });
    expect(md).toContain('`origin/main` → `working tree`');
    expect(md.indexOf('### 🔴 `a`')).toBeGreaterThan(0);
    expect(md).toMatch(/\| 🔴 high \| widened \| `allow\[0\]\.ref` \| condition on `ref` removed/);
    expect(md).toMatch(/\| 🟢 low \| narrowed \| `allow\[0\]\.environment` \|/);
    expect(md).toContain('<details><summary>Who can obtain <code>a</code> after this change</summary>');
  });

  it('says so when nothing changed', async () => {
    const same = await side({ a: role('a', BASE) });
    expect(renderDiffMarkdown(diffPolicies(same, same), { base: 'x', head: 'y' })).toContain('No change in who can obtain what.');
  });

  it('escapes pipes inside table cells', async () => {
    const before = await side({ a: role('a', BASE) });
    const after = await side({ a: role('a', BASE.replace('ref: refs/heads/main', 'ref: {regex: "refs/heads/(?:main|dev)"}')) });
    const md = renderDiffMarkdown(diffPolicies(before, after), { base: 'x', head: 'y' });
    const row = md.split('\n').find((l) => l.includes('allow[0].ref'))!;
    expect(row).toContain('main\\|dev');
    expect(row.split(/(?<!\\)\|/).length).toBe(6);
  });
});
