// Runs one command of a table: help for the program, a group or a command, --version, the node:sqlite gate,
// and usage errors (exit 2) apart from failures (exit 1). Shared by `secret-broker` and the single-file client.
import { VERSION } from '../broker/src/version.ts';
import { buildContext, COMMON_OPTIONS, UsageError, type Command } from './context.ts';
import { needsSqliteMessage, nodeSqliteAvailable } from './lib/runtime.ts';

export interface Program {
  /** The command table: one word ("serve") or two ("policy check"). */
  commands: Record<string, Command>;
  /** The text for no arguments or --help. */
  overview(): string;
}

/** The command groups ("policy", "audit", ...): the first word of every two-word command. */
export function groupsOf(commands: Record<string, Command>): string[] {
  return [...new Set(Object.keys(commands).flatMap((name) => (name.includes(' ') ? [name.split(' ')[0]!] : [])))];
}

export function commandRows(commands: Command[]): string[] {
  return commands.map((c) => `  ${c.usage.padEnd(62)} ${c.summary}`);
}

function groupHelp(commands: Record<string, Command>, group: string): string {
  const rows = commandRows(Object.entries(commands).flatMap(([name, c]) => (name.startsWith(`${group} `) ? [c] : [])));
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

export async function dispatch(program: Program, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const COMMANDS = program.commands;
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || (argv[0] === 'help' && argv.length === 1)) {
    process.stdout.write(`${program.overview()}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    process.stdout.write(`secret-broker ${VERSION}\n`);
    return 0;
  }
  // "policy --help", "help policy", or a bare "policy": the group's commands.
  const group = argv[0] === 'help' ? argv[1] : argv[0];
  if (group !== undefined && groupsOf(COMMANDS).includes(group) && (argv[0] === 'help' || argv[1] === undefined || HELP.has(argv[1]))) {
    process.stdout.write(`${groupHelp(COMMANDS, group)}\n`);
    return argv[0] !== 'help' && argv[1] === undefined ? 2 : 0;
  }
  // Two-word commands ("policy check") first, then one-word ("serve").
  const two = `${argv[0]} ${argv[1] ?? ''}`;
  const [name, rest] = COMMANDS[two] ? [two, argv.slice(2)] : [argv[0]!, argv.slice(1)];
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`secret-broker: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${program.overview()}\n`);
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
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    if (e.code === 'EADDRINUSE') {
      process.stderr.write(
        `secret-broker ${name}: ${e.address ?? 'the address'}:${e.port ?? '?'} is already in use (another broker still running?): stop it, or pass --port\n`,
      );
      return 1;
    }
    process.stderr.write(`secret-broker ${name}: ${e.message}\n`);
    return 1;
  }
}
