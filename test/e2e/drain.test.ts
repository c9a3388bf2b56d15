// Graceful shutdown of the real `secret-broker serve` process: exchanges in flight at SIGTERM all get a
// complete answer, every 200 has its audit record, and the process exits 0 after a final checkpoint.
import { request, type ClientRequest } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIssuerKey, serveTestIssuer, signTestToken, type IssuerKey, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';
import { runCli, serveBroker, type ServedBroker } from '../helpers/processes.ts';

const AUD = 'https://broker.drain.test';
let dir: string;
let key: IssuerKey;
let issuer: TestIssuerServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-drain-'));
  key = await generateIssuerKey();
  issuer = await serveTestIssuer(key);
  mkdirSync(join(dir, 'policies/roles'), { recursive: true });
  writeFileSync(join(dir, 'policies/issuers.yaml'), `issuers:\n  ci:\n    url: ${issuer.url}\n    audience: ${AUD}\n`);
  writeFileSync(
    join(dir, 'policies/roles/app.yaml'),
    `role: app\nissuer: ci\nmax_ttl: 5m\nallow:\n  - repository_id: "1"\ngrants:\n  - type: secret\n    name: S\n`,
  );
}, 30_000);

afterAll(async () => {
  await issuer.close();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(data: string, env: Record<string, string> = {}): Promise<ServedBroker> {
  const put = await runCli(['secret', 'put', 'S', '--data', join(dir, data), '--policies', join(dir, 'policies')], { input: 'drained\n' });
  expect(put.code, put.stderr).toBe(0);
  return serveBroker(['--dev', '--policies', join(dir, 'policies'), '--data', join(dir, data)], env);
}

const token = () => signTestToken(key, { iss: issuer.url, aud: AUD, sub: 'repo:acme/app', repository_id: '1' });

interface Pending {
  req: ClientRequest;
  /** Sends the rest of the body. */
  finish(): void;
  done: Promise<{ status: number; body: string; complete: boolean } | { error: string }>;
}

/** An exchange whose headers and all but the last byte of its body are sent: in flight until finish(). */
function startExchange(url: string, tok: string): Promise<Pending> {
  const body = JSON.stringify({ token: tok, role: 'app' });
  const u = new URL(url);
  return new Promise((resolveStarted) => {
    const req = request({
      host: u.hostname,
      port: u.port,
      path: '/v1/exchange',
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    const done = new Promise<{ status: number; body: string; complete: boolean } | { error: string }>((resolveDone) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolveDone({ status: res.statusCode ?? 0, body: text, complete: res.complete }));
        res.on('error', (e) => resolveDone({ error: String(e) }));
      });
      req.on('error', (e) => resolveDone({ error: String(e) }));
    });
    req.on('socket', (socket) =>
      socket.once('connect', () => {
        req.write(body.slice(0, -1));
        resolveStarted({ req, finish: () => req.end(body.slice(-1)), done });
      }),
    );
  });
}

function exited(broker: ServedBroker): Promise<number | null> {
  return new Promise((resolve) => {
    if (broker.child.exitCode !== null) resolve(broker.child.exitCode);
    else broker.child.once('exit', (code) => resolve(code));
  });
}

function auditOf(data: string) {
  const db = new DatabaseSync(join(dir, data, 'broker.db'), { readOnly: true });
  try {
    const records = (db.prepare('SELECT seq, record FROM audit ORDER BY seq').all() as { seq: number; record: string }[]).map((r) => ({
      seq: r.seq,
      ...(JSON.parse(r.record) as { request_id: string; action: string; decision: string; status: number }),
    }));
    const checkpoint = db.prepare('SELECT seq FROM audit_checkpoints ORDER BY seq DESC LIMIT 1').get() as { seq: number } | undefined;
    return { records, checkpointSeq: checkpoint?.seq ?? null };
  } finally {
    db.close();
  }
}

describe('graceful shutdown', () => {
  it('200 exchanges in flight at SIGTERM: every one gets a complete response, every 200 has its audit record, exit 0 with a final checkpoint', async () => {
    const broker = await serve('many');
    const tokens = await Promise.all(Array.from({ length: 200 }, token));
    const pending = await Promise.all(tokens.map((t) => startExchange(broker.url, t)));
    // Give the server time to read every request's headers: each handler is then running, awaiting its body.
    await new Promise((r) => setTimeout(r, 800));
    broker.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    expect(broker.child.exitCode).toBeNull(); // still draining
    // A new connection is no longer accepted.
    const late = await fetch(`${broker.url}/healthz`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(late).toBe('refused');
    for (const p of pending) p.finish();
    const results = await Promise.all(pending.map((p) => p.done));
    const code = await exited(broker);

    const errors = results.filter((r) => 'error' in r);
    expect(errors, JSON.stringify(errors.slice(0, 3))).toEqual([]);
    const answered = results as { status: number; body: string; complete: boolean }[];
    expect(answered.every((r) => r.complete)).toBe(true);
    expect(answered.map((r) => r.status)).toEqual(Array(200).fill(200));
    const ids = answered.map((r) => (JSON.parse(r.body) as { request_id: string; credentials: { value: string }[] }).request_id);
    expect(code, broker.logs()).toBe(0);

    const { records, checkpointSeq } = auditOf('many');
    const allowed = new Set(records.filter((r) => r.action === 'exchange' && r.decision === 'allow').map((r) => r.request_id));
    expect(ids.filter((id) => !allowed.has(id))).toEqual([]);
    expect(checkpointSeq).toBe(records.at(-1)!.seq);
    expect(broker.logs()).not.toMatch(/database is not open|audit\.write_failed/);
    const stopped = broker
      .logs()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.event === 'broker.stopped');
    expect(stopped).toMatchObject({ level: 'info', in_flight_at_stop: 200, answered_503: 0, checkpoint_seq: checkpointSeq });
  }, 120_000);

  it('a request still running when BROKER_SHUTDOWN_GRACE runs out is answered 503 (a complete response), not reset, and the process still exits 0', async () => {
    const broker = await serve('grace', { BROKER_SHUTDOWN_GRACE: '1s' });
    // A keep-alive client: its socket must be closed after the response it is waiting for.
    const stuck = await startExchange(broker.url, await token());
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    broker.child.kill('SIGTERM');
    const result = await stuck.done;
    expect(result).toMatchObject({ status: 503, complete: true });
    expect(JSON.parse((result as { body: string }).body)).toMatchObject({ error: 'ERR_UNAVAILABLE' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await exited(broker)).toBe(0);
    stuck.req.destroy();
    expect(broker.logs()).toContain('shutdown.grace_expired');
  }, 60_000);
});
