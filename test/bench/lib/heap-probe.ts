// Preloaded into the broker by the memory section (node --import): once a second, one stderr line with
// V8's view of the heap, so that RSS growth can be told apart into the young generation V8 sizes for itself
// and the old generation, where anything retained per exchange would accumulate. Reads only; changes nothing.
import { getHeapSpaceStatistics } from 'node:v8';

const MiB = 1024 * 1024;
const mb = (n: number) => Math.round((n / MiB) * 10) / 10;

setInterval(() => {
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s]));
  const line = {
    new_space_mb: mb(spaces.new_space?.space_size ?? 0),
    old_space_mb: mb(spaces.old_space?.space_size ?? 0),
    old_space_used_mb: mb(spaces.old_space?.space_used_size ?? 0),
    external_mb: mb(process.memoryUsage().external),
  };
  process.stderr.write(`HEAP-PROBE ${JSON.stringify(line)}\n`);
}, 1_000).unref();
