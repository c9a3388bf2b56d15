// (b) Policy evaluation per exchange as the policy set grows: 10, 1,000 and 10,000 roles of the same shape
// (GitHub-like bindings, a deny set, a secret grant), loaded and compiled as the broker does at start. One
// evaluation is what the exchange does after verification: look the role up by name, check its issuer, and
// match the verified claims (deny sets, then allow sets, with the trace). Sizes are measured in interleaved
// rounds and the median round is reported, so that a noisy neighbour hits every size alike.
import { compilePolicy, type CompiledPolicy } from '../../../broker/src/policy/compile.ts';
import { loadPolicy, type PolicyFile } from '../../../broker/src/policy/load.ts';
import { match } from '../../../broker/src/policy/match.ts';
import { median, type BenchContext } from '../lib/context.ts';
import { round } from '../lib/load.ts';
import { githubLikeClaims } from '../lib/tokens.ts';

export const SIZES = [10, 1_000, 10_000] as const;

export interface PolicyScaleFigures {
  roles_10_us: number;
  roles_1000_us: number;
  roles_10000_us: number;
  /** roles_10000_us / roles_10_us: the goal is at most 1.10. */
  ratio_10000_vs_10: number;
  /** Loading (YAML, schema) and compiling the whole set, as at broker start, in milliseconds. */
  load_ms: Record<string, number>;
  rounds: number;
  evaluations_per_round: number;
}

function roleYaml(i: number): string {
  return `role: app-${String(i).padStart(5, '0')}
issuer: github
max_ttl: 15m
allow:
  - repository_id: "${100_000 + i}"
    repository_owner_id: "7890"
    ref: refs/heads/main
    environment: production
    event_name: [push, workflow_dispatch]
    runner_environment: github-hosted
  - repository_id: "${100_000 + i}"
    repository_owner_id: "7890"
    ref: {glob: "refs/tags/v*"}
    event_name: push
deny:
  - event_name: [pull_request_target, workflow_run]
grants:
  - type: secret
    name: SECRET_${i}
`;
}

export function policyFiles(roles: number): PolicyFile[] {
  const files: PolicyFile[] = [
    {
      path: 'issuers.yaml',
      text: 'issuers:\n  github:\n    url: https://token.actions.githubusercontent.com\n    audience: https://broker.example.com\n',
    },
  ];
  for (let i = 0; i < roles; i++) files.push({ path: `roles/app-${String(i).padStart(5, '0')}.yaml`, text: roleYaml(i) });
  return files;
}

async function load(roles: number): Promise<{ policy: CompiledPolicy; ms: number }> {
  const t0 = performance.now();
  const loaded = await loadPolicy(policyFiles(roles));
  if (!loaded.ok) throw new Error(`bench policy does not load: ${JSON.stringify(loaded.problems.slice(0, 3))}`);
  const policy = compilePolicy(loaded.policy);
  return { policy, ms: performance.now() - t0 };
}

/** The exchange's step 5, as exchange.ts runs it. Returns something so the work cannot be optimised away. */
function evaluate(policy: CompiledPolicy, roleName: string, issuer: string, claims: Record<string, unknown>): number {
  const role = policy.roles.get(roleName);
  if (!role || role.issuer !== issuer) return -1;
  const decision = match(claims, role);
  const failed = decision.trace.filter((t) => !t.result).length;
  return decision.effect === 'allow' ? failed + 1 : -failed;
}

function timeRound(policy: CompiledPolicy, roleName: string, claims: Record<string, unknown>, n: number): number {
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink += evaluate(policy, roleName, 'github', claims);
  const us = ((performance.now() - t0) * 1000) / n;
  if (sink <= 0) throw new Error('the bench role did not allow its own claims');
  return us;
}

export async function benchPolicyScale(ctx: BenchContext): Promise<PolicyScaleFigures> {
  const sets: { roles: number; policy: CompiledPolicy; name: string; claims: Record<string, unknown> }[] = [];
  const loadMs: Record<string, number> = {};
  for (const roles of SIZES) {
    ctx.progress(`policy: loading and compiling ${roles} roles`);
    const { policy, ms } = await load(roles);
    loadMs[String(roles)] = round(ms, 1);
    // A role in the middle of the set; the claims of its repository.
    const i = Math.floor(roles / 2);
    sets.push({
      roles,
      policy,
      name: `app-${String(i).padStart(5, '0')}`,
      claims: githubLikeClaims({ repository_id: String(100_000 + i) }),
    });
  }
  const rounds = ctx.quick ? 5 : 15;
  const n = ctx.quick ? 50_000 : 200_000;
  ctx.progress(`policy: ${rounds} rounds of ${n} evaluations per size`);
  for (const s of sets) timeRound(s.policy, s.name, s.claims, n / 5); // warm up the JIT on every size
  const times = new Map<number, number[]>(SIZES.map((r) => [r, []]));
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no size always runs first (or right after a GC of another).
    for (let k = 0; k < sets.length; k++) {
      const s = sets[(k + r) % sets.length]!;
      times.get(s.roles)!.push(timeRound(s.policy, s.name, s.claims, n));
    }
  }
  const us = (roles: number) => round(median(times.get(roles)!), 3);
  return {
    roles_10_us: us(10),
    roles_1000_us: us(1_000),
    roles_10000_us: us(10_000),
    ratio_10000_vs_10: round(us(10_000) / us(10), 3),
    load_ms: loadMs,
    rounds,
    evaluations_per_round: n,
  };
}
