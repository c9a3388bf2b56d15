// The role-name rule on its own, free of zod: the policy schema and the exchange check it, and the pipeline
// clients (client/inputs.ts, bundled into the action) check the same rule for an early, clear message.
export const ROLE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
