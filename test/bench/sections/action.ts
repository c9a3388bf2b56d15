// (d) The GitHub Action: the size of what the runner loads (action/dist/main.js + post.js), and the time
// from starting `node action/dist/main.js` (as the runner does, with INPUT_*, the file commands and the OIDC
// token service) to its outputs written, against a local broker with one secret grant.
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFileSync, statSync } from 'node:fs';
import { asMap, parseFileCommands, runActionStep, serveTokenService, stepFiles } from '../../helpers/fake-actions-runtime.ts';
import { ROOT } from '../../helpers/processes.ts';
import { median, type BenchContext } from '../lib/context.ts';
import { AUDIENCE, SECRET_VALUE, type Fixture } from '../lib/fixture.ts';
import { round } from '../lib/load.ts';
import { githubLikeClaims } from '../lib/tokens.ts';

export interface ActionFigures {
  bundle_bytes: number;
  bundle_gzip_bytes: number;
  main_bytes: number;
  post_bytes: number;
  /** Median over `runs`: process start to the last write of GITHUB_OUTPUT. */
  time_to_outputs_ms: number;
  /** Median over `runs`: process start to exit. */
  process_ms: number;
  runs: number;
}

export async function benchAction(ctx: BenchContext, fixture: Fixture, brokerUrl: string): Promise<ActionFigures> {
  const files = ['main.js', 'post.js'].map((f) => readFileSync(join(ROOT, 'action/dist', f)));
  const [main, post] = files as [Buffer, Buffer];
  const tokens = await serveTokenService(fixture.key, fixture.issuer.url, githubLikeClaims());
  const runs = ctx.quick ? 3 : 10;
  const toOutputs: number[] = [];
  const toExit: number[] = [];
  try {
    ctx.progress(`action: ${runs} runs of action/dist/main.js against the local broker`);
    for (let i = 0; i < runs; i++) {
      const step = stepFiles(join(fixture.dir, `action-${i}`));
      const t0 = Date.now();
      const run = await runActionStep('main', {
        inputs: { 'broker-url': brokerUrl, role: 'bench', audience: AUDIENCE },
        files: step,
        env: tokens.env(),
      });
      toExit.push(Date.now() - t0);
      // Values reach later steps through the environment only (output-credentials defaults to false).
      const exported = asMap(parseFileCommands(step.read('env')));
      if (run.code !== 0 || exported.DATABASE_URL !== SECRET_VALUE) {
        throw new Error(`the action failed (exit ${run.code}):\n${run.stdout.slice(-2000)}${run.stderr.slice(-2000)}`);
      }
      toOutputs.push(statSync(step.output).mtimeMs - t0);
    }
  } finally {
    await tokens.close();
  }
  return {
    bundle_bytes: main.byteLength + post.byteLength,
    bundle_gzip_bytes: gzipSync(main).byteLength + gzipSync(post).byteLength,
    main_bytes: main.byteLength,
    post_bytes: post.byteLength,
    time_to_outputs_ms: round(median(toOutputs), 1),
    process_ms: round(median(toExit), 1),
    runs,
  };
}
