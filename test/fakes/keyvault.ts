// A fake Azure Key Vault (secrets, data plane) that checks auth the way Key Vault does: a request without a
// bearer token gets 401 with the challenge `WWW-Authenticate: Bearer authorization="<authority>/<tenant>",
// resource="https://vault.azure.net"`; a token must be one the fake Entra issued, unexpired, for
// `<resource>/.default` in the vault's tenant, to an app with a role assignment on the vault (Key Vault
// Secrets User). Errors in Key Vault's shape `{"error": {"code", "message", "innererror"}}`, versions as 32
// hex digits, `{"value", "id", "attributes"}` on success, and `api-version` required.
import type { FakeEntra } from './azure.ts';
import { hangUntilAborted, serveFake, type ServedFake } from './tls.ts';

export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';
/** api-versions Key Vault serves for secrets (the 7.x line and the dated ones the SDKs send). */
const API_VERSIONS = new Set(['7.0', '7.1', '7.2', '7.3', '7.4', '7.5', '7.6', '2025-07-01', '2026-04-01']);

export interface FakeSecretVersion {
  version: string;
  value: string;
  enabled?: boolean;
  contentType?: string;
}

export interface FakeKeyVaultOptions {
  entra: FakeEntra;
  tenant_id: string;
  /** client ids with "Key Vault Secrets User" on this vault. */
  readers: string[];
  /** name -> versions, oldest first (the last is the current one). */
  secrets: Record<string, FakeSecretVersion[]>;
  /** The resource the challenge names; the real service says https://vault.azure.net. */
  resource?: string;
  now?: () => number;
}

/** Normal, or a way Key Vault goes wrong: hang, a truncated body, or an error `times` times then normal. */
export type KeyVaultMode = 'ok' | 'hang' | 'malformed' | { status: number; code: string; times?: number; retryAfter?: string };

export interface FakeKeyVault {
  handler: (req: Request) => Promise<Response>;
  mode: KeyVaultMode;
  baseUrl: string;
  /** Every request: path, whether it carried a token the vault accepted, the status answered. */
  requests: { path: string; authorized: boolean; status: number }[];
  resource: string;
}

export function createFakeKeyVault(opts: FakeKeyVaultOptions): FakeKeyVault {
  const now = opts.now ?? Date.now;
  const fake: FakeKeyVault = {
    mode: 'ok',
    baseUrl: 'https://myvault.vault.azure.net',
    requests: [],
    resource: opts.resource ?? KEY_VAULT_RESOURCE,
    handler: async (req) => {
      const url = new URL(req.url);
      let authorized = false;
      const answer = (res: Response) => {
        fake.requests.push({ path: url.pathname, authorized, status: res.status });
        return res;
      };
      const challenge = (code: string, message: string) =>
        answer(
          kvError(401, code, message, undefined, {
            'www-authenticate': `Bearer authorization="${opts.entra.baseUrl}/${opts.tenant_id}", resource="${fake.resource}"`,
          }),
        );

      const apiVersion = url.searchParams.get('api-version');
      if (!apiVersion) return answer(kvError(400, 'BadParameter', "The request is missing the required query parameter 'api-version'."));
      if (!API_VERSIONS.has(apiVersion))
        return answer(kvError(400, 'BadParameter', `The specified version (${apiVersion}) is not recognized.`));

      const authz = req.headers.get('authorization');
      if (!authz) return challenge('Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.');
      const bearer = /^Bearer ([\x21-\x7e]+)$/.exec(authz)?.[1];
      const issued = bearer ? opts.entra.issued.get(bearer) : undefined;
      if (!issued) return challenge('Unauthorized', 'AKV10032: Invalid issuer.');
      if (issued.expires_at * 1000 <= now()) return challenge('Unauthorized', 'AKV10022: Token is expired.');
      if (issued.tenant_id !== opts.tenant_id)
        return challenge('Unauthorized', 'AKV10032: Invalid issuer. Expected one of the vault tenant.');
      if (issued.scope !== `${KEY_VAULT_RESOURCE}/.default`)
        return challenge('Unauthorized', `AKV10022: Invalid audience. Expected ${KEY_VAULT_RESOURCE}, found: ${issued.scope}.`);
      authorized = true;

      const mode = fake.mode;
      if (mode === 'hang') return hangUntilAborted(req);
      if (mode === 'malformed') return answer(new Response('{"value":"', { status: 200, headers: { 'content-type': 'application/json' } }));
      if (typeof mode === 'object') {
        if (mode.times !== undefined && --mode.times <= 0) fake.mode = 'ok';
        return answer(
          kvError(mode.status, mode.code, 'Injected failure.', undefined, mode.retryAfter ? { 'retry-after': mode.retryAfter } : {}),
        );
      }

      const parts = url.pathname.split('/').filter(Boolean);
      if (req.method !== 'GET' || parts[0] !== 'secrets' || parts.length < 2 || parts.length > 3)
        return answer(kvError(404, 'NotFound', 'The requested resource was not found.'));
      if (!opts.readers.includes(issued.client_id))
        return answer(
          kvError(
            403,
            'Forbidden',
            `Caller is not authorized to perform action on resource. Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'. Caller: appid=${issued.client_id}`,
            'ForbiddenByRbac',
          ),
        );
      const name = decodeURIComponent(parts[1]!);
      const versionWanted = parts[2] ?? '';
      const versions = Object.hasOwn(opts.secrets, name) ? opts.secrets[name]! : [];
      const found = versionWanted ? versions.find((v) => v.version === versionWanted) : versions.at(-1);
      if (!found)
        return answer(
          kvError(
            404,
            'SecretNotFound',
            `A secret with (name/id) ${versionWanted ? `${name}/${versionWanted}` : name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.`,
          ),
        );
      if (found.enabled === false)
        return answer(kvError(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled'));
      const t = Math.floor(now() / 1000);
      return answer(
        Response.json({
          value: found.value,
          ...(found.contentType ? { contentType: found.contentType } : {}),
          id: `${fake.baseUrl}/secrets/${name}/${found.version}`,
          attributes: { enabled: true, created: t - 86400, updated: t - 3600, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
          tags: {},
        }),
      );
    },
  };
  return fake;
}

function kvError(status: number, code: string, message: string, inner?: string, headers: Record<string, string> = {}): Response {
  return Response.json(
    { error: { code, message, ...(inner ? { innererror: { code: inner } } : {}) } },
    { status, headers: { 'x-ms-request-id': crypto.randomUUID(), 'x-ms-keyvault-service-version': '1.9.0.0', ...headers } },
  );
}

/** A version id as Key Vault makes them. */
export function keyVaultVersion(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export type ServedFakeKeyVault = FakeKeyVault & ServedFake;

/** Served on 127.0.0.1; `tls: true` for @azure/keyvault-secrets, which sends tokens over https only. */
export async function startFakeKeyVault(opts: FakeKeyVaultOptions & { tls?: boolean }): Promise<ServedFakeKeyVault> {
  const fake = createFakeKeyVault(opts);
  const served = await serveFake((req) => fake.handler(req), opts.tls ? { tls: true } : {});
  fake.baseUrl = served.url;
  return Object.assign(fake, served);
}
