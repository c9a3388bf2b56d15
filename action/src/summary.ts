// The job summary: what was granted and until when, never a value. Built only from public descriptors.
import type { ExchangeResponse } from '../../client/credentials.ts';

const cell = (s: string) =>
  s.replace(/[|\r\n<>`]/g, (ch) => ({ '|': '\\|', '\r': ' ', '\n': ' ', '<': '&lt;', '>': '&gt;', '`': "'" })[ch] ?? ch);

/** Markdown for GITHUB_STEP_SUMMARY. */
export function summaryMarkdown(response: ExchangeResponse, brokerUrl: string, options: { hide?: readonly string[] } = {}): string {
  // The summary is not a log line, so the runner's masking is not relied on for what `hide` names (the AWS
  // account id under mask-aws-account-id).
  const hidden = (s: string) => (options.hide ?? []).reduce((t, h) => (h ? t.replaceAll(h, '***') : t), s);
  const rows = response.credentials.map((c) => {
    const raw =
      c.type === 'aws'
        ? (c.role_arn ?? '')
        : c.type === 'azure'
          ? (c.scope ?? '')
          : c.type === 'gcp'
            ? (c.service_account ?? c.project_id ?? '')
            : c.type === 'github'
              ? (c.repositories ?? []).join(', ')
              : c.type === 'postgres'
                ? // Names only: the login and host are masked values.
                  `${c.env_prefix ?? 'PG'}HOST..${c.env_prefix ?? 'PG'}PASSWORD, DATABASE_URL`
                : `${c.env}${c.version !== undefined ? ` (version ${c.version})` : ''}`;
    const target = hidden(raw);
    const expiry = c.type === 'secret' ? '' : (c.expires_at ?? '');
    return `| ${cell(c.type)} | ${cell(target)} | ${cell(expiry)} |`;
  });
  for (const t of response.unknown_types) rows.push(`| ${cell(t)} | (not used by this version of the action) | |`);
  return [
    '### secret-broker',
    '',
    `Role \`${cell(response.role)}\` from ${cell(brokerUrl)}: request id \`${cell(response.request_id)}\`, expires ${cell(response.expires_at)}.`,
    '',
    '| type | for | expires |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
