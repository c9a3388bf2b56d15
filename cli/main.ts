// `secret-broker`: one table of commands, each in its own module under cli/commands.
import { agentCommand } from './commands/agent.ts';
import { auditCommands } from './commands/audit.ts';
import { kekCommands } from './commands/kek.ts';
import { keysCommands } from './commands/keys.ts';
import { exchangeCommand } from './commands/exchange.ts';
import { policyCommands } from './commands/policy.ts';
import { secretCommands } from './commands/secret.ts';
import { serveCommand } from './commands/serve.ts';
import { tokenCommand } from './commands/token.ts';
import type { Command } from './context.ts';
import { commandRows, dispatch, groupsOf } from './dispatch.ts';

export const COMMANDS: Record<string, Command> = {
  serve: serveCommand,
  token: tokenCommand,
  exchange: exchangeCommand,
  agent: agentCommand,
  ...policyCommands,
  ...secretCommands,
  ...auditCommands,
  ...keysCommands,
  ...kekCommands,
};

function overview(): string {
  const rows = commandRows(Object.values(COMMANDS));
  return [
    'secret-broker: OIDC credential broker for CI/CD',
    '',
    'Usage: secret-broker <command> [options]',
    '',
    ...rows,
    '',
    'Every command takes --policies DIR (BROKER_POLICIES, default ./policies), --data DIR (BROKER_DATA_DIR,',
    'default ./.data) and --help. Environment: BROKER_KEK, BROKER_ADMIN_TOKEN, BROKER_PUBLIC_URL.',
    `secret-broker <group> --help lists a group's commands (${groupsOf(COMMANDS).join(', ')}); --version prints the version.`,
  ].join('\n');
}

export function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return dispatch({ commands: COMMANDS, overview }, argv, env);
}
