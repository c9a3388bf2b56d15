// The root tsconfig type-checks broker/ with Node and DOM globals, where the `cloudflare:workers` module
// (provided by workerd at runtime) is unknown. This gives it the real class type from the importable
// @cloudflare/workers-types. The workerd-side tsconfig (test/workers/tsconfig.json) does not include this
// file: there the ambient @cloudflare/workers-types declares the module itself.
declare module 'cloudflare:workers' {
  import type { CloudflareWorkersModule } from '@cloudflare/workers-types';
  export const DurableObject: typeof CloudflareWorkersModule.DurableObject;
  // biome-ignore lint/complexity/noBannedTypes: restates @cloudflare/workers-types' own default, so both type-checks see one type
  export type DurableObject<Env = unknown, Props = {}> = CloudflareWorkersModule.DurableObject<Env, Props>;
}
