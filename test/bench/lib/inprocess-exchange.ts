// The exchange without HTTP, for the bench's steadiest CPU figure: a child process builds the Node broker
// (buildNodeBroker, the same stores and settings `serve` would use, its log discarded) and sends exchanges
// through `app.fetch`, `INPROC_CONCURRENCY` at a time. Tokens come pre-signed in the file named by
// INPROC_TOKENS (a JSON array); the first INPROC_WARMUP of them warm up. Prints one JSON line on stdout:
//   { "exchanges", "main_us", "process_us", "non_200" }   (CPU microseconds per measured exchange)
// Run as: node test/bench/lib/inprocess-exchange.ts POLICIES_DIR DATA_DIR   (the broker's env as for serve)
import { readFileSync } from 'node:fs';
import { buildNodeBroker } from '../../../broker/entry/node.ts';

const [policiesDir, dataDir] = process.argv.slice(2);
if (!policiesDir || !dataDir) throw new Error('usage: inprocess-exchange.ts POLICIES_DIR DATA_DIR');
const tokens = JSON.parse(readFileSync(process.env.INPROC_TOKENS ?? '', 'utf8')) as string[];
const warmup = Number(process.env.INPROC_WARMUP ?? 0);
const concurrency = Number(process.env.INPROC_CONCURRENCY ?? 32);
const role = process.env.INPROC_ROLE ?? 'bench';

const broker = await buildNodeBroker({ policiesDir, dataDir, env: process.env, log: () => {} });
let nonOk = 0;
async function drive(list: string[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < list.length; i = next++) {
      const res = await broker.app.fetch(
        new Request('http://broker.local/v1/exchange', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: list[i], role }),
        }),
      );
      if (res.status !== 200) nonOk++;
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

await drive(tokens.slice(0, warmup));
nonOk = 0;
const measured = tokens.slice(warmup);
const main0 = process.threadCpuUsage();
const all0 = process.cpuUsage();
await drive(measured);
const main = process.threadCpuUsage(main0);
const all = process.cpuUsage(all0);
const us = (t: { user: number; system: number }) => Math.round((t.user + t.system) / Math.max(1, measured.length));
process.stdout.write(`${JSON.stringify({ exchanges: measured.length, main_us: us(main), process_us: us(all), non_200: nonOk })}\n`);
broker.close();
