// Fault scenarios against the real broker process (`secret-broker serve` with node:sqlite), shared by the
// resilience tests (small sizes, in `npm test`) and the bench (full sizes). Each returns what happened; the
// callers decide what must hold. Everything is loopback and bounded in count and time.
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DATABASE_FILE, openDatabase, SqliteAuditStore } from '../../../broker/entry/node/sqlite.ts';
import { readAll, verifyChain, type ChainCheck } from '../../../broker/src/audit/chain.ts';
import { generateIssuerKey, publicJwks, type IssuerKey } from '../../../cli/lib/test-issuer.ts';
import { runCli } from '../../helpers/processes.ts';
import { createFixture, SECRET_VALUE, type Fixture } from './fixture.ts';
import { fetchAll, round, type Answer } from './load.ts';
import { startBroker, type Child } from './processes.ts';
import { signTokens, tokenSigner } from './tokens.ts';

export type AuditRecordView = {
  request_id: string;
  code: string;
  reason: string;
  status: number;
  jti: string | null;
  role: string | null;
  upstream?: { type: string; code: string };
};

export interface AuditState {
  records: AuditRecordView[];
  chain: ChainCheck;
}

/** Reads the data folder's audit log (the broker stopped or not) and checks its hash chain. */
export async function readAudit(dataDir: string): Promise<AuditState> {
  const db = openDatabase(dataDir);
  try {
    const store = new SqliteAuditStore(db);
    const entries = [];
    for await (const e of readAll(store)) entries.push(e);
    return { records: entries.map((e) => JSON.parse(e.record) as AuditRecordView), chain: await verifyChain(entries) };
  } finally {
    db.close();
  }
}

/** `secret-broker audit verify` on the data folder: the chain and its signed checkpoints, as an operator runs it. */
export async function cliVerify(fixture: Fixture): Promise<{ ok: boolean; output: string }> {
  const r = await runCli(['audit', 'verify', '--data', fixture.dataDir, '--policies', fixture.policiesDir], { env: fixture.env });
  return { ok: r.code === 0, output: (r.stdout + r.stderr).trim().slice(-2000) };
}

const jtiOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;

function count<T extends string | number>(values: T[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[String(v)] = (out[String(v)] ?? 0) + 1;
  return out;
}

async function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
}

// ---------------------------------------------------------------------------------------------------------
// 1. The issuer's JWKS endpoint fails half the time.

/** A loopback issuer (discovery and JWKS for `key`) whose JWKS answers 503 on every other request. */
export async function serveFlakyIssuer(
  key: IssuerKey,
): Promise<{ url: string; jwksCalls: () => number; jwksFailures: () => number; close(): Promise<void> }> {
  let url = '';
  let calls = 0;
  let failures = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') return send(200, { issuer: url, jwks_uri: `${url}/.well-known/jwks.json` });
    if (req.url === '/.well-known/jwks.json') {
      // The first fetch fails, so a cold broker meets the failure at once.
      if (calls++ % 2 === 0) {
        failures++;
        return send(503, { error: 'flaky' });
      }
      return send(200, publicJwks(key));
    }
    return send(404, { error: 'not found' });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, jwksCalls: () => calls, jwksFailures: () => failures, close: () => closeServer(server, sockets) };
}

export interface FlakyJwksResult {
  requests: number;
  seconds: number;
  statuses: Record<string, number>;
  codes: Record<string, number>;
  /** Answers without a request_id, or with a status outside 200/401/403/503 (a 500 is a bug). */
  unexpected: Answer[];
  duplicatesSent: number;
  rogueSent: number;
  /** jtis that got more than one 200. */
  jtisSucceededTwice: string[];
  /** Audit records written during the run, and answers whose request_id has no record. */
  auditRecords: number;
  unaudited: string[];
  chainOk: boolean;
  cliVerifyOk: boolean;
  cliVerifyOutput: string;
  jwksFetches: number;
  jwksFailures: number;
}

/**
 * `requests` exchanges at `concurrency` against a cold broker whose issuer's JWKS fails every other time.
 * The first `concurrency` go as a burst on the cold broker, the rest after its backoff.
 * Every `duplicateEvery`-th request repeats the previous token (in flight together), every `rogueEvery`-th
 * carries a kid the issuer never published (which must not drive JWKS fetches).
 */
