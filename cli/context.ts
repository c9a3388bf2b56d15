// What every command shares: flag parsing with --help, the policy and data folders, and output helpers.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { resolve } from 'node:path';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  /** e.g. "secret put NAME [--file F]" */
  usage: string;
  summary: string;
  options: Options;
  /** Positional arguments: their names, for usage errors. */
  positionals?: { min: number; max: number };
  run(ctx: CommandContext): Promise<number>;
}

export interface CommandContext {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  policiesDir: string;
  dataDir: string;
  /** --database or BROKER_DATABASE_URL: the stores are in PostgreSQL, not the data folder's SQLite file. */
  databaseUrl?: string | undefined;
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
  err: (text: string) => void;
}

export class UsageError extends Error {}

export const COMMON_OPTIONS: Options = {
  policies: { type: 'string' },
  data: { type: 'string' },
  database: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export function buildContext(command: Command, argv: string[], env: NodeJS.ProcessEnv): CommandContext | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...COMMON_OPTIONS, ...command.options },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return 'help';
  const range = command.positionals ?? { min: 0, max: 0 };
  if (positionals.length < range.min || positionals.length > range.max) {
    throw new UsageError(
      `expected ${range.min === range.max ? range.min : `${range.min} to ${range.max}`} argument(s), got ${positionals.length}`,
    );
  }
  return {
    values: values as CommandContext['values'],
    positionals,
    policiesDir: resolve((values.policies as string | undefined) ?? env.BROKER_POLICIES ?? './policies'),
    dataDir: resolve((values.data as string | undefined) ?? env.BROKER_DATA_DIR ?? './.data'),
    databaseUrl: (values.database as string | undefined) ?? (env.BROKER_DATABASE_URL?.trim() || undefined),
    env,
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  };
}

export function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Parses "24h" / "7d" (a duration before now) or an ISO timestamp into epoch milliseconds. */
export function parseSince(text: string, nowMs: number): number {
  const rel = /^(\d+)([smhd])$/.exec(text);
  if (rel) return nowMs - Number(rel[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[rel[2] as 's']!;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`--since/--until: "${text}" is neither a duration like 24h nor an ISO time`);
  return t;
}
