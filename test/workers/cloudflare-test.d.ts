// Types for the `cloudflare:test` module (provided by @cloudflare/vitest-pool-workers inside workerd), for
// the workers tests type-checked like the rest of the repository (Node and DOM globals, binding types from
// the importable @cloudflare/workers-types): the package's own declarations need the ambient workers-types
// globals, under which broker/src does not type-check. Only what the tests use; see
// node_modules/@cloudflare/vitest-pool-workers/types/cloudflare-test.d.ts for the real thing.
declare module 'cloudflare:test' {
  import type { D1Database, DurableObjectState, DurableObjectStub, ExecutionContext, Rpc } from '@cloudflare/workers-types';

  type AnyStub = DurableObjectStub<Rpc.DurableObjectBranded | undefined>;

  export interface D1Migration {
    name: string;
    queries: string[];
  }

  /** The Worker's bindings plus the test bindings (declared in test/workers/env.d.ts). */
  export const env: BrokerTestEnv;
  /** The Worker under test (wrangler.toml's main), as a service binding. */
  export const SELF: { fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> };

  export function applyD1Migrations(db: D1Database, migrations: D1Migration[], migrationsTableName?: string): Promise<void>;
  export function createExecutionContext(): ExecutionContext;
  export function waitOnExecutionContext(ctx: ExecutionContext): Promise<void>;
  export function runInDurableObject<R>(
    stub: AnyStub,
    callback: (instance: unknown, state: DurableObjectState) => R | Promise<R>,
  ): Promise<R>;
  export function runDurableObjectAlarm(stub: AnyStub): Promise<boolean>;
}
