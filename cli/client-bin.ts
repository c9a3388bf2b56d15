#!/usr/bin/env node
// The single-file client, dist/secret-broker-client.mjs: `secret-broker exchange` alone (same flags, exit
// codes and formats), bundled with no dependencies, for a CI job that should make one POST without
// installing a package: `node secret-broker-client.mjs exchange --broker URL --role R`. Runs on Node 20+.
import { exchangeCommand } from './commands/exchange.ts';
import { commandRows, dispatch } from './dispatch.ts';

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(141);
  throw err;
});

const overview = () =>
  [
    'secret-broker-client: the secret-broker exchange client in one file',
    '',
    'Usage: node secret-broker-client.mjs exchange [options]',
    '',
    ...commandRows([exchangeCommand]),
  ].join('\n');

process.exitCode = await dispatch({ commands: { exchange: exchangeCommand }, overview }, process.argv.slice(2));
