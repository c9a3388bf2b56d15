// The `aws` grant: temporary credentials from AWS STS, spoken directly over the Query protocol with fetch
// (the AWS SDK does not run inside workerd and would dominate the edge bundle).
//
// - web_identity (default): AssumeRoleWithWebIdentity, unsigned, with a broker token (aud sts.amazonaws.com)
//   as the WebIdentityToken. The broker holds no AWS keys; the role trusts the broker's IAM OIDC provider.
//   STS takes no Tags or SourceIdentity parameters on this call: both travel in the token, as the
//   `https://aws.amazon.com/tags` and `https://aws.amazon.com/source_identity` claims.
// - access_key: AssumeRole, SigV4-signed (aws4fetch) with keys the broker holds in its secret store under
//     aws.<account-id>.access_key_id
//     aws.<account-id>.secret_access_key
//   where <account-id> is the 12-digit account of the role being assumed (one key pair per target account;
//   the IAM user may live anywhere the role trusts). Tags, TransitiveTagKeys and SourceIdentity are
//   request parameters here.
//
// Either way the role's trust policy must allow sts:TagSession when session_tags are set, and
// sts:SetSourceIdentity (the broker always sets a source identity: the caller's repository).
//
// Duration: the grant's duration (default: the role's max_ttl), never more than max_ttl. STS refuses
// anything under 900 s, and the broker never hands out a credential that outlives max_ttl, so a role whose
// max_ttl is under 15 minutes cannot mint aws credentials: the mint is refused (`aws.duration_below_minimum`)
// without calling STS.
//
// Responses are parsed strictly (see xml.ts): the exact root element in the STS namespace, exactly one of
// each credential element. AWS error codes (ErrorResponse/Error/Code) are kept as upstream_code.
import { AwsV4Signer } from 'aws4fetch';
import { claimValue, MISSING, type Claims } from '../policy/match.ts';
import { claimLocation, type GrantOf } from '../policy/schema.ts';
import { isoSeconds, parseDuration } from '../util/duration.ts';
import { fetchLimited } from '../util/http.ts';
import { brokerTokenClaims, type CloudMintDeps } from './broker-token.ts';
import type { MintContext, MintResult, Minter } from './types.ts';
import {
  boundedExpiry,
  cleanUpstreamCode,
  parseUtcTimestamp,
  transportFailure,
  upstreamFailure,
  UPSTREAM_MAX_BYTES,
  type MintFailure,
} from './upstream.ts';
import { parseXml, selectText } from './xml.ts';

type AwsGrant = GrantOf<'aws'>;

export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
export const STS_VERSION = '2011-06-15';
/** The audience AWS expects in web identity tokens (the IAM OIDC provider's client id). */
export const STS_AUDIENCE = 'sts.amazonaws.com';
/** STS's floor and ceiling for DurationSeconds. */
export const AWS_MIN_DURATION = 900;
export const AWS_MAX_DURATION = 43_200;
/** Claims AWS reads from a web identity token to set session tags and source identity. */
export const AWS_TAGS_CLAIM = 'https://aws.amazon.com/tags';
export const AWS_SOURCE_IDENTITY_CLAIM = 'https://aws.amazon.com/source_identity';

const MAX_SESSION_TAGS = 50;
/** AWS's character rule for RoleSessionName and SourceIdentity: [\w+=,.@-] (ASCII word characters). */
const NAME_DISALLOWED = /[^A-Za-z0-9_+=,.@-]/gu;
/** Tag keys and values: letters, spaces and numbers in UTF-8, and _ . : / = + - @. */
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;

export function awsAccessKeySecretNames(roleArn: string): { accessKeyId: string; secretAccessKey: string } {
  const account = roleArn.split(':')[4] ?? '';
  return { accessKeyId: `aws.${account}.access_key_id`, secretAccessKey: `aws.${account}.secret_access_key` };
}

