// The lint rules a role may waive with `lint.exceptions: [{rule, reason}]`. The role schema validates these
// ids when the broker loads its policy, so they live apart from the rule table (review/rules.ts), which only
// `policy check` needs.

/** Rules a role may waive with a written reason: trade-offs a security team may accept for one role. */
export const EXCEPTABLE_RULE_IDS = [
  'repository-binding',
  'owner-wildcard',
  'wildcard-crosses-slash',
  'editable-claims-only',
  'workflow-ref-alone',
  'prod-pull-request-target',
  'prod-workflow-run',
  'prod-fork-pull-request',
  'prod-self-hosted-runner',
  'non-default-endpoint',
] as const;

export type ExceptableRuleId = (typeof EXCEPTABLE_RULE_IDS)[number];
