// What aws_secret and aws_parameter share: a session for the grant's role from STS (the aws minter's
// AssumeRoleWithWebIdentity with a broker token, so no AWS keys in the broker), and one call of AWS's JSON
// protocol (`application/x-amz-json-1.1`, `X-Amz-Target: <service prefix>.<Action>`, SigV4 with the
// session's credentials through aws4fetch), whose errors carry `__type`.
//
// The session is the shortest STS grants (15 minutes), is used for this one read and never leaves the
// broker: the role's max_ttl bounds what is handed out, and a value read from a store has no expiry.
import { AwsV4Signer } from 'aws4fetch';
import type { GrantOf } from '../policy/schema.ts';
import type { Fetched } from '../util/http.ts';
import { AWS_MIN_DURATION, createAwsMinter } from './aws.ts';
import type { CloudMintDeps } from './broker-token.ts';
import { fetchRetrying, type RetryOptions } from './store-retry.ts';
import { storeReadBudget, type StoreName } from './store-secret.ts';
import type { MintContext } from './types.ts';
import { cleanUpstreamCode, transportFailure, upstreamFailure, type MintFailure } from './upstream.ts';
import { parseJsonObject } from './upstream-json.ts';

export interface AwsSession {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** The role's session, or the aws minter's own failure (`aws.*`, with STS's error code). */
export async function assumeForRead(
  deps: CloudMintDeps,
  grant: { role_arn: string; region: string; sts_endpoint?: string | undefined },
  ctx: MintContext,
): Promise<{ ok: true; session: AwsSession } | MintFailure> {
  const sts: GrantOf<'aws'> = {
    type: 'aws',
    role_arn: grant.role_arn,
    region: grant.region,
    mode: 'web_identity',
    duration: '15m',
    ...(grant.sts_endpoint !== undefined ? { sts_endpoint: grant.sts_endpoint } : {}),
  };
  const minted = await createAwsMinter(deps).mint(sts, { ...ctx, maxTtl: AWS_MIN_DURATION });
  if (!minted.ok) return minted;
  const c = minted.credential;
  return {
    ok: true,
    session: { accessKeyId: String(c.access_key_id), secretAccessKey: String(c.secret_access_key), sessionToken: String(c.session_token) },
  };
}

/** https://<service>.<region>.amazonaws.com/ (amazonaws.com.cn in the China partition). */
export function defaultAwsEndpoint(service: string, region: string, roleArn: string): string {
  return `https://${service}.${region}.${roleArn.split(':')[1] === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com'}/`;
}

/** Codes AWS answers a throttled call with (besides HTTP 429). */
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
]);

/** `__type` as AWS writes it (`ResourceNotFoundException`, `com.amazonaws.x#Code`, `Code:http://...`). */
export function awsErrorCode(answer: Extract<Fetched, { ok: true }>): string | undefined {
  const raw = parseJsonObject(answer.body)?.__type ?? answer.headers.get('x-amzn-errortype') ?? undefined;
  if (typeof raw !== 'string') return undefined;
  return cleanUpstreamCode(raw.split('#').at(-1)?.split(':')[0]);
}

function retryable(answer: Extract<Fetched, { ok: true }>): boolean {
  if (answer.status >= 500 || answer.status === 429) return true;
  const code = answer.status === 400 ? awsErrorCode(answer) : undefined;
  return code !== undefined && THROTTLING.has(code);
}

export interface AwsJsonCall {
  store: StoreName;
  url: string;
  /** The signing name: secretsmanager, ssm. */
  service: string;
  region: string;
  /** X-Amz-Target. */
  target: string;
  payload: Record<string, unknown>;
  session: AwsSession;
  /** Epoch seconds: the signature's time. */
  now: number;
}

/** One signed JSON-protocol call; a 200 with a JSON object, or the failure with AWS's `__type`. */
export async function awsJsonCall(
  deps: CloudMintDeps,
  call: AwsJsonCall,
  retry?: RetryOptions,
): Promise<{ ok: true; json: Record<string, unknown> } | MintFailure> {
  const body = JSON.stringify(call.payload);
  const signer = new AwsV4Signer({
    method: 'POST',
    url: call.url,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': call.target },
    body,
    accessKeyId: call.session.accessKeyId,
    secretAccessKey: call.session.secretAccessKey,
    sessionToken: call.session.sessionToken,
    service: call.service,
    region: call.region,
    datetime: new Date(call.now * 1000).toISOString().replace(/[:-]|\.\d{3}/g, ''),
  });
  const signed = await signer.sign();
  const answer = await fetchRetrying(
    deps.fetch,
    call.url,
    { method: 'POST', headers: signed.headers, body },
    storeReadBudget(deps, retryable, retry),
  );
  if (!answer.ok) return transportFailure(call.store, answer);
  if (answer.status !== 200) {
    const code = awsErrorCode(answer);
    return upstreamFailure(`${call.store}.http_${answer.status}${code ? `:${code}` : ''}`, code ?? `HTTP_${answer.status}`);
  }
  const json = parseJsonObject(answer.body);
  if (!json) return upstreamFailure(`${call.store}.malformed_response:json`);
  return { ok: true, json };
}
