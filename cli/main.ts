// `secret-broker`: one table of commands, each in its own module under cli/commands.
import { auditCommands } from './commands/audit.ts';
import { kekCommands } from './commands/kek.ts';
import { keysCommands } from './commands/keys.ts';
import { exchangeCommand } from './commands/exchange.ts';
import { policyCommands } from './commands/policy.ts';
import { secretCommands } from './commands/secret.ts';
import { serveCommand } from './commands/serve.ts';
import { tokenCommand } from './commands/token.ts';
import { VERSION } from '../broker/src/version.ts';
import { buildContext, COMMON_OPTIONS, UsageError, type Command } from './context.ts';
import { needsSqliteMessage, nodeSqliteAvailable } from './lib/runtime.ts';

const COMMANDS: Record<string, Command> = {
  serve: serveCommand,
  token: tokenCommand,
  exchange: exchangeCommand,
  ...policyCommands,
  ...secretCommands,
  ...auditCommands,
  ...keysCommands,
  ...kekCommands,
};

function overview(): string {
  const rows = Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(62)} ${c.summary}`);
  return [
    'secret-broker: OIDC credential broker for CI/CD',
    '',
    'Usage: secret-broker <command> [options]',
    '',
    ...rows,
    '',
    'Every command takes --policies DIR (BROKER_POLICIES, default ./policies), --data DIR (BROKER_DATA_DIR,',
    'default ./.data) and --help. Environment: BROKER_KEK, BROKER_ADMIN_TOKEN, BROKER_PUBLIC_URL.',
    `secret-broker <group> --help lists a group's commands (${GROUPS.join(', ')}); --version prints the version.`,
  ].join('\n');
}

/** The command groups ("policy", "audit", ...): the first word of every two-word command. */
const GROUPS = [...new Set(Object.keys(COMMANDS).flatMap((name) => (name.includes(' ') ? [name.split(' ')[0]!] : [])))];

function groupHelp(group: string): string {
  const rows = Object.entries(COMMANDS)
    .filter(([name]) => name.startsWith(`${group} `))
    .map(([, c]) => `  ${c.usage.padEnd(62)} ${c.summary}`);
  return [
    `Usage: secret-broker ${group} <command> [options]`,
    '',
    ...rows,
    '',
    `secret-broker ${group} <command> --help shows its options.`,
  ].join('\n');
}

const HELP = new Set(['--help', '-h', 'help']);

function help(command: Command): string {
  const opts = Object.entries({ ...command.options, ...COMMON_OPTIONS })
    .map(([name, o]) => `  --${name}${o.type === 'string' ? ' VALUE' : ''}`)
    .join('\n');
  return `Usage: secret-broker ${command.usage}\n\n${command.summary}\n\nOptions:\n${opts}`;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || (argv[0] === 'help' && argv.length === 1)) {
    process.stdout.write(`${overview()}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    process.stdout.write(`secret-broker ${VERSION}\n`);
    return 0;
  }
  // "policy --help", "help policy", or a bare "policy": the group's commands.
  const group = argv[0] === 'help' ? argv[1] : argv[0];
  if (group !== undefined && GROUPS.includes(group) && (argv[0] === 'help' || argv[1] === undefined || HELP.has(argv[1]))) {
    process.stdout.write(`${groupHelp(group)}\n`);
    return argv[0] !== 'help' && argv[1] === undefined ? 2 : 0;
  }
  // Two-word commands ("policy check") first, then one-word ("serve").
  const two = `${argv[0]} ${argv[1] ?? ''}`;
  const [name, rest] = COMMANDS[two] ? [two, argv.slice(2)] : [argv[0]!, argv.slice(1)];
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`secret-broker: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${overview()}\n`);
    return 2;
  }
  try {
    const ctx = buildContext(command, rest, env);
    if (ctx === 'help') {
      process.stdout.write(`${help(command)}\n`);
      return 0;
    }
    const sqlite = typeof command.sqlite === 'function' ? command.sqlite(ctx) : command.sqlite === true;
    if (sqlite && !(await nodeSqliteAvailable())) {
      process.stderr.write(`${needsSqliteMessage(name)}\n`);
      return 1;
    }
    return await command.run(ctx);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`secret-broker ${name}: ${(err as Error).message}\n\n${help(command)}\n`);
      return 2;
    }
    process.stderr.write(`secret-broker ${name}: ${(err as Error).message}\n`);
    return 1;
  }
}
