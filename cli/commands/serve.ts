import { str, UsageError, type Command } from '../context.ts';

export const serveCommand: Command = {
  usage: 'serve [--port 8787] [--host 127.0.0.1] [--dev] [--database postgres://...]',
  summary:
    'Run the broker on Node (node:sqlite stores in the data folder, or PostgreSQL with --database / BROKER_DATABASE_URL for replicas); needs BROKER_KEK unless --dev.',
  options: { port: { type: 'string' }, host: { type: 'string' }, dev: { type: 'boolean' } },
  sqlite: true,
  async run(ctx) {
    // Imported here, not at the top: the broker loads node:sqlite, and the client commands run on Node 20.
    const { startNodeBroker } = await import('../../broker/entry/node.ts');
    const port = Number(str(ctx, 'port') ?? '8787');
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0 to 65535');
    const host = str(ctx, 'host') ?? '127.0.0.1';
    const broker = await startNodeBroker({
      policiesDir: ctx.policiesDir,
      dataDir: ctx.dataDir,
      port,
      host,
      env: ctx.databaseUrl === undefined ? ctx.env : { ...ctx.env, BROKER_DATABASE_URL: ctx.databaseUrl },
      dev: ctx.values.dev === true,
    });
    for (const w of broker.warnings) ctx.err(`WARNING: ${w}`);
    const policy = broker.deps.policy();
    ctx.err(
      `secret-broker ${broker.deps.version} listening on ${broker.url} ` +
        `(policies ${ctx.policiesDir}: ${policy.roles.size} role(s), hash ${policy.hash.slice(0, 12)}; ${broker.storage === 'postgres' ? 'stores in PostgreSQL' : `data ${ctx.dataDir}`})`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => {
        ctx.err('secret-broker: shutting down');
        void broker.stop().then(resolve);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
