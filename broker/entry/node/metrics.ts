// The broker's metrics on Node, with prom-client: one registry per broker (not the global one, so that two
// brokers in one process, as in tests, do not mix their counts), plus the process's default metrics.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { type BrokerMetrics, EXCHANGE_STAGES } from '../../src/metrics.ts';
import { VERSION } from '../../src/version.ts';

/** Seconds: an exchange is milliseconds when local, seconds when a cloud is slow; the upstream deadline is 10 s. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** A stage of a local exchange takes from microseconds (the policy) to milliseconds (a durable write). */
const STAGE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10];

export function createPromMetrics(): BrokerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'secret_broker_' });
  const registers = [registry];
  const exchanges = new Counter({
    name: 'secret_broker_exchanges_total',
    help: 'Exchanges answered, by decision, error code (OK when allowed) and role ("_other": not a role of the policy set).',
    labelNames: ['decision', 'code', 'role'] as const,
    registers,
  });
  const exchangeSeconds = new Histogram({
    name: 'secret_broker_exchange_duration_seconds',
    help: 'Time from receiving an exchange to its answer, audit record included.',
    labelNames: ['decision'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const stageSeconds = new Histogram({
    name: 'secret_broker_exchange_stage_duration_seconds',
    help: 'Time of each stage of an exchange (verify, replay, policy, mint, audit_queue, audit_write), for the exchanges that reached it.',
    labelNames: ['stage'] as const,
    buckets: STAGE_BUCKETS,
    registers,
  });
  // Bound once: the exchange path observes six stages and should not hash label sets to do it.
  const stages = EXCHANGE_STAGES.map((stage) => [stage, stageSeconds.labels({ stage })] as const);
  const mintSeconds = new Histogram({
    name: 'secret_broker_upstream_mint_duration_seconds',
    help: 'Time to mint one grant, by grant type (the upstream call for cloud and GitHub grants).',
    labelNames: ['type'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const mintFailures = new Counter({
    name: 'secret_broker_upstream_mint_failures_total',
    help: 'Grants that failed to mint, by grant type.',
    labelNames: ['type'] as const,
    registers,
  });
  const jwksFetches = new Counter({
    name: 'secret_broker_jwks_fetches_total',
    help: 'JWKS fetches of token issuers, by issuer name.',
    labelNames: ['issuer'] as const,
    registers,
  });
  const jwksFailures = new Counter({
    name: 'secret_broker_jwks_fetch_failures_total',
    help: 'JWKS fetches that failed, by issuer name.',
    labelNames: ['issuer'] as const,
    registers,
  });
  const auditSeconds = new Histogram({
    name: 'secret_broker_audit_write_duration_seconds',
    help: 'Time of one write to the audit store (one or a group of records).',
    buckets: DURATION_BUCKETS,
    registers,
  });
  const auditFailures = new Counter({
    name: 'secret_broker_audit_write_failures_total',
    help: 'Writes to the audit store that failed (the requests concerned answered 503).',
    registers,
  });
  const replayFailures = new Counter({
    name: 'secret_broker_replay_store_failures_total',
    help: 'Replay claims the store could not answer (the requests concerned answered 503).',
    registers,
  });
  const reloads = new Counter({
    name: 'secret_broker_policy_reloads_total',
    help: 'Policy reloads (SIGHUP, --watch), by result: ok, or failed (the set in force was kept).',
    labelNames: ['result'] as const,
    registers,
  });
  const leaseRemovals = new Counter({
    name: 'secret_broker_lease_removals_total',
    help: 'Attempts to remove an upstream login the broker handed out (sweep at expiry, revoke, failed exchange), by lease kind and result.',
    labelNames: ['kind', 'result'] as const,
    registers,
  });
  const leasesOverdue = new Gauge({
    name: 'secret_broker_leases_overdue',
    help: 'Leases past their expiry (and a 2-minute grace) still held: logins the sweeper keeps failing to remove.',
    registers,
  });
  const buildInfo = new Gauge({
    name: 'secret_broker_build_info',
    help: 'Always 1: the broker version and the hash of the policy set in force.',
    labelNames: ['version', 'policy_hash'] as const,
    registers,
  });
  // Every label value that can occur is known up front, so a counter reads 0 before its first event.
  for (const result of ['ok', 'failed']) reloads.inc({ result }, 0);
  for (const result of ['ok', 'failed']) leaseRemovals.inc({ kind: 'postgres', result }, 0);

  return {
    exchange(outcome, seconds, times) {
      exchanges.inc({ decision: outcome.decision, code: outcome.code, role: outcome.role });
      exchangeSeconds.observe({ decision: outcome.decision }, seconds);
      if (times) {
        for (const [stage, histogram] of stages) {
          const t = times[stage];
          if (t !== undefined) histogram.observe(t);
        }
      }
    },
    mint(type, seconds, ok) {
      mintSeconds.observe({ type }, seconds);
      if (!ok) mintFailures.inc({ type });
    },
    jwksFetch(issuer, ok) {
      jwksFetches.inc({ issuer });
      if (!ok) jwksFailures.inc({ issuer });
    },
    auditWrite(seconds, ok) {
      auditSeconds.observe(seconds);
      if (!ok) auditFailures.inc();
    },
    replayFailure: () => replayFailures.inc(),
    policyReload: (ok) => reloads.inc({ result: ok ? 'ok' : 'failed' }),
    leaseRemoval: (kind, ok) => leaseRemovals.inc({ kind, result: ok ? 'ok' : 'failed' }),
    leasesOverdue: (count) => leasesOverdue.set(count),
    policyLoaded(policy) {
      buildInfo.reset();
      buildInfo.set({ version: VERSION, policy_hash: policy.hash }, 1);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
