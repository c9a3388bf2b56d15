#!/usr/bin/env node
// node:sqlite still prints an ExperimentalWarning on Node 24; it is expected here and would only confuse
// users, so that one warning is dropped before the CLI (and node:sqlite) loads. Everything else prints.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name === 'ExperimentalWarning' && /SQLite/.test(w.message)) return;
  process.stderr.write(`${w.name}: ${w.message}\n`);
});

// A reader that stops early (`secret-broker audit list | head`) closes the pipe: stop quietly, with the
// status a shell gives a program that SIGPIPE ended, instead of an unhandled EPIPE stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(141);
  throw err;
});

const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
