import { parseFlagDuration, str, UsageError, type Command } from '../context.ts';
import { BROKER_OPTION, remoteOf } from '../lib/remote.ts';

// The stores load node:sqlite: imported when a command runs, so the client commands also start on Node 20.
const stores = () => import('../lib/stores.ts');

const iso = (s: number) => new Date(s * 1000).toISOString();

const rotate: Command = {
  usage: 'keys rotate [--activate-in 1h] [--broker URL]',
  summary: 'Add the next signing key: published in the JWKS now, signing after --activate-in (default 1h).',
  options: { 'activate-in': { type: 'string' }, ...BROKER_OPTION },
  sqlite: (ctx) => str(ctx, 'broker') === undefined,
  async run(ctx) {
    const text = str(ctx, 'activate-in') ?? '1h';
    const activateIn = text === '0' || text === '0s' ? 0 : parseFlagDuration(text);
    if (activateIn === undefined) throw new UsageError('--activate-in must be a duration such as 1h (or 0 to sign with it at once)');
    const remote = remoteOf(ctx);
    if (remote) {
      const { added, dropped } = await remote.json<{ added: { kid: string; activates_at: number }; dropped: string[] }>(
        'POST',
        'v1/admin/keys/rotate',
        { activate_in: activateIn },
      );
      ctx.out(`added key ${added.kid}: published now, signs from ${iso(added.activates_at)}`);
      for (const kid of dropped) ctx.out(`dropped key ${kid}: no token it signed can still be valid`);
      return 0;
    }
    const { issuer, close } = await (await stores()).openIssuer(ctx);
    try {
      await issuer.ensureKey();
      const { added, dropped } = await issuer.rotate(activateIn);
      ctx.out(`added key ${added.kid}: published now, signs from ${iso(added.activates_at)}`);
      for (const kid of dropped) ctx.out(`dropped key ${kid}: no token it signed can still be valid`);
      ctx.err(
        'Clouds that cache the JWKS pick the new key up before it signs; the previous key stays published until its last token expires.',
      );
      return 0;
    } finally {
      await close();
    }
  },
};

const list: Command = {
  usage: 'keys list [--broker URL]',
  summary: "List the broker's signing keys and their state.",
  options: { ...BROKER_OPTION },
  sqlite: (ctx) => str(ctx, 'broker') === undefined,
  async run(ctx) {
    const remote = remoteOf(ctx);
    if (remote) {
      type Row = { kid: string; state: string; created_at: number; activates_at: number };
      const { keys, problems } = await remote.json<{ keys: Row[]; problems: { kid: string; reason: string }[] }>('GET', 'v1/admin/keys');
      for (const p of problems) ctx.err(`REFUSED ${p.kid}: ${p.reason}: never published or used`);
      if (keys.length === 0) ctx.err('no signing keys yet (the broker creates one on first start)');
      for (const r of keys) ctx.out(`${r.kid}  ${r.state.padEnd(8)}  created ${iso(r.created_at)}  activates ${iso(r.activates_at)}`);
      return 0;
    }
    const { issuer, close } = await (await stores()).openIssuer(ctx);
    try {
      const now = Math.floor(Date.now() / 1000);
      const rows = await issuer.listKeys();
      const published = new Set((await issuer.jwks()).keys.map((k) => k.kid));
      const signing = rows.filter((r) => r.activates_at <= now).at(-1)?.kid;
      // Rows whose seal does not open under the KEK are never published or used: shown so they get removed.
      for (const p of (await issuer.keyHealth()).problems) ctx.err(`REFUSED ${p.kid}: ${p.reason} (${p.detail}): never published or used`);
      if (rows.length === 0) ctx.err('no signing keys yet (the broker creates one on first start)');
      for (const r of rows) {
        const state = r.kid === signing ? 'signing' : r.activates_at > now ? 'next' : published.has(r.kid) ? 'previous' : 'retired';
        ctx.out(`${r.kid}  ${state.padEnd(8)}  created ${iso(r.created_at)}  activates ${iso(r.activates_at)}`);
      }
      return 0;
    } finally {
      await close();
    }
  },
};

export const keysCommands: Record<string, Command> = { 'keys rotate': rotate, 'keys list': list };
