// `npm run build`: every generated artefact, each by its own script, in order; the first failure stops.
//   scripts/build-action.ts     the GitHub Action bundle, action/dist (committed; CI diffs it)
//   scripts/build-admin.ts      the admin page's script, broker/src/admin/page-script.gen.ts (committed; CI diffs it)
//   scripts/gen-reasons-doc.ts  the table of audit reasons, docs/REASONS.md (committed; a unit test diffs it)
//   scripts/gen-migrations.ts   migrations/*.sql for node:sqlite and migrations/postgres/*.sql for PostgreSQL (committed)
//   scripts/bundle-policies.ts  the policy bundle for the Worker (generated, not committed)
//   scripts/build-package.ts    the npm package's JavaScript and the single-file client, dist/ (not committed),
//                               and the GitLab component's pin of that client (committed; a test checks it)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const STEPS = [
  'scripts/build-action.ts',
  'scripts/build-admin.ts',
  'scripts/gen-reasons-doc.ts',
  'scripts/gen-migrations.ts',
  'scripts/bundle-policies.ts',
  'scripts/build-package.ts --pin-template',
];

for (const step of STEPS) {
  const [script, ...args] = step.split(' ') as [string, ...string[]];
  if (!existsSync(join(ROOT, script))) continue;
  const run = spawnSync(process.execPath, [join(ROOT, script), ...args], { cwd: ROOT, stdio: 'inherit' });
  if (run.status !== 0) {
    process.stderr.write(`build: ${step} failed\n`);
    process.exit(run.status ?? 1);
  }
}
