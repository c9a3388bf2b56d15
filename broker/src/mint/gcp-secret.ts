// The `gcp_secret` grant: one secret version from Google Secret Manager (`GET /v1/<name>:access`), read with
// the broker's federated identity: the gcp minter's STS exchange of a broker token (audience: the workload
// identity provider), then, with service_account, impersonation (the secretAccessor binding is then on the
// service account; without it, on the federated principal). The token is used for this one read and never
// handed out. The payload's CRC-32C (`dataCrc32c`) is checked, and the version read must be of the secret
// asked for; its number is the credential's version.
import type { GrantOf } from '../policy/schema.ts';
import { crc32c } from '../util/crc32c.ts';
import { fromBase64 } from '../util/encoding.ts';
import type { CloudMintDeps } from './broker-token.ts';
import { CLOUD_PLATFORM_SCOPE, createGcpMinter } from './gcp.ts';
import { fetchRetrying, type RetryOptions } from './store-retry.ts';
import { storeReadBudget, storeSecretResult } from './store-secret.ts';
import type { Minter } from './types.ts';
import { cleanUpstreamCode, transportFailure, upstreamFailure } from './upstream.ts';
import { parseJsonObject } from './upstream-json.ts';

type GcpSecretGrant = GrantOf<'gcp_secret'>;

/** A federated token's lifetime is Google's (an hour); the gcp minter's max_ttl bound does not apply to a token kept inside. */
const FEDERATED_BOUND = 12 * 3600;

/** Google's statuses worth another try: RESOURCE_EXHAUSTED (429) and the 5xx family. */
function retryable(answer: { status: number }): boolean {
  return answer.status === 429 || answer.status >= 500;
}

export function createGcpSecretMinter(deps: CloudMintDeps, retry?: RetryOptions): Minter<GcpSecretGrant> {
  const gcp = createGcpMinter(deps);
  return {
    async mint(grant, ctx) {
      const token = await gcp.mint(
        {
          type: 'gcp',
          workload_identity_provider: grant.workload_identity_provider,
          scopes: [CLOUD_PLATFORM_SCOPE],
          sts_url: grant.sts_url,
          iam_credentials_url: grant.iam_credentials_url,
          ...(grant.service_account !== undefined ? { service_account: grant.service_account, lifetime: '5m' } : {}),
        },
        { ...ctx, maxTtl: FEDERATED_BOUND },
      );
      if (!token.ok) return token;
      const bearer = String(token.credential.access_token);

      const url = `${grant.secret_manager_url.replace(/\/+$/, '')}/v1/${grant.secret}:access`;
      const answer = await fetchRetrying(
        deps.fetch,
        url,
        { method: 'GET', headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' } },
        storeReadBudget(deps, retryable, retry),
      );
      if (!answer.ok) return transportFailure('gcp_secret', answer);
      const json = parseJsonObject(answer.body);
      if (answer.status !== 200) {
        const error = json?.error;
        const code = typeof error === 'object' && error !== null ? cleanUpstreamCode((error as Record<string, unknown>).status) : undefined;
        return upstreamFailure(`gcp_secret.http_${answer.status}${code ? `:${code}` : ''}`, code ?? `HTTP_${answer.status}`);
      }
      if (!json) return upstreamFailure('gcp_secret.malformed_response:json');

      // The version read: projects/<number>/secrets/<the secret asked for>/versions/<n>.
      const secretName = grant.secret.split('/')[3];
      const name =
        typeof json.name === 'string' ? /^projects\/[a-z0-9-]+\/secrets\/([A-Za-z0-9_-]+)\/versions\/(\d{1,19})$/.exec(json.name) : null;
      if (!name || name[1] !== secretName) return upstreamFailure('gcp_secret.malformed_response:name');
      const version = Number(name[2]);
      const wanted = grant.secret.split('/')[5];
      if (wanted !== 'latest' && String(version) !== wanted) return upstreamFailure('gcp_secret.malformed_response:other_version');

      const payload = json.payload;
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
        return upstreamFailure('gcp_secret.malformed_response:payload');
      const { data, dataCrc32c } = payload as Record<string, unknown>;
      if (typeof data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return upstreamFailure('gcp_secret.malformed_response:data');
      let bytes: Uint8Array;
      try {
        bytes = fromBase64(data);
      } catch {
        return upstreamFailure('gcp_secret.malformed_response:data');
      }
      // int64 as a decimal string (proto3 JSON); always sent by Secret Manager for access responses.
      if (typeof dataCrc32c !== 'string' || !/^\d{1,10}$/.test(dataCrc32c))
        return upstreamFailure('gcp_secret.malformed_response:dataCrc32c');
      if (Number(dataCrc32c) !== crc32c(bytes)) return upstreamFailure('gcp_secret.crc32c_mismatch', 'DataCorrupted');
      let value: string;
      try {
        value = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        return upstreamFailure('gcp_secret.payload_not_utf8');
      }
      return storeSecretResult(grant, value, version);
    },
  };
}
