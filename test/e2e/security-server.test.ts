// The Node server's socket limits, with real sockets on loopback against the real Node entry: slow headers
// and slow bodies are cut off within seconds, idle sockets close, one client address cannot hold more than
// BROKER_MAX_CLIENT_CONNECTIONS sockets; and `serve` refuses to start without BROKER_KEK unless --dev.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeBroker, type RunningBroker } from '../../broker/entry/node.ts';
import { HTTP_SERVER_OPTIONS } from '../../broker/entry/node/connections.ts';
import { generateKekBase64 } from '../../broker/src/store/envelope.ts';
import { CLI, ROOT } from '../helpers/processes.ts';

let dir: string;
let pol: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-secsrv-'));
  pol = join(dir, 'policies');
  mkdirSync(join(pol, 'roles'), { recursive: true });
  writeFileSync(join(pol, 'issuers.yaml'), 'issuers:\n  ci:\n    url: https://issuer.invalid\n    audience: https://broker.test\n');
  writeFileSync(
    join(pol, 'roles/app.yaml'),
    'role: app\nissuer: ci\nmax_ttl: 5m\nallow:\n  - repository_id: "1"\ngrants:\n  - type: secret\n    name: S\n',
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Probe {
  socket: Socket;
  /** Resolves when the server closes the socket: how long it stayed open, and what the server sent. */
  closed: Promise<{ ms: number; data: string }>;
  connected: Promise<void>;
}

/** A raw TCP client; `drip` is written one piece every `everyMs` until the socket closes. */
function probe(url: string, opts: { first?: string; drip?: string; everyMs?: number; localAddress?: string } = {}): Probe {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  const socket = connect({ host: hostname, port: Number(port), ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  let data = '';
  let timer: NodeJS.Timeout | undefined;
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.on('data', (d) => (data += d));
  socket.on('error', () => {});
  socket.once('connect', () => {
    if (opts.first) socket.write(opts.first);
    if (opts.drip) timer = setInterval(() => socket.writable && socket.write(opts.drip!), opts.everyMs ?? 250);
  });
  const closed = new Promise<{ ms: number; data: string }>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve({ ms: Date.now() - started, data });
    }),
  );
  return { socket, closed, connected };
}

async function healthz(url: string, localAddress?: string): Promise<string> {
  const p = probe(url, {
    first: 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    ...(localAddress ? { localAddress } : {}),
  });
  return (await p.closed).data;
}

