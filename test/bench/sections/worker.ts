// (c) The Worker: the gzip size of the production bundle from `wrangler deploy --dry-run` (./policies, as
// deployed), and the exchange latency inside workerd: the same Worker code (broker/entry/workers) bundled
// with the bench policy set and run by Miniflare with local D1, KV and the replay Durable Object. The
// issuer's discovery and JWKS are answered by the outbound service, so nothing leaves the machine.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { readPolicyDir } from '../../../broker/entry/node/policy-files.ts';
import { generateKekBase64, importKek } from '../../../broker/src/store/envelope.ts';
import { SecretVault } from '../../../broker/src/store/secrets.ts';
import { generateIssuerKey, publicJwks } from '../../../cli/lib/test-issuer.ts';
import { ROOT } from '../../helpers/processes.ts';
import { MemorySecretStore } from '../../helpers/memory-stores.ts';
import type { BenchContext } from '../lib/context.ts';
import { AUDIENCE, BENCH_ROLE, SECRET_VALUE } from '../lib/fixture.ts';
import { poolSize, round, runLoad } from '../lib/load.ts';
import { githubLikeClaims, tokenSigner } from '../lib/tokens.ts';
import { cpuMs, procStat } from '../lib/processes.ts';

export interface WorkerFigures {
  bundle_bytes: number | null;
  bundle_gzip_bytes: number | null;
  /** What wrangler itself reports as the upload's gzip size, in bytes (for comparison). */
  wrangler_gzip_bytes: number | null;
  build_s: number | null;
  /** The first exchange on a fresh isolate: builds the broker (policy, keys), fetches the JWKS. */
  first_exchange_ms: number | null;
  exchange_requests: number;
  exchange_p50_ms: number | null;
  exchange_p99_ms: number | null;
  exchange_rps_c1: number | null;
  exchange_rps_c8: number | null;
  exchange_p50_ms_c8: number | null;
  exchange_p99_ms_c8: number | null;
  /**
   * CPU milliseconds of the workerd process per exchange at concurrency 1 (Workers bill CPU time). An upper
   * bound: locally the D1 database and the Durable Object run in the same process, which production does
   * not bill to the Worker.
   */
  exchange_cpu_ms: number | null;
  /** The same for a Worker that only verifies the token with jose (the floor of the Node section). */
  floor_cpu_ms: number | null;
  skipped?: string;
}

