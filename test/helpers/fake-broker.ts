// A scripted stand-in for the broker's HTTP API: each request takes the next answer from a list (the last
// one repeats), and every request is recorded, so tests can make a broker fail in exactly the way they need.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface ScriptedAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

export interface FakeBroker {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * `routes` maps a path ("/v1/exchange") to its answers, in order. Unknown paths answer 404 ERR_NOT_FOUND.
 * With `tls`, it serves HTTPS with that key and certificate.
 */
export async function serveFakeBroker(
  routes: Record<string, ScriptedAnswer[]>,
  opts: { tls?: { key: string; cert: string } } = {},
): Promise<FakeBroker> {
  const requests: RecordedRequest[] = [];
  const served = new Map<string, number>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // recorded as {}
      }
      requests.push({ method: req.method ?? '', path, headers: req.headers, body });
      const answers = routes[path];
      const n = served.get(path) ?? 0;
      served.set(path, n + 1);
      const answer = answers?.[Math.min(n, answers.length - 1)] ?? {
        status: 404,
        body: { error: 'ERR_NOT_FOUND', message: 'Not found.', request_id: 'fake-404' },
      };
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
  };
  const server = opts.tls ? createTlsServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** A response with one credential of every type, with values that exercise masking. */
export function allTypesResponse(requestId = '01JFAKEREQUEST0000000000000') {
  const expires = new Date(Date.now() + 10 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    request_id: requestId,
    role: 'deploy',
    expires_at: expires,
    credentials: [
      {
        type: 'aws',
        access_key_id: 'ASIAFAKEACCESSKEY0001',
        secret_access_key: 'fake/aws+secret/access/key/0000000001',
        session_token: 'FwoGZXIvYXdzEFAKESESSIONTOKEN0001==',
        expires_at: expires,
        region: 'eu-west-1',
        role_arn: 'arn:aws:iam::111122223333:role/web-deploy',
      },
      {
        type: 'azure',
        access_token: 'eyJ0eXAiOiJKV1Qi.fake-azure-access-token.0001',
        expires_at: expires,
        tenant_id: 'tenant-0001',
        client_id: 'client-0001',
        scope: 'https://management.azure.com/.default',
      },
      {
        type: 'gcp',
        access_token: 'ya29.fake-gcp-access-token-0001',
        expires_at: expires,
        service_account: 'deploy@proj.iam.gserviceaccount.com',
        project_id: 'proj',
      },
      {
        type: 'github',
        token: 'ghs_fakeGitHubInstallationToken0001',
        expires_at: expires,
        repositories: ['web'],
        permissions: { contents: 'read' },
      },
      { type: 'secret', name: 'DATABASE_URL', env: 'DATABASE_URL', value: 'postgres://app:pa55-fake-db@db.internal:5432/app', version: 3 },
      {
        type: 'secret',
        name: 'TLS_KEY',
        env: 'TLS_KEY',
        value: '-----BEGIN FAKE KEY-----\nMIIfakeLineOne0001\nMIIfakeLineTwo0002\n-----END FAKE KEY-----',
        version: 1,
      },
      {
        type: 'secret',
        name: 'SA_JSON',
        env: 'SA_JSON',
        value:
          '{\n  "type": "service_account",\n  "private_key": "fake-json-private-key-0001",\n  "nested": {"token": "fake-json-nested-token-0002"}\n}',
        version: 2,
      },
      { type: 'secret', name: 'EMPTY', env: 'EMPTY', value: '', version: 1 },
    ],
  };
}
