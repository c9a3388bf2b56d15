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
  /**
   * Needs node:sqlite (the data folder's stores): Node 22.13+ or 24. A function when only some flags do
   * (audit verify --file reads no store). The module must import the stores lazily, inside run().
   */
  sqlite?: boolean | ((ctx: CommandContext) => boolean);
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

const FLAG_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * A duration flag ("90s", "15m", "1h30m", "7d", "2w") in seconds. Flags also take weeks (audit windows and
 * retention run to weeks); policy files keep s/m/h/d, since every duration there is capped at hours.
 */
export function parseFlagDuration(text: string): number | undefined {
  if (!/^(?:\d+[smhdw])+$/.test(text)) return undefined;
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhdw])/g)) total += Number(n) * (FLAG_UNITS[unit as string] ?? 0);
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}

/** Parses "24h" / "7d" / "2w" (a duration before now) or an ISO timestamp into epoch milliseconds. */
export function parseSince(text: string, nowMs: number): number {
  const seconds = parseFlagDuration(text);
  if (seconds !== undefined) return nowMs - seconds * 1000;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`--since/--until: "${text}" is neither a duration like 24h, 7d or 2w nor an ISO time`);
  return t;
}
