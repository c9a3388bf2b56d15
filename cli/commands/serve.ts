import { stamped } from '../../broker/src/compose.ts';
import { str, UsageError, type Command } from '../context.ts';

export const serveCommand: Command = {
  usage: 'serve [--port 8787] [--host 127.0.0.1] [--dev] [--watch] [--database postgres://...]',
  summary:
    'Run the broker on Node (node:sqlite stores in the data folder, or PostgreSQL with --database / BROKER_DATABASE_URL for replicas); needs BROKER_KEK unless --dev. SIGHUP (or --watch) reloads the policies; SIGTERM drains.',
  options: { port: { type: 'string' }, host: { type: 'string' }, dev: { type: 'boolean' }, watch: { type: 'boolean' } },
  sqlite: true,
  async run(ctx) {
    // Imported here, not at the top: the broker loads node:sqlite, and the client commands run on Node 20.
    const { startNodeBroker, writeLogLine } = await import('../../broker/entry/node.ts');
    const port = Number(str(ctx, 'port') ?? '8787');
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0 to 65535');
    const host = str(ctx, 'host') ?? '127.0.0.1';
    // Start-up lines in the format of every other log line: one JSON object each, with its time.
    const log = stamped(writeLogLine, Date.now);
    const broker = await startNodeBroker({
      policiesDir: ctx.policiesDir,
      dataDir: ctx.dataDir,
      port,
      host,
      env: ctx.databaseUrl === undefined ? ctx.env : { ...ctx.env, BROKER_DATABASE_URL: ctx.databaseUrl },
      dev: ctx.values.dev === true,
      watch: ctx.values.watch === true,
      log: writeLogLine,
    });
    for (const w of broker.warnings) log({ level: 'warn', event: 'broker.warning', message: `WARNING: ${w}` });
    const policy = broker.deps.policy();
    const where = broker.storage === 'postgres' ? 'stores in PostgreSQL' : `data ${ctx.dataDir}`;
    log({
      level: 'info',
      event: 'broker.listening',
      // The sentence scripts wait for ("listening on <url>"); the fields below say the same for machines.
      message:
        `secret-broker ${broker.deps.version} listening on ${broker.url} ` +
        `(policies ${ctx.policiesDir}: ${policy.roles.size} role(s), hash ${policy.hash.slice(0, 12)}; ${where})`,
      version: broker.deps.version,
      url: broker.url,
      policy_hash: policy.hash,
      roles: policy.roles.size,
      policies: ctx.policiesDir,
      storage: broker.storage,
      ...(broker.storage === 'postgres' ? {} : { data: ctx.dataDir }),
      watch: ctx.values.watch === true,
    });
    const onHangup = () => void broker.reloadPolicy('sighup');
    process.on('SIGHUP', onHangup);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log({ level: 'info', event: 'broker.shutting_down', signal });
        void broker.stop().then(resolve);
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
    process.off('SIGHUP', onHangup);
    return 0;
  },
};
