// The page inlines broker/src/admin/page-script.gen.ts, not page-script.ts: the committed bundle must be what
// the source builds to, or the page runs code nobody reviewed as TypeScript.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADMIN_PAGE_SCRIPT } from '../../../broker/src/admin/page-script.gen.ts';
import { renderAdminPage } from '../../../broker/src/admin/page.ts';
import { ADMIN_SCRIPT_OUT, buildAdmin, bundleAdminScript } from '../../../scripts/build-admin.ts';
import { ROOT } from '../../helpers/processes.ts';

describe('broker/src/admin/page-script.gen.ts', () => {
  it('matches a fresh, deterministic build of page-script.ts', async () => {
    const first = await buildAdmin();
    expect(await buildAdmin()).toBe(first);
    expect(readFileSync(join(ROOT, ADMIN_SCRIPT_OUT), 'utf8') === first, `${ADMIN_SCRIPT_OUT} is stale: run npm run build`).toBe(true);
  });

  it('exports the bundled script, and the page inlines exactly that under its nonce', async () => {
    expect(ADMIN_PAGE_SCRIPT).toBe((await bundleAdminScript()).replace(/\n$/, ''));
    expect(renderAdminPage('n0nce')).toContain(`<script nonce="n0nce">${ADMIN_PAGE_SCRIPT}</script>`);
  });

  it('is one self-contained classic script: no imports, no source map, ASCII only', () => {
    expect(ADMIN_PAGE_SCRIPT).toMatch(/^"use strict";\n\(\(\) => \{\n/);
    expect(ADMIN_PAGE_SCRIPT).not.toMatch(/^\s*(import|export)\s/m);
    expect(ADMIN_PAGE_SCRIPT).not.toContain('sourceMappingURL');
    expect(ADMIN_PAGE_SCRIPT).toMatch(/^[\x20-\x7e\n]*$/);
  });
});
