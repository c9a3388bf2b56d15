// Findings as SARIF 2.1.0, the format GitHub code scanning reads (github/codeql-action/upload-sarif): one run,
// every rule with its help in tool.driver.rules, one result per finding pointing at the file (relative to
// the repository root) and line/column, so the finding shows inline on the pull request.
import type { LintFinding } from './lint.ts';
import { RULES } from './rules.ts';

export interface SarifOptions {
  /** Prepended to each finding's file so the uri is relative to the repository root, e.g. "policies/". */
  uriPrefix: string;
  toolVersion: string;
  informationUri?: string;
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: unknown[];
}

const pascal = (id: string) => id.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());

export function toSarif(findings: LintFinding[], options: SarifOptions): SarifLog {
  const index = new Map(RULES.map((r, i) => [r.id, i]));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'secret-broker policy check',
            version: options.toolVersion,
            ...(options.informationUri ? { informationUri: options.informationUri } : {}),
            rules: RULES.map((r) => ({
              id: r.id,
              name: pascal(r.id),
              shortDescription: { text: r.title },
              fullDescription: { text: r.title },
              help: {
                text: r.help,
                markdown: `${r.help}${r.exceptable ? `\n\nA role may waive this rule with a reason:\n\n\`\`\`yaml\nlint:\n  exceptions:\n    - rule: ${r.id}\n      reason: why this role needs it\n\`\`\`` : ''}`,
              },
              defaultConfiguration: { level: r.severity },
              properties: {
                tags: ['security', 'policy'],
                precision: 'high',
                // GitHub maps this to critical/high/medium/low in the security tab
                'security-severity': r.severity === 'error' ? '8.0' : '4.0',
              },
            })),
          },
        },
        columnKind: 'unicodeCodePoints',
        results: findings.map((f) => ({
          ruleId: f.rule,
          ...(index.has(f.rule) ? { ruleIndex: index.get(f.rule) } : {}),
          level: f.severity,
          message: { text: `${f.message}. Fix: ${f.hint}` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: `${options.uriPrefix}${f.file}` },
                region: { startLine: f.line, startColumn: f.column },
              },
            },
          ],
        })),
      },
    ],
  };
}