export function createAwsMinter(deps: CloudMintDeps): Minter<AwsGrant> {
  return {
    async mint(grant, ctx) {
      const requested = grant.duration === undefined ? ctx.maxTtl : (parseDuration(grant.duration) ?? ctx.maxTtl);
      const duration = Math.min(requested, ctx.maxTtl, AWS_MAX_DURATION);
      if (duration < AWS_MIN_DURATION) return upstreamFailure(`aws.duration_below_minimum:${duration}s<${AWS_MIN_DURATION}s`);

      const tags = sessionTagsOf(grant.session_tags ?? {}, ctx.claims);
      if (!tags.ok) return tags;
      const sessionName = roleSessionName(ctx.claims, ctx.role.name);
      const sourceIdentity = sourceIdentityOf(ctx.claims, ctx.role.name);

      const params = new URLSearchParams();
      const action = grant.mode === 'access_key' ? 'AssumeRole' : 'AssumeRoleWithWebIdentity';
      params.set('Action', action);
      params.set('Version', STS_VERSION);
      params.set('RoleArn', grant.role_arn);
      params.set('RoleSessionName', sessionName);
      params.set('DurationSeconds', String(duration));
      if (grant.session_policy !== undefined) params.set('Policy', grant.session_policy);
      for (const [i, arn] of (grant.policy_arns ?? []).entries()) params.set(`PolicyArns.member.${i + 1}.arn`, arn);

      const url = grant.sts_endpoint ?? defaultStsEndpoint(grant);
      const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
      let init: RequestInit;
      if (action === 'AssumeRoleWithWebIdentity') {
        const extra: Record<string, unknown> = { [AWS_SOURCE_IDENTITY_CLAIM]: sourceIdentity };
        if (tags.tags.length > 0) {
          extra[AWS_TAGS_CLAIM] = {
            principal_tags: Object.fromEntries(tags.tags.map(([k, v]) => [k, [v]])),
            // Transitive, so that a role chained from this session cannot drop or override them.
            transitive_tag_keys: tags.tags.map(([k]) => k),
          };
        }
        const signed = await deps.issuer.sign({
          subject: `role:${ctx.role.name}`,
          audience: STS_AUDIENCE,
          ttl: Math.min(300, ctx.maxTtl),
          claims: { ...brokerTokenClaims(ctx), ...extra },
        });
        params.set('WebIdentityToken', signed.token);
        init = { method: 'POST', headers, body: params.toString() };
      } else {
        params.set('SourceIdentity', sourceIdentity);
        tags.tags.forEach(([k, v], i) => {
          params.set(`Tags.member.${i + 1}.Key`, k);
          params.set(`Tags.member.${i + 1}.Value`, v);
          params.set(`TransitiveTagKeys.member.${i + 1}`, k);
        });
        const keys = await brokerKeys(deps, grant.role_arn);
        if (!keys.ok) return keys;
        const body = params.toString();
        const signer = new AwsV4Signer({
          method: 'POST',
          url,
          headers,
          body,
          accessKeyId: keys.accessKeyId,
          secretAccessKey: keys.secretAccessKey,
          service: 'sts',
          region: grant.region,
          datetime: amzDate(ctx.now),
        });
        const signedRequest = await signer.sign();
        init = { method: 'POST', headers: signedRequest.headers, body };
      }

      const fetched = await fetchLimited(deps.fetch, url, init, { timeoutMs: deps.timeoutMs, maxBytes: UPSTREAM_MAX_BYTES });
      if (!fetched.ok) return transportFailure('aws', fetched);
      return credentialsOf(action, fetched.status, fetched.body, grant, ctx, duration);
    },
  };
}

function defaultStsEndpoint(grant: AwsGrant): string {
  const partition = grant.role_arn.split(':')[1];
  return `https://sts.${grant.region}.${partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com'}/`;
}

/** SigV4's X-Amz-Date (basic ISO 8601) for the request time, so signing is a pure function of ctx.now. */
function amzDate(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/[:-]|\.\d{3}/g, '');
}

async function brokerKeys(
  deps: CloudMintDeps,
  roleArn: string,
): Promise<{ ok: true; accessKeyId: string; secretAccessKey: string } | MintFailure> {
  const names = awsAccessKeySecretNames(roleArn);
  let id: Awaited<ReturnType<CloudMintDeps['secrets']['get']>>;
  let secret: typeof id;
  try {
    [id, secret] = await Promise.all([deps.secrets.get(names.accessKeyId), deps.secrets.get(names.secretAccessKey)]);
  } catch {
    return { ok: false, code: 'ERR_UNAVAILABLE', detail: 'aws.secret_store_failed' };
  }
  if (!id) return upstreamFailure(`aws.access_key_missing:${names.accessKeyId}`, 'NotFound');
  if (!secret) return upstreamFailure(`aws.access_key_missing:${names.secretAccessKey}`, 'NotFound');
  return { ok: true, accessKeyId: id.value.trim(), secretAccessKey: secret.value.trim() };
}

/** A claim's own string or finite number as text (session names, source identity: no booleans there). */
function claimText(claims: Claims, name: string): string | undefined {
  const v = Object.hasOwn(claims, name) ? claims[name] : undefined;
  return typeof v === 'boolean' ? undefined : tagText(v);
}

/** A string, a finite number or a boolean as tag text; anything else (objects, arrays, null) is no value. */
function tagText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** Replaces every character AWS does not allow in a session name or source identity with `-`. */
export function awsSafeName(text: string): string {
  return text.replace(NAME_DISALLOWED, '-');
}

/**
 * `<repository>@<run id>` within AWS's rules ([\w+=,.@-], 2..64): GitHub's repository and run_id, or GitLab's
 * project_path and pipeline_id. When it must be shortened, the run id survives whole and the repository
 * keeps its end (the repository name rather than the owner). Without a repository, the role name.
 */