export async function flakyJwksScenario(opts: {
  requests: number;
  concurrency: number;
  duplicateEvery?: number;
  rogueEvery?: number;
}): Promise<FlakyJwksResult> {
  const key = await generateIssuerKey();
  const issuer = await serveFlakyIssuer(key);
  const fixture = await createFixture({ key, issuer });
  let broker: Child | undefined;
  try {
    broker = await startBroker({ policiesDir: fixture.policiesDir, dataDir: fixture.dataDir, env: fixture.env });
    const before = (await readAudit(fixture.dataDir)).records.length;
    const sign = tokenSigner(fixture.spec());
    const rogue = tokenSigner({ ...fixture.spec(), privateJwk: { ...(await generateIssuerKey()).privateJwk, kid: 'rogue-kid' } });
    const dupEvery = opts.duplicateEvery ?? 10;
    const rogueEvery = opts.rogueEvery ?? 25;
    const tokens: string[] = [];
    let duplicatesSent = 0;
    let rogueSent = 0;
    for (let i = 0; i < opts.requests; i++) {
      if (i > 0 && i % dupEvery === 0) {
        tokens.push(tokens[i - 1]!);
        duplicatesSent++;
      } else if (i % rogueEvery === rogueEvery - 1) {
        tokens.push(rogue());
        rogueSent++;
      } else tokens.push(sign());
    }
    const bodies = tokens.map((token) => ({ token, role: 'bench' }));
    const t0 = performance.now();
    // A cold burst meets the first (failing) JWKS fetch; then, once the broker's backoff (1 s) let the next
    // fetch through, the rest of the load.
    const cold = await fetchAll(`${broker.url}/v1/exchange`, bodies.slice(0, opts.concurrency), opts.concurrency);
    await new Promise((r) => setTimeout(r, 1_200));
    const rest = await fetchAll(`${broker.url}/v1/exchange`, bodies.slice(opts.concurrency), opts.concurrency);
    const answers = [...cold, ...rest];
    const seconds = (performance.now() - t0) / 1000;
    // SIGTERM: the broker signs a last checkpoint, as an operator's shutdown does.
    await broker.stop();
    const audit = await readAudit(fixture.dataDir);
    const ids = new Set(audit.records.map((r) => r.request_id));
    const successes = new Map<string, number>();
    answers.forEach((a, i) => {
      if (a.status === 200) successes.set(jtiOf(tokens[i]!), (successes.get(jtiOf(tokens[i]!)) ?? 0) + 1);
    });
    const verify = await cliVerify(fixture);
    return {
      requests: answers.length,
      seconds: round(seconds, 2),
      statuses: count(answers.map((a) => a.status)),
      codes: count(answers.map((a) => String(a.body?.error ?? (a.status === 200 ? 'OK' : 'none')))),
      unexpected: answers.filter((a) => typeof a.body?.request_id !== 'string' || ![200, 401, 403, 503].includes(a.status)).slice(0, 5),
      duplicatesSent,
      rogueSent,
      jtisSucceededTwice: [...successes].filter(([, n]) => n > 1).map(([jti]) => jti),
      auditRecords: audit.records.length - before,
      unaudited: answers
        .map((a) => String(a.body?.request_id))
        .filter((id) => !ids.has(id))
        .slice(0, 5),
      chainOk: audit.chain.ok,
      cliVerifyOk: verify.ok,
      cliVerifyOutput: verify.output,
      jwksFetches: issuer.jwksCalls(),
      jwksFailures: issuer.jwksFailures(),
    };
  } finally {
    await broker?.stop();
    await fixture.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2. An upstream that hangs.

/** Accepts connections and reads requests, and never answers. */
export async function serveHangingUpstream(): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = createServer(() => {
    requests++;
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => closeServer(server, sockets),
  };
}

const hangingRoles = (upstream: string): Record<string, string> => {
  const head = (name: string) => `role: ${name}
issuer: local
max_ttl: 15m
allow:
  - repository_id: "123456"
    ref: refs/heads/main
grants:
  - type: secret
    name: DATABASE_URL
`;
  return {
    'hang-aws': `${head('hang-aws')}  - type: aws
    role_arn: arn:aws:iam::111122223333:role/web-deploy
    region: us-east-1
    sts_endpoint: ${upstream}
`,
    'hang-gcp': `${head('hang-gcp')}  - type: gcp
    workload_identity_provider: projects/123456789012/locations/global/workloadIdentityPools/ci/providers/secret-broker
    sts_url: ${upstream}/v1/token
`,
    'hang-azure': `${head('hang-azure')}  - type: azure
    tenant_id: 00000000-0000-0000-0000-000000000001
    client_id: 00000000-0000-0000-0000-000000000002
    scope: https://management.azure.com/.default
    authority_host: ${upstream}
`,
  };
};

export interface HangResult {
  timeoutMs: number;
  answers: { role: string; status: number; code: string | null; ms: number; leaked: boolean }[];
  /** GET /healthz while every exchange hung: the broker keeps serving. */
  healthzMs: number;
  healthzStatus: number;
  upstreamRequests: number;
  /** The audit records of the hung requests: code and upstream detail. */
  audited: { code: string; reason: string; upstream?: { type: string; code: string } }[];
  chainOk: boolean;
}

/** `perRole` concurrent exchanges for each of an AWS, a GCP and an Azure grant behind an upstream that never answers. */
export async function hangingUpstreamScenario(opts: { timeoutMs: number; perRole: number }): Promise<HangResult> {
  const upstream = await serveHangingUpstream();
  const fixture = await createFixture({ roles: hangingRoles(upstream.url), env: { BROKER_UPSTREAM_TIMEOUT_MS: String(opts.timeoutMs) } });
  let broker: Child | undefined;
  try {
    broker = await startBroker({ policiesDir: fixture.policiesDir, dataDir: fixture.dataDir, env: fixture.env });
    const sign = tokenSigner(fixture.spec());
    const roles = Object.keys(hangingRoles(upstream.url));
    const url = broker.url;
    const one = async (role: string) => {
      const t0 = performance.now();
      const res = await fetch(`${url}/v1/exchange`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: sign(), role }),
        signal: AbortSignal.timeout(opts.timeoutMs + 20_000),
      });
      const text = await res.text();
      const body = JSON.parse(text) as { error?: string; request_id?: string };
      return {
        role,
        status: res.status,
        code: body.error ?? null,
        ms: Math.round(performance.now() - t0),
        leaked: text.includes(SECRET_VALUE) || text.includes('credentials'),
        id: body.request_id,
      };
    };
    const pending = roles.flatMap((role) => Array.from({ length: opts.perRole }, () => one(role)));
    // Half way through the deadline, while every exchange waits on the upstream.
    await new Promise((r) => setTimeout(r, opts.timeoutMs / 2));
    const h0 = performance.now();
    const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) });
    const healthzMs = Math.round(performance.now() - h0);
    const answers = await Promise.all(pending);
    await broker.stop();
    const audit = await readAudit(fixture.dataDir);
    const byId = new Map(audit.records.map((r) => [r.request_id, r]));
    return {
      timeoutMs: opts.timeoutMs,
      answers: answers.map(({ id: _id, ...a }) => a),
      healthzMs,
      healthzStatus: health.status,
      upstreamRequests: upstream.requests(),
      audited: answers
        .map((a) => byId.get(String(a.id)))
        .filter((r): r is AuditRecordView => !!r)
        .map((r) => ({ code: r.code, reason: r.reason, ...(r.upstream ? { upstream: r.upstream } : {}) })),
      chainOk: audit.chain.ok,
    };
  } finally {
    await broker?.stop();
    await upstream.close();
    await fixture.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// 3. The database is locked by someone else (node:sqlite's busy timeout, then failure).

export interface LockedResult {
  /** The exchange sent while another connection held the write lock. */
  locked: { status: number; code: string | null; ms: number; leaked: boolean; requestId: string | null };
  /** /healthz sent at the same time: node:sqlite waits synchronously, so this shows what the lock costs. */
  healthzMs: number;
  /** The same token once the lock is released: the refused exchange must not have used it up. */
  retry: { status: number; code: string | null; requestId: string | null };
  lockedRequestAudited: boolean;
  retryAudited: boolean;
  chainOk: boolean;
}

export async function lockedDatabaseScenario(): Promise<LockedResult> {
  const fixture = await createFixture();
  let broker: Child | undefined;
  let lock: DatabaseSync | undefined;
  try {
    broker = await startBroker({ policiesDir: fixture.policiesDir, dataDir: fixture.dataDir, env: fixture.env });
    const sign = tokenSigner(fixture.spec());
    const post = async (token: string) => {
      const t0 = performance.now();
      const res = await fetch(`${broker!.url}/v1/exchange`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, role: 'bench' }),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      const body = JSON.parse(text) as { error?: string; request_id?: string };
      return {
        status: res.status,
        code: body.error ?? null,
        ms: Math.round(performance.now() - t0),
        leaked: text.includes(SECRET_VALUE),
        requestId: body.request_id ?? null,
      };
    };
    // Warm: keys fetched, statements prepared.
    const warm = await post(sign());
    if (warm.status !== 200) throw new Error(`warm-up exchange answered ${warm.status} ${warm.code}`);
    lock = new DatabaseSync(join(fixture.dataDir, DATABASE_FILE));
    lock.exec('BEGIN IMMEDIATE'); // holds the write lock: every write of the broker waits, then fails
    const token = sign();
    const pending = post(token);
    await new Promise((r) => setTimeout(r, 200));
    const h0 = performance.now();
    await fetch(`${broker.url}/healthz`, { signal: AbortSignal.timeout(30_000) });
    const healthzMs = Math.round(performance.now() - h0);
    const locked = await pending;
    lock.exec('ROLLBACK');
    lock.close();
    lock = undefined;
    const retry = await post(token);
    await broker.stop();
    const audit = await readAudit(fixture.dataDir);
    const ids = new Set(audit.records.map((r) => r.request_id));
    return {
      locked,
      healthzMs,
      retry: { status: retry.status, code: retry.code, requestId: retry.requestId },
      lockedRequestAudited: ids.has(String(locked.requestId)),
      retryAudited: ids.has(String(retry.requestId)),
      chainOk: audit.chain.ok,
    };
  } finally {
    lock?.close();
    await broker?.stop();
    await fixture.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// 4. The broker is killed (SIGKILL) under load and restarted on the same data folder.

export interface RestartResult {
  requests: number;
  /** Answers received (any HTTP status) before and after the kill. */
  acknowledged: number;
  /** Requests that got no answer (connection reset by the kill): their fate is unknown to the client. */
  lost: number;
  /** Acknowledged request ids missing from the audit log after the restart (must be none). */
  missing: string[];
  statuses: Record<string, number>;
  /** The tokens of lost requests, sent again to the restarted broker: 200 (never claimed) or 401 (claimed). */
  resent: Record<string, number>;
  jtisSucceededTwice: string[];
  chainOk: boolean;
  cliVerifyOk: boolean;
  cliVerifyOutput: string;
  restartMs: number;
}

export async function restartScenario(opts: { requests: number; concurrency: number; killAfter: number }): Promise<RestartResult> {
  const fixture = await createFixture();
  let broker: Child | undefined;
  try {
    broker = await startBroker({ policiesDir: fixture.policiesDir, dataDir: fixture.dataDir, env: fixture.env });
    const tokens = signTokens(fixture.spec(), opts.requests);
    const answers: (Answer & { token: string })[] = [];
    let url = broker.url;
    let next = 0;
    let received = 0;
    let restarting: Promise<void> | undefined;
    let restartMs = 0;
    const restart = async () => {
      await broker!.kill(); // SIGKILL while requests are in flight
      const t0 = performance.now();
      broker = await startBroker({ policiesDir: fixture.policiesDir, dataDir: fixture.dataDir, env: fixture.env });
      restartMs = Math.round(performance.now() - t0);
      url = broker.url;
    };
    const worker = async () => {
      for (let i = next++; i < tokens.length; i = next++) {
        if (restarting) await restarting;
        const t0 = performance.now();
        const token = tokens[i]!;
        try {
          const res = await fetch(`${url}/v1/exchange`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ token, role: 'bench' }),
            signal: AbortSignal.timeout(30_000),
          });
          const body = (await res.json()) as Record<string, unknown>;
          answers.push({ index: i, status: res.status, body, ms: performance.now() - t0, token });
          if (++received === opts.killAfter && !restarting) restarting = restart();
        } catch (err) {
          answers.push({ index: i, status: 0, body: null, error: String(err), ms: performance.now() - t0, token });
        }
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
    await restarting;
    // The lost tokens, once more: the restarted broker decides from what it durably knows.
    const lostAnswers = answers.filter((a) => a.status === 0);
    const resent = await fetchAll(
      `${url}/v1/exchange`,
      lostAnswers.map((a) => ({ token: a.token, role: 'bench' })),
      8,
    );
    await broker.stop();
    const audit = await readAudit(fixture.dataDir);
    const ids = new Set(audit.records.map((r) => r.request_id));
    const acknowledged = answers.filter((a) => a.status !== 0);
    const successes = new Map<string, number>();
    const tally = (token: string) => successes.set(jtiOf(token), (successes.get(jtiOf(token)) ?? 0) + 1);
    for (const a of acknowledged) if (a.status === 200) tally(a.token);
    for (const [i, a] of resent.entries()) if (a.status === 200) tally(lostAnswers[i]!.token);
    const verify = await cliVerify(fixture);
    return {
      requests: answers.length,
      acknowledged: acknowledged.length,
      lost: lostAnswers.length,
      missing: acknowledged
        .map((a) => String(a.body?.request_id))
        .filter((id) => !ids.has(id))
        .slice(0, 10),
      statuses: count(answers.map((a) => a.status)),
      resent: count(resent.map((a) => (a.status === 200 ? 'OK' : String(a.body?.error ?? a.status)))),
      jtisSucceededTwice: [...successes].filter(([, n]) => n > 1).map(([jti]) => jti),
      chainOk: audit.chain.ok,
      cliVerifyOk: verify.ok,
      cliVerifyOutput: verify.output,
      restartMs,
    };
  } finally {
    await broker?.stop();
    await fixture.close();
  }
}
