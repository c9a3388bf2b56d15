// Serving a fake (a plain `(req: Request) => Promise<Response>` handler) on loopback, over HTTP or over
// HTTPS with a throwaway self-signed certificate. Some SDKs refuse http:// endpoints (@azure/identity
// insists on an https authority host), so their oracle tests need a real TLS listener they can be told to
// trust. The certificate is made once per process with the openssl CLI and never leaves the temp folder.
import { serve, type ServerType } from '@hono/node-server';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, Agent as HttpsAgent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hang } from './oidc.ts';

export type FakeHandler = (req: Request) => Promise<Response>;

export interface SelfSignedCert {
  /** PEM private key. */
  key: string;
  /** PEM certificate, also its own CA: trust this to trust the server. */
  cert: string;
}

let cached: SelfSignedCert | undefined;

/** A P-256 certificate for 127.0.0.1, ::1 and localhost, valid for a day; one per process. */
export function selfSignedCert(): SelfSignedCert {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'secret-broker-tls-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    cached = { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ServedFake {
  /** Origin without a trailing slash, e.g. https://127.0.0.1:41234 */
  url: string;
  /** With `tls`: the PEM to trust (pass as `ca`). */
  ca?: string;
  /** With `tls`: an https.Agent that trusts `ca` (for Node SDKs that take an agent). */
  agent?: HttpsAgent;
  close(): Promise<void>;
}

/** Serves a handler on 127.0.0.1 (an ephemeral port). `close()` also drops open (hanging) connections. */
export async function serveFake(handler: FakeHandler, opts: { tls?: boolean; port?: number } = {}): Promise<ServedFake> {
  const tls = opts.tls ? selfSignedCert() : undefined;
  const fetch = (req: Request) => handler(req);
  const server = await new Promise<ServerType>((resolve) => {
    const s = tls
      ? serve(
          {
            fetch,
            port: opts.port ?? 0,
            hostname: '127.0.0.1',
            createServer: createHttpsServer,
            serverOptions: { key: tls.key, cert: tls.cert },
          },
          () => resolve(s),
        )
      : serve({ fetch, port: opts.port ?? 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  const agent = tls ? new HttpsAgent({ ca: tls.cert, keepAlive: false }) : undefined;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    ...(tls ? { ca: tls.cert } : {}),
    ...(agent ? { agent } : {}),
    close: () =>
      new Promise<void>((resolve) => {
        agent?.destroy();
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/** A fetch function backed by a handler directly (no socket), for tests that want no listener at all. */
export function handlerFetch(handler: FakeHandler) {
  return (input: Request | string | URL, init?: RequestInit): Promise<Response> => handler(new Request(input, init));
}

/** Resolves when the request is aborted (the client gave up) or after `maxMs`, for `hang` modes. */
export function hangUntilAborted(req: Request, maxMs = 120_000): Promise<Response> {
  return hang(req, maxMs);
}
