import { startNodeBroker, writeLogLine } from '../../broker/entry/node.ts';
import { stamped } from '../../broker/src/compose.ts';
import { str, UsageError, type Command } from '../context.ts';

export const serveCommand: Command = {
  usage: 'serve [--port 8787] [--host 127.0.0.1] [--dev] [--watch]',
  summary:
    'Run the broker on Node (node:sqlite stores in the data folder); needs BROKER_KEK unless --dev. SIGHUP (or --watch) reloads the policies; SIGTERM drains.',
  options: { port: { type: 'string' }, host: { type: 'string' }, dev: { type: 'boolean' }, watch: { type: 'boolean' } },
  async run(ctx) {
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
      env: ctx.env,
      dev: ctx.values.dev === true,
      watch: ctx.values.watch === true,
      log: writeLogLine,
    });
    for (const w of broker.warnings) log({ level: 'warn', event: 'broker.warning', message: `WARNING: ${w}` });
    const policy = broker.deps.policy();
    log({
      level: 'info',
      event: 'broker.listening',
      // The sentence scripts wait for ("listening on <url>"); the fields below say the same for machines.
      message:
        `secret-broker ${broker.deps.version} listening on ${broker.url} ` +
        `(policies ${ctx.policiesDir}: ${policy.roles.size} role(s), hash ${policy.hash.slice(0, 12)}; data ${ctx.dataDir})`,
      version: broker.deps.version,
      url: broker.url,
      policy_hash: policy.hash,
      roles: policy.roles.size,
      policies: ctx.policiesDir,
      data: ctx.dataDir,
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
