import { UsageError, type Command } from '../context.ts';

// The stores load node:sqlite: imported when a command runs, so the client commands also start on Node 20.
const stores = () => import('../lib/stores.ts');

/**
 * KEK rotation: with the new KEK in BROKER_KEK and the old one in BROKER_KEK_PREVIOUS, rewraps the data key of
 * every stored secret version and of every signing key under the new KEK. Afterwards BROKER_KEK_PREVIOUS can
 * be removed (wait an hour for the post step's revocation entries, which are short-lived and not rewrapped).
 */
const rewrap: Command = {
  usage: 'secret rewrap',
  summary: 'KEK rotation: rewrap every secret and signing key under BROKER_KEK (old KEKs in BROKER_KEK_PREVIOUS).',
  options: {},
  sqlite: true,
  async run(ctx) {
    if (!ctx.env.BROKER_KEK) throw new UsageError('set BROKER_KEK to the new KEK and BROKER_KEK_PREVIOUS to the old one(s)');
    const { vault, close } = await (await stores()).openVault(ctx);
    const { issuer, kek, close: closeIssuer } = await (await stores()).openIssuer(ctx);
    try {
      const secrets = await vault.rotateKek(kek);
      const keys = await issuer.rewrapKeys(kek);
      ctx.out(`rewrapped ${secrets} secret version(s) and ${keys} signing key(s) under KEK ${kek.id}`);
      ctx.err('Every row now opens with BROKER_KEK alone; remove BROKER_KEK_PREVIOUS after an hour (revocation entries expire by then).');
      return 0;
    } finally {
      await closeIssuer();
      await close();
    }
  },
};

export const kekCommands: Record<string, Command> = { 'secret rewrap': rewrap };