function run(
  cmd: string,
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs: number,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** `wrangler deploy --dry-run`: exactly what `wrangler deploy` would upload. */
async function bundleSize(
  ctx: BenchContext,
): Promise<Pick<WorkerFigures, 'bundle_bytes' | 'bundle_gzip_bytes' | 'wrangler_gzip_bytes' | 'build_s'>> {
  const out = mkdtempSync(join(tmpdir(), 'sb-bench-worker-'));
  try {
    ctx.progress('worker: wrangler deploy --dry-run');
    const t0 = performance.now();
    // Without BROKER_POLICIES the build bundles ./policies, as a deploy does.
    const { BROKER_POLICIES: _ignored, ...inherited } = process.env;
    const env = { ...inherited, WRANGLER_SEND_METRICS: 'false', CI: '1' };
    // Run by this Node (24): the bin's `env node` may find an older one first on PATH.
    const r = await run(
      process.execPath,
      [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', out],
      env,
      120_000,
    );
    const buildS = (performance.now() - t0) / 1000;
    if (r.code !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${r.out.slice(-2000)}`);
    const files = readdirSync(out).filter((f) => /\.(m?js|wasm)$/.test(f));
    let bytes = 0;
    let gzip = 0;
    for (const f of files) {
      const data = readFileSync(join(out, f));
      bytes += data.byteLength;
      gzip += gzipSync(data).byteLength;
    }
    const m = /gzip:\s*([\d.]+)\s*KiB/.exec(r.out);
    return {
      bundle_bytes: bytes,
      bundle_gzip_bytes: gzip,
      wrangler_gzip_bytes: m ? Math.round(Number(m[1]) * 1024) : null,
      build_s: round(buildS, 1),
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const ISSUER_URL = 'http://127.0.0.1:9999';

/** The Worker entry with the bench policies inlined (the production entry imports the generated bundle). */
function entrySource(): string {
  const files = readPolicyDir(join(ROOT, 'policies')).filter(
    (f) => !f.path.startsWith('tests/') && f.path !== 'issuers.yaml' && !f.path.startsWith('roles/'),
  );
  const policy = [
    ...files,
    { path: 'issuers.yaml', text: `issuers:\n  local:\n    url: ${ISSUER_URL}\n    audience: ${AUDIENCE}\n    algorithms: [RS256]\n` },
    { path: 'roles/bench.yaml', text: BENCH_ROLE },
  ];
  const root = ROOT.replaceAll('\\', '/');
  return [
    `import { createWorkerHandler } from '${root}/broker/entry/workers/handler.ts';`,
    `export { ReplayGuardObject } from '${root}/broker/entry/workers/replay.ts';`,
    `export default createWorkerHandler(${JSON.stringify(policy)});`,
  ].join('\n');
}

/** Splits a migration file into statements (the files hold plain DDL: no semicolons inside strings). */
function statements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((l) => !l.trim().startsWith('--'))
    .join('\n')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The workerd processes that are children of this one (Miniflare starts one per instance). */
function workerdPids(): Set<number> {
  const pids = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat?.comm === 'workerd' && Number(stat.fields[1]) === process.pid) pids.add(Number(entry));
  }
  return pids;
}

/** Miniflare with the given options, and the pid of the workerd process it started. */
async function startMiniflare(options: ConstructorParameters<typeof Miniflare>[0]): Promise<{ mf: Miniflare; url: string; pid?: number }> {
  const before = workerdPids();
  const mf = new Miniflare(options);
  const url = (await mf.ready).toString().replace(/\/$/, '');
  const started = [...workerdPids()].filter((p) => !before.has(p));
  return { mf, url, ...(started.length === 1 ? { pid: started[0]! } : {}) };
}

/** A Worker that answers POST /v1/exchange by verifying the token as the broker does, and nothing else. */
const FLOOR_WORKER = `
import { createLocalJWKSet, jwtVerify } from 'jose';
export default {
  async fetch(request, env) {
    const jwks = createLocalJWKSet(JSON.parse(env.FLOOR_JWKS));
    let body;
    try { body = await request.json(); } catch { return Response.json({ error: 'ERR_REQUEST_INVALID' }, { status: 400 }); }
    try {
      const { payload } = await jwtVerify(body.token, jwks, {
        issuer: env.FLOOR_ISSUER, audience: env.FLOOR_AUDIENCE, algorithms: ['RS256'],
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'], clockTolerance: 30, maxTokenAge: 600,
      });
      return Response.json({ sub: payload.sub, jti: payload.jti });
    } catch { return Response.json({ error: 'ERR_TOKEN_INVALID' }, { status: 401 }); }
  },
};
`;

async function bundleWorker(dir: string, source: string): Promise<string> {
  const entry = join(dir, 'entry.js');
  writeFileSync(entry, source);
  const script = join(dir, 'worker.js');
  await esbuild.build({
    entryPoints: [entry],
    outfile: script,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    minify: true,
    external: ['cloudflare:*'],
    logLevel: 'error',
    nodePaths: [join(ROOT, 'node_modules')],
  });
  return script;
}

/** CPU per verified token of the floor Worker inside workerd, at concurrency 1. */
async function floorWorkerCpu(requests: number): Promise<number | null> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-floor-worker-'));
  let mf: Miniflare | undefined;
  try {
    const script = await bundleWorker(dir, FLOOR_WORKER);
    const key = await generateIssuerKey();
    const started = await startMiniflare(
      convertV4MiniflareOptions({
        host: '127.0.0.1',
        port: 0,
        modules: true,
        rootPath: dir,
        scriptPath: script,
        compatibilityDate: '2026-08-01',
        bindings: { FLOOR_JWKS: JSON.stringify(publicJwks(key)), FLOOR_ISSUER: ISSUER_URL, FLOOR_AUDIENCE: AUDIENCE },
      }),
    );
    mf = started.mf;
    const sign = tokenSigner({ privateJwk: key.privateJwk, issuer: ISSUER_URL, audience: AUDIENCE, claims: githubLikeClaims() });
    await runLoad({ url: started.url, tokens: Array.from({ length: poolSize(20, 1) }, () => sign()), role: 'bench', connections: 1 });
    const before = cpuMs(started.pid);
    const r = await runLoad({
      url: started.url,
      tokens: Array.from({ length: poolSize(requests, 1) }, () => sign()),
      role: 'bench',
      connections: 1,
    });
    const after = cpuMs(started.pid);
    if (r.statuses['200'] !== r.requests) throw new Error(`floor worker: not every verify succeeded: ${JSON.stringify(r.statuses)}`);
    return before === null || after === null ? null : round((after - before) / r.requests, 3);
  } finally {
    await mf?.dispose().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Workerd {
  url: string;
  /** The workerd process (for its CPU time), where it could be found. */
  pid?: number;
  /** A fresh token for the bench role, signed by the issuer the Worker trusts. */
  sign(): string;
  dispose(): Promise<void>;
}

/**
 * The Worker (broker/entry/workers, bundled with the bench policy set by esbuild as wrangler would) inside
 * workerd via Miniflare: local D1 with the migrations applied and the bench secret sealed under its KEK,
 * KV, the replay Durable Object, and the issuer's documents served by the outbound service.
 */
export async function startWorkerd(): Promise<Workerd> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-workerd-'));
  let mf: Miniflare | undefined;
  try {
    const script = await bundleWorker(dir, entrySource());
    const key = await generateIssuerKey();
    const kek = generateKekBase64();
    const documents: Record<string, unknown> = {
      [`${ISSUER_URL}/.well-known/openid-configuration`]: { issuer: ISSUER_URL, jwks_uri: `${ISSUER_URL}/.well-known/jwks.json` },
      [`${ISSUER_URL}/.well-known/jwks.json`]: publicJwks(key),
    };
    // The classic (v4) option shape, which this Miniflare converts; it is what the workers tests use too.
    const started = await startMiniflare(
      convertV4MiniflareOptions({
        host: '127.0.0.1',
        port: 0,
        modules: true,
        rootPath: dir,
        // The Worker logs a JSON line per event; the bench output stays a table.
        handleStructuredLogs: () => {},
        scriptPath: script,
        compatibilityDate: '2026-08-01',
        bindings: { BROKER_KEK: kek, BROKER_PUBLIC_URL: 'http://127.0.0.1:8787' },
        d1Databases: ['DB'],
        kvNamespaces: ['JWKS_CACHE'],
        durableObjects: { REPLAY: { className: 'ReplayGuardObject', useSQLite: true } },
        outboundService: (request: Request) => {
          const body = request.method === 'GET' ? documents[request.url] : undefined;
          return body === undefined ? Response.json({ error: 'no network' }, { status: 502 }) : Response.json(body);
        },
      }),
    );
    mf = started.mf;
    const { url } = started;
    const db = await mf.getD1Database('DB');
    for (const file of readdirSync(join(ROOT, 'migrations'))
      .filter((f) => f.endsWith('.sql'))
      .sort()) {
      for (const s of statements(readFileSync(join(ROOT, 'migrations', file), 'utf8'))) await db.prepare(s).run();
    }
    // The secret, sealed with the Worker's KEK exactly as `secret put` seals it.
    const store = new MemorySecretStore();
    await new SecretVault(store, { current: await importKek(kek) }).put('DATABASE_URL', SECRET_VALUE, Math.floor(Date.now() / 1000));
    const row = store.rows[0]!;
    await db
      .prepare('INSERT INTO secrets (name, version, kek_id, wrapped_key, iv, ciphertext, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .bind(row.name, row.version, row.kek_id, row.wrapped_key, row.iv, row.ciphertext, row.created_at)
      .run();
    const head = (await store.heads())[0]!;
    await db
      .prepare('INSERT INTO secret_heads (name, version, kek_id, seal) VALUES (?, ?, ?, ?)')
      .bind(head.name, head.version, head.kek_id, head.seal)
      .run();
    const sign = tokenSigner({ privateJwk: key.privateJwk, issuer: ISSUER_URL, audience: AUDIENCE, claims: githubLikeClaims() });
    const instance = mf;
    return {
      url,
      ...(started.pid === undefined ? {} : { pid: started.pid }),
      sign: () => sign(),
      dispose: async () => {
        await instance.dispose().catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await mf?.dispose().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function workerdLatency(
  ctx: BenchContext,
): Promise<Omit<WorkerFigures, 'bundle_bytes' | 'bundle_gzip_bytes' | 'wrangler_gzip_bytes' | 'build_s'>> {
  ctx.progress('worker: bundling the Worker with the bench policies (esbuild) and starting workerd (Miniflare)');
  const workerd = await startWorkerd();
  try {
    const { url } = workerd;
    // Local D1 and Durable Objects are slow next to production (tens of ms per exchange): small counts.
    const n1 = ctx.quick ? 60 : 500;
    const n8 = ctx.quick ? 80 : 1000;
    const tokens = Array.from({ length: 1 + poolSize(20, 1) + poolSize(n1, 1) + poolSize(n8, 8) }, () => workerd.sign());
    let at = 0;
    const take = (n: number) => {
      const start = at;
      at += n;
      return tokens.slice(start, at);
    };
    ctx.progress('worker: first exchange on a fresh isolate');
    const t0 = performance.now();
    const first = await fetch(`${url}/v1/exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: take(1)[0], role: 'bench' }),
    });
    const firstMs = performance.now() - t0;
    const firstBody = (await first.json()) as { credentials?: { value?: string }[] };
    if (first.status !== 200 || firstBody.credentials?.[0]?.value !== SECRET_VALUE)
      throw new Error(`workerd exchange answered ${first.status}: ${JSON.stringify(firstBody)}`);
    await runLoad({ url, tokens: take(poolSize(20, 1)), role: 'bench', connections: 1 });
    ctx.progress(`worker: ${n1} exchanges at concurrency 1, ${n8} at 8`);
    const cpuBefore = cpuMs(workerd.pid);
    const c1 = await runLoad({ url, tokens: take(poolSize(n1, 1)), role: 'bench', connections: 1 });
    const cpuAfter = cpuMs(workerd.pid);
    const c8 = await runLoad({ url, tokens: take(poolSize(n8, 8)), role: 'bench', connections: 8 });
    for (const r of [c1, c8])
      if (r.statuses['200'] !== r.requests) throw new Error(`workerd: not every exchange succeeded: ${JSON.stringify(r.statuses)}`);
    return {
      first_exchange_ms: round(firstMs, 1),
      exchange_requests: c1.requests,
      exchange_p50_ms: c1.p50_ms,
      exchange_p99_ms: c1.p99_ms,
      exchange_rps_c1: c1.rps,
      exchange_rps_c8: c8.rps,
      exchange_p50_ms_c8: c8.p50_ms,
      exchange_p99_ms_c8: c8.p99_ms,
      exchange_cpu_ms: cpuBefore === null || cpuAfter === null ? null : round((cpuAfter - cpuBefore) / c1.requests, 3),
      floor_cpu_ms: await floorWorkerCpu(n1),
    };
  } finally {
    await workerd.dispose();
  }
}

/** Quick runs skip the workerd latency when they are this far into their minute (full runs never skip it). */
const QUICK_LATENCY_CUTOFF_S = 42;

export async function benchWorker(ctx: BenchContext): Promise<WorkerFigures> {
  const size = await bundleSize(ctx);
  if (ctx.quick && ctx.elapsed() > QUICK_LATENCY_CUTOFF_S) {
    const skipped = `workerd latency skipped: the quick run was ${Math.round(ctx.elapsed())} s in (full runs always measure it)`;
    ctx.progress(`worker: ${skipped}`);
    return {
      ...size,
      first_exchange_ms: null,
      exchange_requests: 0,
      exchange_p50_ms: null,
      exchange_p99_ms: null,
      exchange_rps_c1: null,
      exchange_rps_c8: null,
      exchange_p50_ms_c8: null,
      exchange_p99_ms_c8: null,
      exchange_cpu_ms: null,
      floor_cpu_ms: null,
      skipped,
    };
  }
  return { ...size, ...(await workerdLatency(ctx)) };
}
