// Workers entry: the broker with D1 (audit, secrets), a Durable Object (replay), KV (JWKS cache) and the
// policy set bundled at build time (wrangler's [build] runs scripts/bundle-policies.ts). Thin on purpose:
// the handler builds everything lazily on the first request; nothing here does I/O at global scope.
import { POLICY_FILES } from './policy-bundle.gen.ts';
import { createWorkerHandler } from './workers/handler.ts';

export { ReplayGuardObject } from './workers/replay.ts';

export default createWorkerHandler(POLICY_FILES);
