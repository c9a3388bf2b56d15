// `--broker URL`: the secret, keys and audit commands against a running broker's admin API (Node, PostgreSQL
// replicas or a Worker alike) instead of a local data folder. The admin token comes from BROKER_ADMIN_TOKEN,
// never from the command line (shell history, ps). HTTPS only, except on loopback, and no redirects: the
// token must not travel in clear or be handed to another host. No node:sqlite here: runs on Node 20.
import { brokerEndpoint } from '../../client/exchange.ts';
import { parseBrokerUrl } from '../../client/inputs.ts';
import { str, UsageError, type CommandContext } from '../context.ts';

export const BROKER_OPTION = { broker: { type: 'string' } } as const;

export interface AdminClient {
  url: string;
  call(method: string, path: string, body?: unknown): Promise<Response>;
  json<T>(method: string, path: string, body?: unknown): Promise<T>;
}

/** The admin client for --broker, or undefined when the command works on the local stores. */
export function remoteOf(ctx: CommandContext): AdminClient | undefined {
  const text = str(ctx, 'broker');
  if (text === undefined) return undefined;
  const parsed = parseBrokerUrl(text);
  if (!parsed.ok) throw new UsageError(`--broker ${parsed.problem}`);
  const token = ctx.env.BROKER_ADMIN_TOKEN;
  if (!token) throw new UsageError('--broker needs the admin token in BROKER_ADMIN_TOKEN');
  const base = parsed.url;
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const res = await fetch(brokerEndpoint(base, path), {
      method,
      redirect: 'error',
      signal: AbortSignal.timeout(60_000),
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.ok) return res;
    const text = await res.text();
    let detail = `HTTP ${res.status}`;
    try {
      const e = JSON.parse(text) as { error?: string; message?: string; request_id?: string };
      if (e.error) detail = `${e.error}: ${e.message ?? ''} (request ${e.request_id ?? '?'}; the audit record says why)`;
    } catch {
      // Not the broker's error format (a proxy's page): the status says enough.
    }
    throw new Error(`${base} answered ${detail}`);
  };
  return {
    url: base,
    call,
    json: async <T>(method: string, path: string, body?: unknown) => (await (await call(method, path, body)).json()) as T,
  };
}
