// The committed bundle must be what the sources build to: the runner executes action/dist, not action/src.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildAction } from '../../../scripts/build-action.ts';
import { ROOT } from '../../helpers/processes.ts';

describe('action/dist', () => {
  it('matches a fresh, deterministic build of action/src', async () => {
    const first = await buildAction();
    const second = await buildAction();
    expect(second).toEqual(first);
    expect(Object.keys(first).sort()).toEqual(['action/dist/main.js', 'action/dist/package.json', 'action/dist/post.js']);
    for (const [path, text] of Object.entries(first)) {
      expect(readFileSync(join(ROOT, path), 'utf8') === text, `${path} is stale: run npm run build`).toBe(true);
    }
  });

  it('action.yml runs the bundles on node24 with the documented inputs', () => {
    const yml = readFileSync(join(ROOT, 'action.yml'), 'utf8');
    expect(yml).toMatch(/using: node24\n\s+main: action\/dist\/main\.js\n\s+post: action\/dist\/post\.js/);
    for (const input of [
      'broker-url',
      'role',
      'audience',
      'export-env',
      'env-prefix',
      'aws-region',
      'timeout-seconds',
      'retries',
      'cleanup',
      'grants',
      'output-credentials',
      'mask-aws-account-id',
    ]) {
      expect(yml).toMatch(new RegExp(`\\n  ${input}:\\n`));
    }
  });
});
