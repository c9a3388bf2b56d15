import { readFileSync } from 'node:fs';
import { str, UsageError, type Command, type CommandContext } from '../context.ts';
import { toBase64 } from '../../broker/src/util/encoding.ts';

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

async function store(ctx: CommandContext, allowGenerate: boolean, verb: string): Promise<number> {
  const name = ctx.positionals[0]!;
  const value = readValue(ctx, allowGenerate);
  const { vault, close } = await (await stores()).openVault(ctx);
  try {
    if (verb === 'rotated' && !(await vault.get(name))) throw new UsageError(`there is no secret "${name}" to rotate (use secret put)`);
    const { version } = await vault.put(name, value, Math.floor(Date.now() / 1000));
    ctx.out(`${verb} ${name} version ${version}`);
    return 0;
  } finally {
    await close();
  }
}

const put: Command = {
  usage: 'secret put NAME [--file F]',
  summary: 'Store a secret (a new version if it exists); the value comes from --file or stdin.',
  options: { file: { type: 'string' }, raw: { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  sqlite: true,
  run: (ctx) => store(ctx, false, 'stored'),
};

const rotate: Command = {
  usage: 'secret rotate NAME [--file F | --generate]',
  summary: 'Add a new version of an existing secret; older versions stay readable by version.',
  options: { file: { type: 'string' }, raw: { type: 'boolean' }, generate: { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  sqlite: true,
  run: (ctx) => store(ctx, true, 'rotated'),
};

const list: Command = {
  usage: 'secret list',
  summary: 'List stored secrets (names and versions, never values).',
  options: { json: { type: 'boolean' } },
  sqlite: true,
  async run(ctx) {
    const { vault, close } = await (await stores()).openVault(ctx);
    try {
      const rows = await vault.list();
      if (ctx.values.json) {
        ctx.out(JSON.stringify(rows));
        return 0;
      }
      if (rows.length === 0) ctx.err('no secrets stored');
      for (const r of rows) {
        ctx.out(
          `${r.name.padEnd(40)} v${String(r.version).padEnd(5)} ${r.versions} version(s)  ${new Date(r.created_at * 1000).toISOString()}`,
        );
      }
      return 0;
    } finally {
      await close();
    }
  },
};

export const secretCommands: Record<string, Command> = {
  'secret put': put,
  'secret list': list,
  'secret rotate': rotate,
};
