// The Workers entry with the `postgres` grant: worker.ts plus postgres.js's Workers build (TCP through
// cloudflare:sockets). A separate entry because that build needs nodejs_compat (node:buffer, node:events,
// node:stream), which the plain Worker does without: deploy it with `main = "broker/entry/worker-postgres.ts"`,
// `compatibility_flags = ["nodejs_compat"]` and a cron every minute (the lease sweeper runs on it).
import postgres from 'postgres';
import { POLICY_FILES } from './policy-bundle.gen.ts';
import { createWorkerHandler } from './workers/handler.ts';

export { ReplayGuardObject } from './workers/replay.ts';

export default createWorkerHandler(POLICY_FILES, { postgres });
