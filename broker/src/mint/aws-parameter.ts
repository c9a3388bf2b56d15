// The `aws_parameter` grant: one parameter from SSM Parameter Store (GetParameter, WithDecryption, so a
// SecureString comes back decrypted with the role's kms:Decrypt), read with a session of the grant's role
// assumed by web identity (aws-json.ts). The credential's version is the parameter's Version.
import type { GrantOf } from '../policy/schema.ts';
import { assumeForRead, awsJsonCall, defaultAwsEndpoint } from './aws-json.ts';
import type { CloudMintDeps } from './broker-token.ts';
import type { RetryOptions } from './store-retry.ts';
import { storeSecretResult } from './store-secret.ts';
import type { Minter } from './types.ts';
import { upstreamFailure } from './upstream.ts';

type AwsParameterGrant = GrantOf<'aws_parameter'>;

export function createAwsParameterMinter(deps: CloudMintDeps, retry?: RetryOptions): Minter<AwsParameterGrant> {
  return {
    async mint(grant, ctx) {
      const assumed = await assumeForRead(deps, grant, ctx);
      if (!assumed.ok) return assumed;
      const called = await awsJsonCall(
        deps,
        {
          store: 'aws_parameter',
          url: grant.ssm_endpoint ?? defaultAwsEndpoint('ssm', grant.region, grant.role_arn),
          service: 'ssm',
          region: grant.region,
          target: 'AmazonSSM.GetParameter',
          payload: { Name: grant.name, WithDecryption: true },
          session: assumed.session,
          now: ctx.now,
        },
        retry,
      );
      if (!called.ok) return called;
      const parameter = called.json.Parameter;
      if (typeof parameter !== 'object' || parameter === null || Array.isArray(parameter))
        return upstreamFailure('aws_parameter.malformed_response:Parameter');
      const p = parameter as Record<string, unknown>;
      if (typeof p.Value !== 'string') return upstreamFailure('aws_parameter.malformed_response:Value');
      if (typeof p.Version !== 'number' || !Number.isSafeInteger(p.Version) || p.Version < 1)
        return upstreamFailure('aws_parameter.malformed_response:Version');
      return storeSecretResult(grant, p.Value, p.Version);
    },
  };
}
