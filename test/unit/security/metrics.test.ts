// GET /metrics (Prometheus text, prom-client) and the request log: the exposition parses strictly, the
// exchange counter equals the exchanges made, no label takes a value a caller chose, BROKER_METRICS_TOKEN
// guards the route when set, and every request leaves one JSON log line without tokens or values.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSettings } from '../../../broker/src/settings.ts';
import { opsFixture, type OpsFixture } from '../../helpers/ops-broker.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict parser of the Prometheus text format 0.0.4: every line is a HELP, a TYPE or a sample; every
 * sample belongs to a family whose TYPE came first; label values are properly escaped; histograms have
 * cumulative buckets ending in +Inf equal to _count. Throws on anything else.
 */
function parsePrometheus(text: string): Sample[] {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  // Prometheus parses values with Go's ParseFloat: NaN and Inf in any letter case (prom-client writes `Nan`,
  // e.g. for the event-loop lag before its first sample).
  const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)|[nN][aA][nN])$/;
  for (const [i, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${i + 1}: ${line}`;
    // The format ignores empty lines (prom-client separates families with one).
    if (line === '') continue;
    let m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    if (m) continue;
    m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (m) {
      if (types.has(m[1]!)) throw new Error(`TYPE twice at ${where}`);
      types.set(m[1]!, m[2]!);
      continue;
    }
    if (line.startsWith('#')) throw new Error(`unknown comment at ${where}`);
    m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`).exec(line);
    if (!m) throw new Error(`not a sample at ${where}`);
    const [, name, labelText, valueText] = m;
    if (!VALUE.test(valueText!)) throw new Error(`bad value at ${where}`);
    const labels: Record<string, string> = {};
    if (labelText !== undefined && labelText !== '') {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
      let pos = 0;
      while (pos < labelText.length) {
        re.lastIndex = pos;
        const l = re.exec(labelText);
        if (!l) throw new Error(`bad labels at ${where}`);
        if (l[1]! in labels) throw new Error(`label twice at ${where}`);
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        pos = re.lastIndex;
        if (l[3] === '' && pos !== labelText.length) throw new Error(`bad labels at ${where}`);
      }
    }
    const family = [...types.keys()].find(
      (f) =>
        f === name ||
        (['histogram', 'summary'].includes(types.get(f)!) && /^(_bucket|_sum|_count)$/.test(name!.slice(f.length)) && name!.startsWith(f)),
    );
    if (!family) throw new Error(`sample without a TYPE at ${where}`);
    samples.push({ name: name!, labels, value: Number(valueText!.replace('Inf', 'Infinity')) });
  }
  // Histograms: cumulative buckets, +Inf last, equal to _count.
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${family}_bucket without le`);
      const k = JSON.stringify(rest);
      series.set(k, [...(series.get(k) ?? []), s]);
    }
    for (const [k, buckets] of series) {
      for (let i = 1; i < buckets.length; i++) if (buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${family} not cumulative`);
      const inf = buckets.at(-1)!;
      const count = samples.find((x) => x.name === `${family}_count` && JSON.stringify(x.labels) === k);
      if (inf.labels.le !== '+Inf' || !count || count.value !== inf.value) throw new Error(`${family}: +Inf bucket and _count disagree`);
    }
  }
  return samples;
}

let fx: OpsFixture;
beforeAll(async () => {
  fx = await opsFixture('metrics');
});
afterAll(async () => {
  await fx.close();
});

const sum = (samples: Sample[], name: string, where: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);

