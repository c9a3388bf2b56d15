// A fake AWS STS that speaks the real Query protocol (form-encoded POST, XML answers in the
// https://sts.amazonaws.com/doc/2011-06-15/ namespace with ResponseMetadata/RequestId, ErrorResponse on
// failure) and checks what STS checks:
// - AssumeRoleWithWebIdentity: the WebIdentityToken against an IAM OIDC provider registered for its issuer
//   (discovery, then the JWKS over HTTP: signature, issuer, audience = a registered client id, expiry), the
//   role's trust (sub and other claim conditions), the tags and source identity claims;
// - AssumeRole: the SigV4 signature, recomputed from the received request with the known secret key
//   (aws4fetch's signer), the key id, the credential scope (service sts, region) and the request time;
// - both: RoleSessionName's pattern and length, DurationSeconds in 900..MaxSessionDuration, the session
//   policy's size and JSON, policy ARNs, SourceIdentity, Tags.
// Modes make it misbehave on demand; `calls` records what it received and what it decided.
// The oracle tests (test/unit/mint/aws-fake-oracle.test.ts) point @aws-sdk/client-sts at it.
import { decodeJwt, type JWTPayload } from 'jose';
import { hang, randomChars, TrustedIssuerVerifier, type FetchLike } from './oidc.ts';
import { SIGNATURE_MISMATCH_MESSAGE, verifySigV4 } from './sigv4.ts';

export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

export interface FakeAwsRole {
  /** Trust policy condition `<provider>:sub` (web identity). */
  sub?: string;
  /** Further trust conditions: claim -> exact value (web identity). */
  claims?: Record<string, string>;
  /** The role's MaxSessionDuration; default 3600. */
  maxSessionDuration?: number;
  /** Whether the trust policy allows sts:TagSession / sts:SetSourceIdentity; default true. */
  allowTagSession?: boolean;
  allowSourceIdentity?: boolean;
  /** AssumeRole: access key ids the trust policy admits; default: any known key. */
  accessKeyIds?: string[];
}

export interface FakeAwsStsOptions {
  /** IAM OIDC providers: issuer URL -> client ids (audiences). */
  oidcProviders?: Record<string, string[]>;
  /** Role ARN -> trust and limits. An unknown role is AccessDenied, as in STS. */
  roles: Record<string, FakeAwsRole>;
  /** Access key id -> secret access key, for signed calls. */
  accessKeys?: Record<string, string>;
  /** When set, the SigV4 credential scope must name this region. */
  region?: string;
  /** Epoch milliseconds (token expiry, signature time, credential expiry). */
  now?: () => number;
  /** For the OIDC providers' discovery and JWKS; defaults to the global fetch. */
  fetch?: FetchLike;
  /** How long `hang` holds a request that is never aborted. */
  hangMs?: number;
}

export type FakeAwsMode =
  | 'ok'
  | 'hang'
  | 'deny'
  | 'throttle'
  | 'server_error'
  | 'malformed'
  | 'missing_element'
  | 'duplicate_element'
  | 'wrong_namespace'
  | 'long_expiry'
  | 'redirect';

export interface IssuedAwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch seconds. */
  expiration: number;
}

export interface StsCall {
  action: string;
  params: Record<string, string>;
  /** Web identity: the verified token claims. */
  claims?: JWTPayload;
  /** Signed calls: the key id whose signature verified. */
  accessKeyId?: string;
  /** Session tags in effect (from the token claim or the Tags parameters). */
  tags?: Record<string, string>;
  transitiveTagKeys?: string[];
  sourceIdentity?: string;
  status: number;
  errorCode?: string;
  issued?: IssuedAwsCredentials;
}

class StsError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function stsErrorXml(code: string, message: string, requestId: string, type: 'Sender' | 'Receiver' = 'Sender'): string {
  return (
    `<ErrorResponse xmlns="${STS_NAMESPACE}">\n` +
    `  <Error>\n    <Type>${type}</Type>\n    <Code>${escapeXml(code)}</Code>\n    <Message>${escapeXml(message)}</Message>\n  </Error>\n` +
    `  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`
  );
}

