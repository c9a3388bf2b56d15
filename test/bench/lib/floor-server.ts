// The floor for the exchange benchmark: the same server stack as the broker (@hono/node-server + Hono), one
// POST route that reads the same JSON body and verifies the token with jose as the broker does (local JWKS,
// pinned algorithm, exact issuer and audience, required claims, clock tolerance, maximum age), and nothing
// else: no replay guard, no policy, no audit, no secret. Run as a child process:
//   node test/bench/lib/floor-server.ts   (FLOOR_ISSUER, FLOOR_AUDIENCE, FLOOR_JWKS in the environment)
// It prints `floor listening on http://...` on stderr.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { AddressInfo } from 'node:net';

const issuer = process.env.FLOOR_ISSUER ?? '';
const audience = process.env.FLOOR_AUDIENCE ?? '';
const jwks = createLocalJWKSet(JSON.parse(process.env.FLOOR_JWKS ?? '{"keys":[]}') as JSONWebKeySet);

const app = new Hono();
app.post('/v1/exchange', async (c) => {
  let body: { token?: unknown };
  try {
    body = (await c.req.json()) as { token?: unknown };
  } catch {
    return c.json({ error: 'ERR_REQUEST_INVALID' }, 400);
  }
  if (typeof body.token !== 'string') return c.json({ error: 'ERR_REQUEST_INVALID' }, 400);
  try {
    const { payload } = await jwtVerify(body.token, jwks, {
      issuer,
      audience,
      algorithms: ['RS256'],
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'],
      clockTolerance: 30,
      maxTokenAge: 600,
    });
    return c.json({ sub: payload.sub, jti: payload.jti });
  } catch {
    return c.json({ error: 'ERR_TOKEN_INVALID' }, 401);
  }
});

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => {
  const { port } = server.address() as AddressInfo;
  process.stderr.write(`floor listening on http://127.0.0.1:${port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
