import { readFileSync } from 'node:fs';
import { parseFlagDuration, str, UsageError, type Command, type CommandContext } from '../context.ts';
import { toBase64 } from '../../broker/src/util/encoding.ts';
import { sealValue, type SealPublicKey } from '../../broker/src/admin/seal.ts';
import { BROKER_OPTION, remoteOf, type AdminClient } from '../lib/remote.ts';

// The stores load node:sqlite: imported when a command runs, so the client commands also start on Node 20.
const stores = () => import('../lib/stores.ts');

/**
 * The value comes from --file or standard input, never from the command line (shell history, ps).
 * One trailing newline is dropped (what `echo` and editors add) unless --raw is given.
 */
function readValue(ctx: CommandContext, allowGenerate: boolean): Uint8Array {
  const file = str(ctx, 'file');
  let bytes: Uint8Array;
  if (file) bytes = readFileSync(file);
  else if (allowGenerate && ctx.values.generate) {
    const random = crypto.getRandomValues(new Uint8Array(32));
    return new TextEncoder().encode(toBase64(random).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
  } else if (process.stdin.isTTY) {
    throw new UsageError(`give the value with --file F or on standard input${allowGenerate ? ', or use --generate' : ''}`);
  } else bytes = readFileSync(0);
  if (!ctx.values.raw) {
    if (bytes.at(-1) === 0x0a) bytes = bytes.subarray(0, bytes.at(-2) === 0x0d ? -2 : -1);
  }
  return bytes;
}

/**
 * --max-age 90d: the rotation policy of the new version (absent: the previous version's stays; "none"
 * removes it). undefined when the flag is not given.
 */
function maxAgeOf(ctx: CommandContext): number | null | undefined {
  const text = str(ctx, 'max-age');
  if (text === undefined) return undefined;
  if (text === 'none') return null;
  const seconds = parseFlagDuration(text);
  if (seconds === undefined) throw new UsageError(`--max-age: "${text}" is not a duration like 30d, 12w or 8760h (or none)`);
  return seconds;
}

const policyNote = (maxAge: number | undefined) =>
  maxAge === undefined ? '' : ` (max age ${maxAge % 86_400 === 0 ? `${maxAge / 86_400}d` : `${maxAge}s`})`;

/** Seals the value to the broker's published key (the name bound in), so only the broker can open it. */
async function storeRemote(
  ctx: CommandContext,
  remote: AdminClient,
  name: string,
  value: Uint8Array,
  verb: string,
  maxAge: number | null | undefined,
): Promise<number> {
  const key = await remote.json<SealPublicKey>('GET', 'v1/admin/seal-key');
  const sealed = await sealValue(key, name, new Uint8Array(value), Math.floor(Date.now() / 1000));
  const path = `v1/admin/secrets/${encodeURIComponent(name)}${verb === 'rotated' ? '/rotate' : ''}`;
  const body = maxAge === undefined ? { sealed } : { sealed, max_age: maxAge };
  const stored = await remote.json<{ version: number; max_age?: number }>(verb === 'rotated' ? 'POST' : 'PUT', path, body);
  ctx.out(`${verb} ${name} version ${stored.version}${policyNote(stored.max_age)}`);
  return 0;
}

async function store(ctx: CommandContext, allowGenerate: boolean, verb: string): Promise<number> {
  const name = ctx.positionals[0]!;
  const remote = remoteOf(ctx);
  const maxAge = maxAgeOf(ctx);
  const value = readValue(ctx, allowGenerate);
  if (remote) return storeRemote(ctx, remote, name, value, verb, maxAge);
  const { vault, close } = await (await stores()).openVault(ctx);
  try {
    if (verb === 'rotated' && !(await vault.get(name))) throw new UsageError(`there is no secret "${name}" to rotate (use secret put)`);
    const stored = await vault.put(name, value, Math.floor(Date.now() / 1000), maxAge === undefined ? {} : { maxAge });
    ctx.out(`${verb} ${name} version ${stored.version}${policyNote(stored.max_age)}`);
    return 0;
  } finally {
    await close();
  }
}

const put: Command = {
  usage: 'secret put NAME [--file F] [--max-age 90d|none] [--broker URL]',
  summary: 'Store a secret (a new version if it exists); the value comes from --file or stdin.',
  options: { file: { type: 'string' }, raw: { type: 'boolean' }, 'max-age': { type: 'string' }, ...BROKER_OPTION },
  positionals: { min: 1, max: 1 },
  sqlite: (ctx) => str(ctx, 'broker') === undefined,
  run: (ctx) => store(ctx, false, 'stored'),
};

const rotate: Command = {
  usage: 'secret rotate NAME [--file F | --generate] [--max-age 90d|none] [--broker URL]',
  summary: 'Add a new version of an existing secret; older versions stay readable by version.',
  options: {
    file: { type: 'string' },
    raw: { type: 'boolean' },
    generate: { type: 'boolean' },
    'max-age': { type: 'string' },
    ...BROKER_OPTION,
  },
  positionals: { min: 1, max: 1 },
  sqlite: (ctx) => str(ctx, 'broker') === undefined,
  run: (ctx) => store(ctx, true, 'rotated'),
};

const list: Command = {
  usage: 'secret list [--broker URL]',
  summary: 'List stored secrets (names and versions, never values).',
  options: { json: { type: 'boolean' }, ...BROKER_OPTION },
  sqlite: (ctx) => str(ctx, 'broker') === undefined,
  async run(ctx) {
    const remote = remoteOf(ctx);
    const opened = remote ? undefined : await (await stores()).openVault(ctx);
    try {
      const rows = remote
        ? (
            await remote.json<{ secrets: { name: string; version: number; versions: number; created_at: number; max_age?: number }[] }>(
              'GET',
              'v1/admin/secrets',
            )
          ).secrets
        : await opened!.vault.list();
      if (ctx.values.json) {
        ctx.out(JSON.stringify(rows));
        return 0;
      }
      if (rows.length === 0) ctx.err('no secrets stored');
      for (const r of rows) {
        ctx.out(
          `${r.name.padEnd(40)} v${String(r.version).padEnd(5)} ${r.versions} version(s)  ${new Date(r.created_at * 1000).toISOString()}${policyNote(r.max_age)}${overdue(r) ? '  ROTATION OVERDUE' : ''}`,
        );
      }
      return 0;
    } finally {
      await opened?.close();
    }
  },
};

const overdue = (r: { created_at: number; max_age?: number }) =>
  r.max_age !== undefined && Math.floor(Date.now() / 1000) - r.created_at > r.max_age;

export const secretCommands: Record<string, Command> = {
  'secret put': put,
  'secret list': list,
  'secret rotate': rotate,
};
