// The broker's own issuer for minter tests: real BrokerIssuer over an in-memory key store, with its
// discovery and JWKS served over HTTP on loopback by the real app routes, so fakes of the clouds verify
// broker tokens exactly as a cloud would (by fetching /.well-known/jwks.json).
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { BrokerIssuer } from '../../broker/src/issuer/issuer.ts';
import { generateKekBase64, importKek } from '../../broker/src/store/envelope.ts';
import { MemoryKeyStore } from './memory-stores.ts';

export interface ServedIssuer {
  issuer: BrokerIssuer;
  store: MemoryKeyStore;
  url: string;
  clock: { now: number };
  close(): Promise<void>;
}

export async function serveBrokerIssuer(clock = { now: Date.now() }): Promise<ServedIssuer> {
  const store = new MemoryKeyStore();
  const kek = await importKek(generateKekBase64());
  let issuer: BrokerIssuer | undefined;
  const app = new Hono();
  app.get('/.well-known/openid-configuration', (c) => c.json(issuer!.discovery()));
  app.get('/.well-known/jwks.json', async (c) => c.json(await issuer!.jwks()));
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer = new BrokerIssuer({ store, keks: { current: kek }, publicUrl: url, now: () => clock.now, cacheMs: 0 });
  await issuer.ensureKey();
  return { issuer, store, url, clock, close: () => new Promise((r) => server.close(() => r())) };
}