/** `Prefix.member.N` (or `Prefix.member.N.suffix`) parameters as a list; N must run 1, 2, 3... */
function memberList(params: Record<string, string>, prefix: string, suffix = ''): string[] {
  const out: string[] = [];
  const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.member\\.(\\d+)${suffix.replace(/\./g, '\\.')}$`);
  const found = Object.keys(params)
    .map((k) => pattern.exec(k))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  found.forEach((n, i) => {
    if (n !== i + 1) throw new StsError(400, 'ValidationError', `${prefix}.member indices must start at 1 and be contiguous`);
    out.push(params[`${prefix}.member.${n}${suffix}`] as string);
  });
  return out;
}

export class FakeAwsSts {
  mode: FakeAwsMode = 'ok';
  readonly calls: StsCall[] = [];
  readonly verifier: TrustedIssuerVerifier;
  private readonly opts: FakeAwsStsOptions;

  constructor(opts: FakeAwsStsOptions) {
    this.opts = opts;
    this.verifier = new TrustedIssuerVerifier({ ...(opts.fetch ? { fetch: opts.fetch } : {}), ...(opts.now ? { now: opts.now } : {}) });
  }

  private nowS(): number {
    return Math.floor((this.opts.now?.() ?? Date.now()) / 1000);
  }

  /** The fake as a fetch handler: serve it over HTTP, or answer a fetch with it directly. */
  readonly handle = async (req: Request): Promise<Response> => {
    const requestId = crypto.randomUUID();
    const call: StsCall = { action: '', params: {}, status: 0 };
    const raw = await req.arrayBuffer();
    const contentType = req.headers.get('content-type') ?? '';
    const params: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [k, v] of new URL(req.url).searchParams) params[k] = v;
    if (req.method === 'POST' && contentType.startsWith('application/x-www-form-urlencoded')) {
      for (const [k, v] of new URLSearchParams(new TextDecoder().decode(raw))) params[k] = v;
    }
    call.action = params.Action ?? '';
    call.params = { ...params };
    this.calls.push(call);

    if (this.mode === 'hang') return hang(req, this.opts.hangMs ?? 30_000);
    if (this.mode === 'redirect') return new Response(null, { status: 307, headers: { location: 'https://sts.amazonaws.com/' } });
    const fail = (status: number, code: string, message: string): Response => {
      call.status = status;
      call.errorCode = code;
      return new Response(stsErrorXml(code, message, requestId, status >= 500 ? 'Receiver' : 'Sender'), {
        status,
        headers: { 'content-type': 'text/xml', 'x-amzn-RequestId': requestId },
      });
    };
    if (this.mode === 'deny') return fail(403, 'AccessDenied', `Not authorized to perform sts:${call.action || 'AssumeRole'}`);
    if (this.mode === 'throttle') return fail(400, 'Throttling', 'Rate exceeded');
    if (this.mode === 'server_error')
      return fail(500, 'InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.');

    try {
      if (params.Version !== '2011-06-15')
        throw new StsError(
          400,
          'InvalidAction',
          `Could not find operation ${call.action} for version ${params.Version ?? 'NO_VERSION_SPECIFIED'}`,
        );
      let issued: { xml: string; creds: IssuedAwsCredentials };
      if (call.action === 'AssumeRoleWithWebIdentity') issued = await this.assumeRoleWithWebIdentity(params, call, requestId);
      else if (call.action === 'AssumeRole') issued = await this.assumeRole(req, raw, params, call, requestId);
      else throw new StsError(400, 'InvalidAction', `Could not find operation ${call.action} for version 2011-06-15`);
      call.status = 200;
      call.issued = issued.creds;
      return new Response(issued.xml, { status: 200, headers: { 'content-type': 'text/xml', 'x-amzn-RequestId': requestId } });
    } catch (err) {
      if (err instanceof StsError) return fail(err.status, err.code, err.message);
      throw err;
    }
  };

  /** Checks common to both actions; returns the role and the duration. */
  private commonChecks(params: Record<string, string>): {
    roleArn: string;
    role: FakeAwsRole;
    sessionName: string;
    duration: number;
    packed: number;
  } {
    const roleArn = params.RoleArn;
    if (roleArn === undefined)
      throw new StsError(
        400,
        'ValidationError',
        "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
      );
    if (roleArn.length < 20 || roleArn.length > 2048)
      throw new StsError(
        400,
        'ValidationError',
        "Value at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048",
      );
    const sessionName = params.RoleSessionName;
    if (sessionName === undefined)
      throw new StsError(
        400,
        'ValidationError',
        "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null",
      );
    if (!SESSION_NAME.test(sessionName)) {
      throw new StsError(
        400,
        'ValidationError',
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
    let duration = 3600;
    if (params.DurationSeconds !== undefined) {
      if (!/^\d{1,6}$/.test(params.DurationSeconds))
        throw new StsError(400, 'ValidationError', "Value at 'durationSeconds' failed to satisfy constraint");
      duration = Number(params.DurationSeconds);
      if (duration < 900 || duration > 43200) {
        throw new StsError(
          400,
          'ValidationError',
          `1 validation error detected: Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value ${duration < 900 ? 'greater than or equal to 900' : 'less than or equal to 43200'}`,
        );
      }
    }
    let packed = 0;
    if (params.Policy !== undefined) {
      if (params.Policy.length > 2048)
        throw new StsError(400, 'PackedPolicyTooLarge', 'Packed policy consumes more than the allowed size.');
      try {
        const doc = JSON.parse(params.Policy) as unknown;
        if (typeof doc !== 'object' || doc === null || !('Statement' in doc)) throw new Error('no Statement');
      } catch {
        throw new StsError(400, 'MalformedPolicyDocument', 'The policy is not in the valid JSON format.');
      }
      packed += Math.ceil((params.Policy.length / 2048) * 100);
    }
    const arns = memberList(params, 'PolicyArns', '.arn');
    if (arns.length > 10)
      throw new StsError(
        400,
        'ValidationError',
        "Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10",
      );
    for (const arn of arns)
      if (!/^arn:aws[a-z-]*:iam::(?:\d{12}|aws):policy\/.+$/.test(arn))
        throw new StsError(400, 'ValidationError', `Invalid policy ARN ${arn}`);
    const role = this.opts.roles[roleArn];
    if (!role || !Object.hasOwn(this.opts.roles, roleArn))
      throw new StsError(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRole');
    if (duration > (role.maxSessionDuration ?? 3600)) {
      throw new StsError(400, 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }
    return { roleArn, role, sessionName, duration, packed };
  }

  private checkTags(tags: Record<string, string>, transitive: string[]): void {
    const keys = Object.keys(tags);
    if (keys.length > 50) throw new StsError(400, 'ValidationError', 'Tags: at most 50');
    const lower = new Set<string>();
    for (const k of keys) {
      if (!TAG_KEY.test(k) || k.toLowerCase().startsWith('aws:')) throw new StsError(400, 'ValidationError', `Invalid tag key ${k}`);
      if (lower.has(k.toLowerCase()))
        throw new StsError(400, 'InvalidParameterValue', 'Duplicate tag keys found. Please note that Tag keys are case insensitive.');
      lower.add(k.toLowerCase());
      if (!TAG_VALUE.test(tags[k] as string)) throw new StsError(400, 'ValidationError', `Invalid tag value for ${k}`);
    }
    for (const t of transitive)
      if (!keys.includes(t)) throw new StsError(400, 'InvalidParameterValue', 'TransitiveTagKeys must be a subset of the session tags.');
  }

  private checkSourceIdentity(value: string): void {
    if (!SESSION_NAME.test(value) || value.toLowerCase().startsWith('aws:')) {
      throw new StsError(400, 'ValidationError', `Value '${value}' at 'sourceIdentity' failed to satisfy constraint`);
    }
  }

  private async assumeRoleWithWebIdentity(params: Record<string, string>, call: StsCall, requestId: string) {
    const token = params.WebIdentityToken;
    if (token === undefined)
      throw new StsError(
        400,
        'ValidationError',
        "1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null",
      );
    if (token.length < 4 || token.length > 20000)
      throw new StsError(400, 'ValidationError', "Value at 'webIdentityToken' failed to satisfy constraint");
    if ('Tags.member.1.Key' in params || 'SourceIdentity' in params || 'TransitiveTagKeys.member.1' in params) {
      // Not parameters of this action: the SDK would not send them, STS rejects them.
      throw new StsError(400, 'InvalidParameterValue', 'Tags and SourceIdentity are not parameters of AssumeRoleWithWebIdentity');
    }
    const common = this.commonChecks(params);
    const providers = this.opts.oidcProviders ?? {};
    const issuers = Object.keys(providers);
    const iss = (() => {
      try {
        return decodeJwt(token).iss;
      } catch {
        return undefined;
      }
    })();
    const audiences = typeof iss === 'string' && Object.hasOwn(providers, iss) ? (providers[iss] ?? []) : [];
    const check = await this.verifier.verify(token, { issuers, audiences });
    if (!check.ok) {
      switch (check.kind) {
        case 'expired':
          throw new StsError(
            400,
            'ExpiredTokenException',
            `Token expired: current date/time ${this.nowS()} must be before the expiration date/time`,
          );
        case 'unknown_issuer':
          throw new StsError(400, 'InvalidIdentityToken', `No OpenIDConnect provider found in your account for ${String(iss)}`);
        case 'audience':
          throw new StsError(400, 'InvalidIdentityToken', 'Incorrect token audience');
        case 'idp_unreachable':
          throw new StsError(400, 'IDPCommunicationError', `Couldn't retrieve verification key from your identity provider`);
        default:
          throw new StsError(
            400,
            'InvalidIdentityToken',
            `The web identity token that was passed could not be validated by AWS: ${check.message}`,
          );
      }
    }
    const claims = check.claims;
    call.claims = claims;
    const role = common.role;
    if (role.sub !== undefined && claims.sub !== role.sub)
      throw new StsError(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
    for (const [name, value] of Object.entries(role.claims ?? {})) {
      if (claims[name] !== value) throw new StsError(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
    }
    // Session tags and source identity come only from the token.
    const tagsClaim = claims['https://aws.amazon.com/tags'];
    if (tagsClaim !== undefined) {
      if (typeof tagsClaim !== 'object' || tagsClaim === null)
        throw new StsError(400, 'InvalidIdentityToken', 'The tags claim is not an object');
      const { principal_tags: principal, transitive_tag_keys: transitive, ...rest } = tagsClaim as Record<string, unknown>;
      if (Object.keys(rest).length > 0) throw new StsError(400, 'InvalidIdentityToken', 'Unknown key in the tags claim');
      const tags: Record<string, string> = {};
      if (typeof principal !== 'object' || principal === null || Array.isArray(principal))
        throw new StsError(400, 'InvalidIdentityToken', 'principal_tags must be an object');
      for (const [k, v] of Object.entries(principal)) {
        if (!Array.isArray(v) || v.length !== 1 || typeof v[0] !== 'string')
          throw new StsError(400, 'InvalidIdentityToken', `principal_tags.${k} must be a list of one string`);
        tags[k] = v[0];
      }
      const transitiveKeys = transitive === undefined ? [] : transitive;
      if (!Array.isArray(transitiveKeys) || !transitiveKeys.every((t) => typeof t === 'string'))
        throw new StsError(400, 'InvalidIdentityToken', 'transitive_tag_keys must be a list of strings');
      this.checkTags(tags, transitiveKeys as string[]);
      if (Object.keys(tags).length > 0 && role.allowTagSession === false)
        throw new StsError(403, 'AccessDenied', 'Not authorized to perform sts:TagSession');
      call.tags = tags;
      call.transitiveTagKeys = transitiveKeys as string[];
    }
    const sourceIdentity = claims['https://aws.amazon.com/source_identity'];
    if (sourceIdentity !== undefined) {
      if (typeof sourceIdentity !== 'string') throw new StsError(400, 'InvalidIdentityToken', 'source_identity must be a string');
      this.checkSourceIdentity(sourceIdentity);
      if (role.allowSourceIdentity === false) throw new StsError(403, 'AccessDenied', 'Not authorized to perform sts:SetSourceIdentity');
      call.sourceIdentity = sourceIdentity;
    }
    const providerArn = `arn:aws:iam::${accountOf(common.roleArn)}:oidc-provider/${String(claims.iss).replace(/^https?:\/\//, '')}`;
    const extra =
      `    <SubjectFromWebIdentityToken>${escapeXml(String(claims.sub))}</SubjectFromWebIdentityToken>\n` +
      `    <Audience>${escapeXml(String(Array.isArray(claims.aud) ? claims.aud[0] : claims.aud))}</Audience>\n` +
      `    <Provider>${escapeXml(providerArn)}</Provider>\n`;
    return this.success('AssumeRoleWithWebIdentity', common, requestId, extra, call);
  }

  private async assumeRole(req: Request, raw: ArrayBuffer, params: Record<string, string>, call: StsCall, requestId: string) {
    const accessKeyId = await this.verifySignature(req, raw);
    call.accessKeyId = accessKeyId;
    const common = this.commonChecks(params);
    const role = common.role;
    if (role.accessKeyIds && !role.accessKeyIds.includes(accessKeyId))
      throw new StsError(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRole');
    const keys = memberList(params, 'Tags', '.Key');
    const values = memberList(params, 'Tags', '.Value');
    if (keys.length !== values.length) throw new StsError(400, 'ValidationError', 'Every tag needs a Key and a Value');
    const tags: Record<string, string> = {};
    keys.forEach((k, i) => {
      if (Object.hasOwn(tags, k)) throw new StsError(400, 'InvalidParameterValue', 'Duplicate tag keys found.');
      tags[k] = values[i] as string;
    });
    const transitive = memberList(params, 'TransitiveTagKeys');
    this.checkTags(tags, transitive);
    if (keys.length > 0) {
      if (role.allowTagSession === false) throw new StsError(403, 'AccessDenied', 'Not authorized to perform sts:TagSession');
      call.tags = tags;
      call.transitiveTagKeys = transitive;
    }
    if (params.SourceIdentity !== undefined) {
      this.checkSourceIdentity(params.SourceIdentity);
      if (role.allowSourceIdentity === false) throw new StsError(403, 'AccessDenied', 'Not authorized to perform sts:SetSourceIdentity');
      call.sourceIdentity = params.SourceIdentity;
    }
    return this.success('AssumeRole', common, requestId, '', call);
  }

  /** SigV4 as STS checks it; returns the access key id whose signature matched. */
  private async verifySignature(req: Request, raw: ArrayBuffer): Promise<string> {
    const keys = this.opts.accessKeys;
    const verified = await verifySigV4(req, raw, {
      service: 'sts',
      region: this.opts.region,
      lookup: (keyId) => (keys && Object.hasOwn(keys, keyId) && keys[keyId] !== undefined ? { secretAccessKey: keys[keyId] } : undefined),
      nowS: this.nowS(),
    });
    if (verified.ok) return verified.keyId;
    const f = verified.failure;
    switch (f.reason) {
      case 'missing_authorization':
        throw new StsError(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
      case 'malformed_authorization':
        throw new StsError(400, 'IncompleteSignature', 'Authorization header requires Credential, SignedHeaders and Signature.');
      case 'unknown_key':
        throw new StsError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
      case 'wrong_service':
        throw new StsError(403, 'SignatureDoesNotMatch', `Credential should be scoped to correct service: '${f.service}'.`);
      case 'wrong_region':
        throw new StsError(403, 'SignatureDoesNotMatch', 'Credential should be scoped to a valid region.');
      case 'incomplete_signed_headers':
      case 'required_unsigned':
        throw new StsError(400, 'IncompleteSignature', 'Signed headers must include host and x-amz-date.');
      case 'wrong_date':
        throw new StsError(403, 'SignatureDoesNotMatch', 'Credential should be scoped to a valid date.');
      case 'expired':
        throw new StsError(403, 'SignatureDoesNotMatch', `Signature expired: ${f.amzDate} is now earlier than the allowed window.`);
      case 'header_missing':
        throw new StsError(403, 'SignatureDoesNotMatch', `Signed header ${f.name} is missing.`);
      case 'mismatch':
        throw new StsError(403, 'SignatureDoesNotMatch', SIGNATURE_MISMATCH_MESSAGE);
    }
  }

  private success(
    action: 'AssumeRole' | 'AssumeRoleWithWebIdentity',
    common: { roleArn: string; sessionName: string; duration: number; packed: number },
    requestId: string,
    extra: string,
    call: StsCall,
  ): { xml: string; creds: IssuedAwsCredentials } {
    const now = this.nowS();
    const creds: IssuedAwsCredentials = {
      accessKeyId: `ASIA${randomChars(16, KEY_ALPHABET)}`,
      secretAccessKey: randomChars(40, SECRET_ALPHABET),
      sessionToken: `FwoGZXIvYXdzE${randomChars(300, SECRET_ALPHABET)}`,
      expiration: now + (this.mode === 'long_expiry' ? 43200 : common.duration),
    };
    const roleName = common.roleArn.split('/').at(-1) ?? '';
    const account = accountOf(common.roleArn);
    const roleId = `AROA${randomChars(17, KEY_ALPHABET)}`;
    const tags = Object.keys(call.tags ?? {}).length;
    const packed = common.packed + (tags > 0 ? tags * 2 : 0);
    let credentials =
      `    <Credentials>\n` +
      `      <AccessKeyId>${creds.accessKeyId}</AccessKeyId>\n` +
      `      <SecretAccessKey>${escapeXml(creds.secretAccessKey)}</SecretAccessKey>\n` +
      `      <SessionToken>${escapeXml(creds.sessionToken)}</SessionToken>\n` +
      `      <Expiration>${isoSeconds(creds.expiration)}</Expiration>\n` +
      `    </Credentials>\n`;
    if (this.mode === 'missing_element') credentials = credentials.replace(/ *<SessionToken>.*<\/SessionToken>\n/, '');
    if (this.mode === 'duplicate_element')
      credentials = credentials.replace(
        /( *<AccessKeyId>.*<\/AccessKeyId>\n)/,
        `$1      <AccessKeyId>ASIA${randomChars(16, KEY_ALPHABET)}</AccessKeyId>\n`,
      );
    const namespace = this.mode === 'wrong_namespace' ? 'https://sts.amazonaws.com/doc/2099-01-01/' : STS_NAMESPACE;
    let xml =
      `<${action}Response xmlns="${namespace}">\n` +
      `  <${action}Result>\n` +
      (action === 'AssumeRoleWithWebIdentity' ? extra : '') +
      `    <AssumedRoleUser>\n` +
      `      <Arn>arn:aws:sts::${account}:assumed-role/${escapeXml(roleName)}/${escapeXml(common.sessionName)}</Arn>\n` +
      `      <AssumedRoleId>${roleId}:${escapeXml(common.sessionName)}</AssumedRoleId>\n` +
      `    </AssumedRoleUser>\n` +
      credentials +
      (packed > 0 ? `    <PackedPolicySize>${packed}</PackedPolicySize>\n` : '') +
      (call.sourceIdentity !== undefined ? `    <SourceIdentity>${escapeXml(call.sourceIdentity)}</SourceIdentity>\n` : '') +
      `  </${action}Result>\n` +
      `  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n` +
      `</${action}Response>\n`;
    if (this.mode === 'malformed') xml = xml.slice(0, Math.floor(xml.length / 2));
    return { xml, creds };
  }
}

function accountOf(roleArn: string): string {
  return roleArn.split(':')[4] ?? '000000000000';
}