describe('/metrics parses as Prometheus text and counts exactly the exchanges made', () => {
  it('the strict parser refuses what is not the format (it can fail)', () => {
    expect(() => parsePrometheus('x 1')).toThrow();
    expect(() => parsePrometheus('# TYPE x counter\n x 1\n')).toThrow('not a sample');
    expect(() => parsePrometheus('x 1\n')).toThrow('without a TYPE');
    expect(() => parsePrometheus('# TYPE x counter\nx{a="b} 1\n')).toThrow('bad labels');
    expect(() => parsePrometheus('# TYPE x counter\nx one\n')).toThrow('bad value');
    expect(() => parsePrometheus('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n')).toThrow('cumulative');
    expect(parsePrometheus('# HELP x a\n# TYPE x counter\nx{a="q\\"uote"} 3\n')).toEqual([
      { name: 'x', labels: { a: 'q"uote' }, value: 3 },
    ]);
  });

  it('its exchange counter equals the number of exchanges made, by decision, code and role; a role name a caller sends is never a label', async () => {
    const b = await fx.start({ data: 'm1' });
    const outcomes: number[] = [];
    for (let i = 0; i < 5; i++) outcomes.push((await b.exchange(await fx.token('1'))).status);
    for (let i = 0; i < 3; i++) outcomes.push((await b.exchange(await fx.token('7'))).status);
    const names = ['no-such-role-a1b2', 'x'.repeat(60), 'attacker.chosen'];
    for (const n of names) outcomes.push((await b.exchange(await fx.token('1'), n)).status);
    outcomes.push((await b.exchange('not-a-jwt')).status);
    expect(outcomes).toEqual([...Array(5).fill(200), ...Array(3).fill(403), 403, 403, 403, 400]);

    const res = await fetch(`${b.broker.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const samples = parsePrometheus(text);
    expect(sum(samples, 'secret_broker_exchanges_total')).toBe(12);
    expect(sum(samples, 'secret_broker_exchanges_total', { decision: 'allow', code: 'OK', role: 'app' })).toBe(5);
    expect(sum(samples, 'secret_broker_exchanges_total', { decision: 'deny', code: 'ERR_ACCESS_DENIED', role: 'app' })).toBe(3);
    expect(sum(samples, 'secret_broker_exchanges_total', { decision: 'deny', code: 'ERR_ACCESS_DENIED', role: '_other' })).toBe(3);
    expect(sum(samples, 'secret_broker_exchanges_total', { decision: 'deny', code: 'ERR_REQUEST_INVALID', role: 'app' })).toBe(1);
    for (const n of names) expect(text).not.toContain(n);
    expect(sum(samples, 'secret_broker_exchange_duration_seconds_count')).toBe(12);
    expect(sum(samples, 'secret_broker_upstream_mint_duration_seconds_count', { type: 'secret' })).toBe(5);
    expect(sum(samples, 'secret_broker_upstream_mint_failures_total')).toBe(0);
    expect(sum(samples, 'secret_broker_jwks_fetches_total', { issuer: 'ci' })).toBeGreaterThanOrEqual(1);
    expect(sum(samples, 'secret_broker_audit_write_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sum(samples, 'secret_broker_audit_write_failures_total')).toBe(0);
    expect(sum(samples, 'secret_broker_replay_store_failures_total')).toBe(0);
    expect(samples.find((s) => s.name === 'secret_broker_build_info')?.labels.policy_hash).toBe(b.broker.deps.policy().hash);
    // Where the time went, per stage, for the exchanges that reached it: every one was audited, only the
    // allowed ones minted, and the stages never add up to more than the exchanges took.
    const stage = (name: string, what: '_count' | '_sum') =>
      sum(samples, `secret_broker_exchange_stage_duration_seconds${what}`, { stage: name });
    expect(stage('audit_write', '_count')).toBe(12);
    expect(stage('audit_queue', '_count')).toBe(12);
    expect(stage('mint', '_count')).toBe(5);
    expect(stage('replay', '_count')).toBeGreaterThanOrEqual(8);
    expect(stage('verify', '_count')).toBe(stage('replay', '_count') + 1); // not-a-jwt fails in verify
    expect(stage('policy', '_count')).toBeGreaterThanOrEqual(8);
    const stagesSum = ['verify', 'replay', 'policy', 'mint', 'audit_queue', 'audit_write'].reduce((a, n) => a + stage(n, '_sum'), 0);
    expect(stagesSum).toBeGreaterThan(0);
    expect(stagesSum).toBeLessThanOrEqual(sum(samples, 'secret_broker_exchange_duration_seconds_sum'));

    // A reload is counted and the build info follows it.
    fx.writeRole('other', 'role: other\nissuer: ci\nmax_ttl: 5m\nallow:\n  - repository_id: "5"\ngrants:\n  - type: secret\n    name: S\n');
    await b.broker.reloadPolicy('sighup');
    const after = parsePrometheus(await (await fetch(`${b.broker.url}/metrics`)).text());
    expect(sum(after, 'secret_broker_policy_reloads_total', { result: 'ok' })).toBe(1);
    expect(after.filter((s) => s.name === 'secret_broker_build_info').map((s) => s.labels.policy_hash)).toEqual([
      b.broker.deps.policy().hash,
    ]);
    await b.broker.stop();
  });

  it('audit write and replay store failures are counted', async () => {
    const b = await fx.start({ data: 'm2' });
    expect((await b.exchange(await fx.token('1'))).status).toBe(200);
    b.broker.close(); // the database goes away: the next write and claim fail
    expect((await b.exchange(await fx.token('1'))).status).toBe(503);
    const samples = parsePrometheus(await (await fetch(`${b.broker.url}/metrics`)).text());
    expect(sum(samples, 'secret_broker_replay_store_failures_total')).toBe(1);
    expect(sum(samples, 'secret_broker_audit_write_failures_total')).toBe(1);
    expect(sum(samples, 'secret_broker_exchanges_total', { decision: 'error', code: 'ERR_UNAVAILABLE' })).toBe(1);
    await b.broker.stop().catch(() => {});
  });
});

describe('with BROKER_METRICS_TOKEN set, /metrics answers only to that bearer token', () => {
  const token = 'm3tr1cs-t0ken-0123456789abcdef';

  it('refuses a missing, wrong, malformed or prefix token with 401, and serves the right one', async () => {
    const b = await fx.start({ data: 'm3', env: { BROKER_METRICS_TOKEN: token } });
    for (const authorization of [
      undefined,
      'Bearer wrong',
      `Bearer ${token.slice(0, -1)}`,
      `Bearer ${token}x`,
      token,
      `Basic ${token}`,
      `Bearer  ${token}`,
    ]) {
      const res = await fetch(`${b.broker.url}/metrics`, { headers: authorization ? { authorization } : {} });
      expect(res.status, String(authorization)).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
      expect(await res.text()).not.toContain('secret_broker_');
    }
    const ok = await fetch(`${b.broker.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('secret_broker_exchanges_total');
    expect(JSON.stringify(b.lines)).not.toContain(token);
    await b.broker.stop();
  });

  it('a weak BROKER_METRICS_TOKEN refuses to start', () => {
    for (const weak of ['short', 'has spaces in it but is long enough']) {
      const parsed = parseSettings({ BROKER_METRICS_TOKEN: weak });
      expect(parsed.ok).toBe(false);
      expect(JSON.stringify(parsed)).toContain('BROKER_METRICS_TOKEN must be at least 24 characters');
      expect(JSON.stringify(parsed)).not.toContain(weak);
    }
  });
});

describe('logs: one JSON line per request, allowed ones too, with time, level, request id, decision, code, role, issuer, duration; never a token or a value', () => {
  it('writes the request line for an allow, a deny and a non-audited route', async () => {
    const b = await fx.start({ data: 'logs' });
    const tok = await fx.token('1');
    const allowed = await b.exchange(tok);
    const denied = await b.exchange(await fx.token('7'));
    await fetch(`${b.broker.url}/healthz`);
    const requests = b.lines.filter((l) => l.event === 'request');
    expect(requests).toHaveLength(3);
    expect(requests[0]).toMatchObject({
      level: 'info',
      request_id: allowed.body.request_id,
      method: 'POST',
      path: '/v1/exchange',
      status: 200,
      decision: 'allow',
      code: 'OK',
      role: 'app',
      issuer: 'ci',
    });
    expect(requests[1]).toMatchObject({ request_id: denied.body.request_id, status: 403, decision: 'deny', code: 'ERR_ACCESS_DENIED' });
    expect(requests[2]).toMatchObject({ path: '/healthz', status: 200, code: 'OK', decision: null });
    for (const l of requests) {
      expect(typeof l.duration_ms).toBe('number');
      expect(Date.parse(String(l.time))).not.toBeNaN();
    }
    const all = JSON.stringify(b.lines);
    expect(all).not.toContain(tok);
    expect(all).not.toContain(tok.split('.')[2]);
    expect(all).not.toContain('the-secret-value');
    await b.broker.stop();
  });
});