describe('Node server socket limits', () => {
  let broker: RunningBroker;
  const logs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    broker = await startNodeBroker({
      policiesDir: pol,
      dataDir: join(dir, 'data'),
      port: 0,
      host: '127.0.0.1',
      env: { BROKER_KEK: generateKekBase64(), BROKER_MAX_CLIENT_CONNECTIONS: '4' },
      log: (line) => logs.push(line),
    });
  });
  afterAll(() => broker.stop());

  // The default deadlines, checked as configured: headers within 5 s, the whole request within 10 s, checked
  // every second. The original Node defaults (60 s, 300 s, checked every 30 s) let each of these hang on.
  const headerLimit = HTTP_SERVER_OPTIONS.headersTimeout + 2 * HTTP_SERVER_OPTIONS.connectionsCheckingInterval + 1_500;
  const requestLimit = HTTP_SERVER_OPTIONS.requestTimeout + 2 * HTTP_SERVER_OPTIONS.connectionsCheckingInterval + 1_500;

  it('cuts off a request whose headers or body arrive too slowly (slowloris) within seconds, with 408', async () => {
    expect(HTTP_SERVER_OPTIONS.headersTimeout).toBeLessThanOrEqual(10_000);
    expect(HTTP_SERVER_OPTIONS.requestTimeout).toBeLessThanOrEqual(15_000);
    const exchange = 'POST /v1/exchange HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n';
    // Each from its own address, so that the connection cap of 4 plays no part.
    const cases = {
      headersByteByByte: probe(broker.url, {
        first: 'POST /v1/exchange HTTP/1.1\r\n',
        drip: 'X',
        everyMs: 200,
        localAddress: '127.0.0.11',
      }),
      headerLinesForever: probe(broker.url, {
        first: 'GET /healthz HTTP/1.1\r\n',
        drip: 'X-Pad: a\r\n',
        everyMs: 200,
        localAddress: '127.0.0.12',
      }),
      nothingSent: probe(broker.url, { localAddress: '127.0.0.13' }),
      bodyByteByByte: probe(broker.url, {
        first: `${exchange}Content-Length: 16000\r\n\r\n{`,
        drip: ' ',
        everyMs: 200,
        localAddress: '127.0.0.14',
      }),
      chunkedBodyByteByByte: probe(broker.url, {
        first: `${exchange}Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n`,
        drip: '1\r\n \r\n',
        everyMs: 200,
        localAddress: '127.0.0.15',
      }),
      revokeBodyByteByByte: probe(broker.url, {
        first: 'POST /v1/revoke HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n',
        drip: ' ',
        everyMs: 300,
        localAddress: '127.0.0.16',
      }),
    };
    const results = Object.fromEntries(await Promise.all(Object.entries(cases).map(async ([name, p]) => [name, await p.closed] as const)));
    for (const name of ['headersByteByByte', 'headerLinesForever', 'nothingSent'] as const) {
      expect(results[name]!.ms, name).toBeLessThan(headerLimit);
    }
    for (const name of ['bodyByteByByte', 'chunkedBodyByteByByte', 'revokeBodyByteByByte'] as const) {
      expect(results[name]!.ms, name).toBeLessThan(requestLimit);
    }
    for (const [name, r] of Object.entries(results)) {
      // Either a 408 or a plain close; never an answer to the unfinished request.
      expect(r.data === '' || r.data.startsWith('HTTP/1.1 408'), `${name}: ${r.data.slice(0, 40)}`).toBe(true);
    }
    // The server is still there for everyone else, and a cut-off body is the client's fault, not an internal error.
    expect(await healthz(broker.url)).toMatch(/^HTTP\/1\.1 200/);
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(logs.filter((l) => l.detail === 'request.body_incomplete').length).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it('closes an idle keep-alive connection within seconds', async () => {
    const p = probe(broker.url, { first: 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', localAddress: '127.0.0.21' });
    const r = await p.closed;
    expect(r.data).toMatch(/^HTTP\/1\.1 200/);
    expect(r.ms).toBeLessThan(HTTP_SERVER_OPTIONS.keepAliveTimeout + 3_000);
  }, 20_000);

  it('refuses connections beyond BROKER_MAX_CLIENT_CONNECTIONS from one client address, and only from that one', async () => {
    const held = Array.from({ length: 4 }, () => probe(broker.url, { localAddress: '127.0.0.31' }));
    await Promise.all(held.map((p) => p.connected));
    // Beyond the cap: closed at once, with nothing sent, even for a complete request.
    const started = Date.now();
    const extra = await Promise.all(
      Array.from(
        { length: 3 },
        () => probe(broker.url, { first: 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', localAddress: '127.0.0.31' }).closed,
      ),
    );
    for (const r of extra) expect(r.data).toBe('');
    expect(Date.now() - started).toBeLessThan(2_000);
    // Another address is not affected.
    expect(await healthz(broker.url, '127.0.0.32')).toMatch(/^HTTP\/1\.1 200/);
    // A freed place can be used again.
    held[0]!.socket.destroy();
    await held[0]!.closed;
    await new Promise((r) => setTimeout(r, 100));
    expect(await healthz(broker.url, '127.0.0.31')).toMatch(/^HTTP\/1\.1 200/);
    for (const p of held) p.socket.destroy();
  }, 20_000);

  it('refuses to start with a malformed BROKER_MAX_CLIENT_CONNECTIONS', async () => {
    for (const value of ['0', '-1', 'many', '1.5']) {
      await expect(
        startNodeBroker({
          policiesDir: pol,
          dataDir: join(dir, 'bad-cap'),
          port: 0,
          host: '127.0.0.1',
          env: { BROKER_KEK: generateKekBase64(), BROKER_MAX_CLIENT_CONNECTIONS: value },
          log: () => {},
        }),
      ).rejects.toThrow(/BROKER_MAX_CLIENT_CONNECTIONS/);
    }
  });
});

/** `node cli/bin.ts serve ...` with exactly this environment on top of PATH (no inherited BROKER_*). */
function runServe(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: 'pipe',
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('serve without BROKER_KEK', () => {
  it('refuses to start without BROKER_KEK unless --dev, naming BROKER_KEK and --dev, and creates nothing', async () => {
    const data = join(dir, 'no-kek');
    const r = await runServe(['--policies', pol, '--data', data], {});
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/BROKER_KEK is not set/);
    expect(lines[0]).toMatch(/--dev/);
    expect(existsSync(join(data, 'dev-kek'))).toBe(false);
    // Set but empty is not a request for the development KEK either, --dev or not.
    for (const args of [[], ['--dev']]) {
      const empty = await runServe([...args, '--policies', pol, '--data', data], { BROKER_KEK: '' });
      expect(empty.code).toBe(1);
      expect(empty.stderr).toMatch(/BROKER_KEK is set but empty/);
    }
    expect(existsSync(join(data, 'dev-kek'))).toBe(false);
  });

  it('starts with --dev on the development KEK, and says so', async () => {
    const data = join(dir, 'dev');
    const child = spawn(process.execPath, [CLI, 'serve', '--dev', '--port', '0', '--policies', pol, '--data', data], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
      stdio: 'pipe',
    });
    let logs = '';
    child.stderr.on('data', (d) => (logs += d));
    try {
      await expect.poll(() => /listening on http:\/\/\S+/.test(logs), { timeout: 15_000 }).toBe(true);
      expect(logs).toMatch(/WARNING: using a development KEK/);
      expect(existsSync(join(data, 'dev-kek'))).toBe(true);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    }
  });

  it('npm start serves with --dev', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toMatch(/\bserve\b.*--dev\b/);
  });
});
