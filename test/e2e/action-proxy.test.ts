// The action and the CLI behind a corporate proxy with a private CA: HTTPS_PROXY is used, NO_PROXY is
// honoured, and the broker's certificate is trusted only through NODE_EXTRA_CA_CERTS.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateIssuerKey, serveTestIssuer, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';
import {
  asMap,
  parseFileCommands,
  runActionStep,
  serveTokenService,
  stepFiles,
  type FakeTokenService,
} from '../helpers/fake-actions-runtime.ts';
import { allTypesResponse, serveFakeBroker, type FakeBroker } from '../helpers/fake-broker.ts';
import { runCli } from '../helpers/processes.ts';
import { certificateFor, serveTunnelProxy, type TunnelProxy } from '../helpers/proxy.ts';

const HOST = 'broker.proxy.test';
let dir: string;
let caFile: string;
let issuer: TestIssuerServer;
let tokens: FakeTokenService;
let broker: FakeBroker;
let proxy: TunnelProxy;
let step = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-proxy-'));
  const tls = certificateFor(HOST);
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, tls.cert);
  const { key } = await loadOrCreateIssuerKey(join(dir, 'issuer-key.json'));
  issuer = await serveTestIssuer(key);
  tokens = await serveTokenService(key, issuer.url, { sub: 'repo:acme/web:ref:refs/heads/main' });
  broker = await serveFakeBroker(
    { '/v1/exchange': [{ status: 200, body: allTypesResponse() }], '/v1/revoke': [{ status: 200, body: {} }] },
    { tls },
  );
  proxy = await serveTunnelProxy(Number(new URL(broker.url).port));
}, 30_000);

afterAll(async () => {
  await proxy?.close();
  await broker?.close();
  await tokens?.close();
  await issuer?.close();
  rmSync(dir, { recursive: true, force: true });
});

const main = (env: Record<string, string>) =>
  runActionStep('main', {
    inputs: { 'broker-url': `https://${HOST}`, role: 'deploy', retries: '0', 'timeout-seconds': '10' },
    files: stepFiles(join(dir, `step-${++step}`)),
    env: { ...tokens.env(), ...env },
  });

describe('behind a proxy, with a private CA', () => {
  it('the action tunnels through HTTPS_PROXY and trusts NODE_EXTRA_CA_CERTS', async () => {
    const before = proxy.connects.length;
    const r = await main({ HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: caFile });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(proxy.connects.slice(before)).toEqual([`${HOST}:443`]);
    expect(asMap(parseFileCommands(r.files.read('env'))).GH_TOKEN).toBe('ghs_fakeGitHubInstallationToken0001');
  });

  it('without the CA: a TLS failure that names NODE_EXTRA_CA_CERTS', async () => {
    const r = await main({ HTTPS_PROXY: proxy.url });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/::error::.*could not reach the broker \([A-Z_]*(CERT|SELF_SIGNED)[A-Z_]*\).*NODE_EXTRA_CA_CERTS/);
  });

  it('NO_PROXY keeps the broker off the proxy', async () => {
    const before = proxy.connects.length;
    const r = await main({ HTTPS_PROXY: proxy.url, NO_PROXY: `.proxy.test`, NODE_EXTRA_CA_CERTS: caFile });
    expect(r.code).toBe(1);
    expect(proxy.connects.length).toBe(before);
    expect(r.stdout).toMatch(/could not reach the broker/);
  });

  it('the CLI does the same with NODE_USE_ENV_PROXY=1', async () => {
    const before = proxy.connects.length;
    const r = await runCli(['exchange', '--broker', `https://${HOST}`, '--role', 'deploy', '--retries', '0', '--format', 'json'], {
      env: { SECRET_BROKER_ID_TOKEN: 'a.b.c', NODE_USE_ENV_PROXY: '1', HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: caFile, NO_PROXY: '' },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(proxy.connects.slice(before)).toEqual([`${HOST}:443`]);
    expect(JSON.parse(r.stdout)).toMatchObject({ request_id: allTypesResponse().request_id });
  });
});
