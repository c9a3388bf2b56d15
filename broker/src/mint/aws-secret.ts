// The `aws_secret` grant: one secret from AWS Secrets Manager (GetSecretValue), read with a session of the
// grant's role assumed by web identity (aws-json.ts). SecretString is exported as it is; a SecretBinary
// must be UTF-8 text. The credential's version is the VersionId that was read.
import type { GrantOf } from '../policy/schema.ts';
import { fromBase64 } from '../util/encoding.ts';
import { assumeForRead, awsJsonCall, defaultAwsEndpoint } from './aws-json.ts';
import type { CloudMintDeps } from './broker-token.ts';
import type { RetryOptions } from './store-retry.ts';
import { storeSecretResult } from './store-secret.ts';
import type { Minter } from './types.ts';
import { upstreamFailure } from './upstream.ts';

type AwsSecretGrant = GrantOf<'aws_secret'>;

export function createAwsSecretMinter(deps: CloudMintDeps, retry?: RetryOptions): Minter<AwsSecretGrant> {
  return {
    async mint(grant, ctx) {
      const assumed = await assumeForRead(deps, grant, ctx);
      if (!assumed.ok) return assumed;
      const payload: Record<string, string> = { SecretId: grant.secret_id };
      if (grant.version_id !== undefined) payload.VersionId = grant.version_id;
      else if (grant.version_stage !== undefined) payload.VersionStage = grant.version_stage;
      const called = await awsJsonCall(
        deps,
        {
          store: 'aws_secret',
          url: grant.secretsmanager_endpoint ?? defaultAwsEndpoint('secretsmanager', grant.region, grant.role_arn),
          service: 'secretsmanager',
          region: grant.region,
          target: 'secretsmanager.GetSecretValue',
          payload,
          session: assumed.session,
          now: ctx.now,
        },
        retry,
      );
      if (!called.ok) return called;
      const { json } = called;
      const versionId = json.VersionId;
      if (typeof versionId !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(versionId))
        return upstreamFailure('aws_secret.malformed_response:VersionId');
      if (grant.version_id !== undefined && versionId !== grant.version_id)
        return upstreamFailure('aws_secret.malformed_response:other_version');
      let value: string;
      if (typeof json.SecretString === 'string' && json.SecretBinary === undefined) {
        value = json.SecretString;
      } else if (typeof json.SecretBinary === 'string' && json.SecretString === undefined) {
        try {
          value = new TextDecoder('utf-8', { fatal: true }).decode(fromBase64(json.SecretBinary));
        } catch {
          return upstreamFailure('aws_secret.binary_not_utf8');
        }
      } else {
        return upstreamFailure('aws_secret.malformed_response:SecretString');
      }
      return storeSecretResult(grant, value, versionId);
    },
  };
}
