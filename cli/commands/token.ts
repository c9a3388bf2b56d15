import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadOrCreateIssuerKey, publicJwks, serveTestIssuer, signTestToken } from '../lib/test-issuer.ts';
import { parseFlagDuration, str, UsageError, type Command } from '../context.ts';

export const tokenCommand: Command = {
  usage: 'token --claims FILE [--issuer-key FILE] [--jwks] [--serve]',
  summary: 'Sign a test ID token with a local key; --jwks prints the JWKS, --serve runs the issuer on loopback.',
  options: {
    claims: { type: 'string' },
    'issuer-key': { type: 'string' },
    issuer: { type: 'string' },
    audience: { type: 'string' },
    ttl: { type: 'string' },
    jwks: { type: 'boolean' },
    serve: { type: 'boolean' },
    port: { type: 'string' },
  },
  async run(ctx) {
    const keyFile = str(ctx, 'issuer-key') ?? join(ctx.dataDir, 'test-issuer-key.json');
    const { key, created } = await loadOrCreateIssuerKey(keyFile);
    if (created) ctx.err(`created a test issuer key in ${keyFile} (for local development and tests only)`);

    if (ctx.values.jwks) {
      ctx.out(JSON.stringify(publicJwks(key), null, 2));
      return 0;
    }
    if (ctx.values.serve) {
      const server = await serveTestIssuer(key, Number(str(ctx, 'port') ?? '8788'));
      ctx.err(`test issuer at ${server.url} (discovery and JWKS); put this URL in issuers.yaml. Ctrl-C stops it.`);
      ctx.out(server.url);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
      return 0;
    }

    const claimsFile = str(ctx, 'claims');
    if (!claimsFile) throw new UsageError('--claims FILE is required (a JSON or YAML object of claims)');
    const claims: unknown = parseYaml(readFileSync(claimsFile, 'utf8'));
    if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new UsageError(`${claimsFile}: not an object of claims`);
    const ttlText = str(ctx, 'ttl');
    const ttl = ttlText === undefined ? undefined : parseFlagDuration(ttlText);
    if (ttlText !== undefined && ttl === undefined) throw new UsageError('--ttl must be a duration such as 5m');
    const issuer = str(ctx, 'issuer');
    const audience = str(ctx, 'audience');
    const token = await signTestToken(key, claims as Record<string, unknown>, {
      ...(issuer ? { issuer } : {}),
      ...(audience ? { audience } : {}),
      ...(ttl ? { ttl } : {}),
    });
    ctx.out(token);
    return 0;
  },
};
