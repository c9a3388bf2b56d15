// The shape of the generated policy bundle (policy-bundle.gen.ts, written by scripts/bundle-policies.ts and
// not committed), so that the entry type-checks before the bundle has been generated. When the .ts file
// exists, TypeScript uses it instead.
export declare const POLICY_FILES: { path: string; text: string }[];
