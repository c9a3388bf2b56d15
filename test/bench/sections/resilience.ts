// The resilience scenarios (lib/resilience.ts) at full size: 1,000 exchanges at concurrency 50 against a
// failing JWKS, hanging AWS/GCP/Azure upstreams, a locked database, and a SIGKILL under load. `npm test`
// runs them smaller (test/e2e/resilience.test.ts); here each reports what happened and whether it held.
import type { BenchContext } from '../lib/context.ts';
import { flakyJwksScenario, hangingUpstreamScenario, lockedDatabaseScenario, restartScenario } from '../lib/resilience.ts';

export interface ScenarioReport {
  /** Every property the scenario must have held. */
  held: boolean;
  summary: string;
  details: Record<string, unknown>;
}

export type ResilienceFigures = Record<string, ScenarioReport>;

export async function benchResilience(ctx: BenchContext): Promise<ResilienceFigures> {
  const size = ctx.quick ? { requests: 300, restart: 600, perRole: 2 } : { requests: 1_000, restart: 3_000, perRole: 10 };
  const out: ResilienceFigures = {};

  ctx.progress(`resilience: ${size.requests} exchanges at concurrency 50, JWKS failing every other fetch`);
  const f = await flakyJwksScenario({ requests: size.requests, concurrency: 50, duplicateEvery: 10, rogueEvery: 25 });
  out.jwks_flaky = {
    held:
      f.unexpected.length === 0 &&
      !f.statuses['500'] &&
      f.auditRecords === f.requests &&
      f.unaudited.length === 0 &&
      f.chainOk &&
      f.cliVerifyOk &&
      f.jtisSucceededTwice.length === 0,
    summary: `${f.requests} req: ${Object.entries(f.statuses)
      .map(([k, v]) => `${k}x${v}`)
      .join(
        ' ',
      )}; audited ${f.auditRecords}; chain ${f.chainOk && f.cliVerifyOk ? 'ok' : 'BROKEN'}; jti twice ${f.jtisSucceededTwice.length}; JWKS fetches ${f.jwksFetches} (${f.jwksFailures} failed)`,
    details: { ...f, cliVerifyOutput: f.cliVerifyOutput.split('\n')[0] },
  };

  const timeoutMs = 2_000;
  ctx.progress(`resilience: ${size.perRole} exchanges each for AWS, GCP and Azure grants whose upstream hangs (deadline ${timeoutMs} ms)`);
  const h = await hangingUpstreamScenario({ timeoutMs, perRole: size.perRole });
  const slowest = Math.max(...h.answers.map((a) => a.ms));
  out.upstream_hang = {
    held:
      h.answers.every((a) => a.status === 502 && a.code === 'ERR_UPSTREAM' && !a.leaked && a.ms < timeoutMs + 3_000) &&
      h.healthzStatus === 200 &&
      h.chainOk,
    summary: `${h.answers.length} req: all 502 ERR_UPSTREAM ${h.answers.every((a) => a.status === 502) ? 'yes' : 'NO'}, slowest ${slowest} ms (deadline ${timeoutMs}); /healthz meanwhile ${h.healthzMs} ms`,
    details: { ...h, slowest_ms: slowest },
  };

  ctx.progress('resilience: the database locked by another connection');
  const l = await lockedDatabaseScenario();
  out.database_locked = {
    held: l.locked.status === 503 && !l.locked.leaked && l.retry.status === 200 && l.retryAudited && l.chainOk,
    summary: `locked: ${l.locked.status} ${l.locked.code} after ${l.locked.ms} ms (busy timeout, /healthz waited ${l.healthzMs} ms); same token after: ${l.retry.status}`,
    details: { ...l },
  };

  ctx.progress(`resilience: SIGKILL after 1/3 of ${size.restart} exchanges, restart on the same data folder`);
  const r = await restartScenario({ requests: size.restart, concurrency: 50, killAfter: Math.floor(size.restart / 3) });
  out.kill_restart = {
    held: r.missing.length === 0 && r.chainOk && r.cliVerifyOk && r.jtisSucceededTwice.length === 0,
    summary: `${r.acknowledged} answered, ${r.lost} cut off; answered but unaudited ${r.missing.length}; chain ${r.chainOk && r.cliVerifyOk ? 'ok' : 'BROKEN'}; cut-off tokens resent: ${
      Object.entries(r.resent)
        .map(([k, v]) => `${k}x${v}`)
        .join(' ') || '-'
    }; restart ${r.restartMs} ms`,
    details: { ...r, cliVerifyOutput: r.cliVerifyOutput.split('\n')[0] },
  };
  return out;
}