export function roleSessionName(claims: Claims, roleName: string): string {
  const repo = awsSafeName(claimText(claims, 'repository') || claimText(claims, 'project_path') || roleName);
  const run = awsSafeName(claimText(claims, 'run_id') || claimText(claims, 'pipeline_id') || '').slice(0, 32);
  const name = run ? `${repo.slice(-(64 - 1 - run.length))}@${run}` : repo.slice(-64);
  return name.length >= 2 ? name : `${name}-${awsSafeName(roleName)}`.slice(0, 64);
}

/** The caller's repository (or project), so CloudTrail ties every chained session back to it. */
export function sourceIdentityOf(claims: Claims, roleName: string): string {
  const repo = awsSafeName(claimText(claims, 'repository') || claimText(claims, 'project_path') || roleName).slice(-64);
  return repo.length >= 2 ? repo : `${repo}-${awsSafeName(roleName)}`.slice(0, 64);
}

/**
 * Session tags: tag name -> the value of a claim (or, for a JSON Pointer, a nested claim) of the caller's verified token. A claim the token lacks, or
 * whose value AWS would refuse, refuses the mint: a silently missing or altered tag could change what an
 * ABAC condition allows.
 */
export function sessionTagsOf(map: Record<string, string>, claims: Claims): { ok: true; tags: [string, string][] } | MintFailure {
  const tags: [string, string][] = [];
  const seen = new Set<string>();
  for (const [key, claim] of Object.entries(map)) {
    if (!TAG_KEY.test(key) || key.toLowerCase().startsWith('aws:')) return upstreamFailure(`aws.session_tag_key_invalid:${key}`);
    // Tag keys are case-insensitive in AWS: two spellings of one key would be refused by STS.
    if (seen.has(key.toLowerCase())) return upstreamFailure(`aws.session_tag_key_duplicate:${key}`);
    seen.add(key.toLowerCase());
    // A pointer reads a nested claim by the conditions' own rules (own properties, canonical indexes).
    const raw = claimValue(claims, claimLocation(claim));
    const value = raw === MISSING ? undefined : tagText(raw);
    if (value === undefined) return upstreamFailure(`aws.session_tag_claim_missing:${key}`);
    if (!TAG_VALUE.test(value)) return upstreamFailure(`aws.session_tag_value_invalid:${key}`);
    tags.push([key, value]);
  }
  if (tags.length > MAX_SESSION_TAGS) return upstreamFailure('aws.session_tags_too_many');
  return { ok: true, tags };
}

function credentialsOf(
  action: 'AssumeRole' | 'AssumeRoleWithWebIdentity',
  status: number,
  body: string,
  grant: AwsGrant,
  ctx: MintContext,
  duration: number,
): MintResult {
  if (status !== 200) {
    const parsed = parseXml(body);
    let code: string | undefined;
    if (parsed.ok && parsed.value.name === 'ErrorResponse') {
      const text = selectText(parsed.value, ['Error', 'Code']);
      if (text.ok) code = cleanUpstreamCode(text.value);
    }
    return upstreamFailure(`aws.http_${status}${code ? `:${code}` : ''}`, code ?? `HTTP_${status}`);
  }
  const parsed = parseXml(body);
  if (!parsed.ok) return upstreamFailure(`aws.malformed_response:${parsed.reason}`);
  const root = parsed.value;
  if (root.name !== `${action}Response`) return upstreamFailure(`aws.malformed_response:root:${root.name.slice(0, 64)}`);
  if (root.attributes.xmlns !== STS_NAMESPACE) return upstreamFailure('aws.malformed_response:namespace');
  const fields: string[] = [];
  for (const name of ['AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration']) {
    const text = selectText(root, [`${action}Result`, 'Credentials', name]);
    if (!text.ok) return upstreamFailure(`aws.malformed_response:${text.reason}`);
    fields.push(text.value);
  }
  const [accessKeyId = '', secretAccessKey = '', sessionToken = '', expiration = ''] = fields;
  if (!/^[A-Z0-9]{16,128}$/.test(accessKeyId)) return upstreamFailure('aws.malformed_response:access_key_id');
  if (!/^\S{1,1024}$/.test(secretAccessKey)) return upstreamFailure('aws.malformed_response:secret_access_key');
  if (!/^\S{1,16384}$/.test(sessionToken)) return upstreamFailure('aws.malformed_response:session_token');
  const upstreamExpiry = parseUtcTimestamp(expiration);
  if (upstreamExpiry === undefined) return upstreamFailure('aws.malformed_response:expiration');
  const expiresAt = boundedExpiry(upstreamExpiry, ctx.now, duration);
  if (expiresAt === undefined) return upstreamFailure('aws.expiration_out_of_range');
  const expires = isoSeconds(expiresAt);
  return {
    ok: true,
    credential: {
      type: 'aws',
      access_key_id: accessKeyId,
      secret_access_key: secretAccessKey,
      session_token: sessionToken,
      expires_at: expires,
      region: grant.region,
      role_arn: grant.role_arn,
    },
    summary: { type: 'aws', target: grant.role_arn, expires_at: expires },
  };
}
