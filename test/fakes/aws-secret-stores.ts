// Fake AWS Secrets Manager and SSM Parameter Store speaking AWS's JSON protocol as the services do: POST /,
// `Content-Type: application/x-amz-json-1.1`, `X-Amz-Target: secretsmanager.GetSecretValue` or
// `AmazonSSM.GetParameter`, JSON bodies, errors as `{"__type": "...", "message": "..."}` (plus the
// x-amzn-ErrorType header). Auth is checked the way AWS checks it: a SigV4 signature recomputed from the
// received request with the secret key of a session the fake STS (aws-sts.ts) issued, the session token in
// X-Amz-Security-Token, the credential scope's service and region, the signing time, the session's expiry,
// and then the role of that session against each secret's readers (AccessDeniedException otherwise).
// Modes make them misbehave on demand; `calls` records what arrived and what was decided.
// The oracle test (test/unit/mint/aws-secret-stores-oracle.test.ts) points the AWS SDK clients at them.
import type { FakeAwsSts } from './aws-sts.ts';
import { hang } from './oidc.ts';
import { SIGNATURE_MISMATCH_MESSAGE, verifySigV4 } from './sigv4.ts';

export type FakeAwsStoreMode = 'ok' | 'hang' | 'throttle' | 'throttle_once' | 'server_error' | 'malformed' | 'deny';

export interface FakeSecret {
  arn: string;
  name: string;
  /** Role ARNs allowed secretsmanager:GetSecretValue on it. */
  readers: string[];
  versions: { id: string; stages: string[]; string?: string; binary?: Uint8Array }[];
}

export interface FakeParameter {
  name: string;
  type: 'String' | 'StringList' | 'SecureString';
  value: string;
  version: number;
  /** Role ARNs allowed ssm:GetParameter (and kms:Decrypt for a SecureString). */
  readers: string[];
}

export interface AwsStoreCall {
  target: string;
  body: unknown;
  /** The role of the session whose signature verified. */
  role?: string;
  status: number;
  errorCode?: string;
}

class AwsJsonError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

interface StoreOptions {
  sts: FakeAwsSts;
  region: string;
  now?: () => number;
  hangMs?: number;
}

/** The shared front of both services: protocol, SigV4 with an STS session, modes. */
abstract class FakeAwsJsonService {
  mode: FakeAwsStoreMode = 'ok';
  readonly calls: AwsStoreCall[] = [];
  protected readonly opts: StoreOptions;
  /** Whether throttle_once has throttled; reset it to throttle again. */
  throttled = false;
  protected abstract readonly service: string;
  protected abstract readonly prefix: string;
  protected abstract readonly internalError: string;

  constructor(opts: StoreOptions) {
    this.opts = opts;
  }

  protected abstract act(action: string, body: Record<string, unknown>, role: string): unknown;

  readonly handle = async (req: Request): Promise<Response> => {
    const call: AwsStoreCall = { target: req.headers.get('x-amz-target') ?? '', body: undefined, status: 0 };
    this.calls.push(call);
    const raw = await req.arrayBuffer();
    const fail = (err: AwsJsonError): Response => {
      call.status = err.status;
      call.errorCode = err.code;
      return new Response(JSON.stringify({ __type: err.code, message: err.message }), {
        status: err.status,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': err.code, 'x-amzn-requestid': crypto.randomUUID() },
      });
    };
    if (this.mode === 'hang') return hang(req, this.opts.hangMs ?? 30_000);
    if (this.mode === 'throttle' || (this.mode === 'throttle_once' && !this.throttled)) {
      this.throttled = true;
      return fail(new AwsJsonError(400, 'ThrottlingException', 'Rate exceeded'));
    }
    if (this.mode === 'server_error') return fail(new AwsJsonError(500, this.internalError, 'An error occurred on the server side.'));
    try {
      if (req.method !== 'POST' || new URL(req.url).pathname !== '/') throw new AwsJsonError(404, 'UnknownOperationException', 'Not found');
      if ((req.headers.get('content-type') ?? '').split(';')[0]?.trim() !== 'application/x-amz-json-1.1')
        throw new AwsJsonError(400, 'SerializationException', 'Unsupported content type');
      const m = new RegExp(`^${this.prefix.replace('.', '\\.')}\\.([A-Za-z]+)$`).exec(call.target);
      if (!m) throw new AwsJsonError(400, 'UnknownOperationException', `Unknown operation ${call.target}`);
      const role = await this.authenticate(req, raw);
      call.role = role;
      let body: unknown;
      try {
        body = JSON.parse(new TextDecoder().decode(raw));
      } catch {
        throw new AwsJsonError(400, 'SerializationException', 'Start of structure or map found where not expected.');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new AwsJsonError(400, 'SerializationException', 'Expected an object');
      call.body = body;
      if (this.mode === 'deny')
        throw new AwsJsonError(400, 'AccessDeniedException', `User: ${role} is not authorized to perform this operation`);
      const answer = this.act(m[1] as string, body as Record<string, unknown>, role);
      call.status = 200;
      const text = JSON.stringify(answer);
      return new Response(this.mode === 'malformed' ? text.slice(0, Math.floor(text.length / 2)) : text, {
        status: 200,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': crypto.randomUUID() },
      });
    } catch (err) {
      if (err instanceof AwsJsonError) return fail(err);
      throw err;
    }
  };

  private nowS(): number {
    return Math.floor((this.opts.now?.() ?? Date.now()) / 1000);
  }

  /** SigV4 as AWS checks it, with the keys of a session the fake STS issued; returns that session's role. */
  private async authenticate(req: Request, raw: ArrayBuffer): Promise<string> {
    const verified = await verifySigV4(req, raw, {
      service: this.service,
      region: this.opts.region,
      mustSign: ['x-amz-security-token', 'x-amz-target'],
      lookup: (keyId) => {
        const session = this.opts.sts.calls.find((c) => c.issued?.accessKeyId === keyId);
        if (!session?.issued) return undefined;
        if (req.headers.get('x-amz-security-token') !== session.issued.sessionToken)
          throw new AwsJsonError(400, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
        if (session.issued.expiration <= this.nowS())
          throw new AwsJsonError(400, 'ExpiredTokenException', 'The security token included in the request is expired');
        return { secretAccessKey: session.issued.secretAccessKey, role: session.params.RoleArn ?? '' };
      },
      nowS: this.nowS(),
    });
    if (verified.ok) return verified.key.role;
    const f = verified.failure;
    switch (f.reason) {
      case 'missing_authorization':
        throw new AwsJsonError(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
      case 'malformed_authorization':
        throw new AwsJsonError(
          400,
          'IncompleteSignatureException',
          'Authorization header requires Credential, SignedHeaders and Signature.',
        );
      case 'unknown_key':
        throw new AwsJsonError(400, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
      case 'wrong_service':
        throw new AwsJsonError(400, 'InvalidSignatureException', `Credential should be scoped to correct service: '${f.service}'.`);
      case 'wrong_region':
        throw new AwsJsonError(400, 'InvalidSignatureException', 'Credential should be scoped to a valid region.');
      case 'incomplete_signed_headers':
        throw new AwsJsonError(400, 'IncompleteSignatureException', 'Signed headers must include host and x-amz-date.');
      case 'required_unsigned':
        throw new AwsJsonError(400, 'InvalidSignatureException', 'The security token and the target must be signed.');
      case 'wrong_date':
        throw new AwsJsonError(400, 'InvalidSignatureException', 'Credential should be scoped to a valid date.');
      case 'expired':
        throw new AwsJsonError(400, 'InvalidSignatureException', 'Signature expired.');
      case 'header_missing':
        throw new AwsJsonError(400, 'InvalidSignatureException', `Signed header ${f.name} is missing.`);
      case 'mismatch':
        throw new AwsJsonError(400, 'InvalidSignatureException', SIGNATURE_MISMATCH_MESSAGE);
    }
  }
}

export class FakeSecretsManager extends FakeAwsJsonService {
  protected readonly service = 'secretsmanager';
  protected readonly prefix = 'secretsmanager';
  protected readonly internalError = 'InternalServiceError';
  readonly secrets: FakeSecret[];

  constructor(opts: StoreOptions & { secrets: FakeSecret[] }) {
    super(opts);
    this.secrets = opts.secrets;
  }

  protected act(action: string, body: Record<string, unknown>, role: string): unknown {
    if (action !== 'GetSecretValue') throw new AwsJsonError(400, 'UnknownOperationException', `Unknown operation ${action}`);
    const id = body.SecretId;
    if (typeof id !== 'string' || id === '') throw new AwsJsonError(400, 'InvalidParameterException', 'SecretId is required.');
    if (body.VersionId !== undefined && body.VersionStage !== undefined)
      throw new AwsJsonError(400, 'InvalidParameterException', 'You can specify either VersionId or VersionStage, not both.');
    // By name, full ARN, or ARN without the random suffix, as Secrets Manager resolves them.
    const secret = this.secrets.find((s) => s.name === id || s.arn === id || s.arn.replace(/-[A-Za-z0-9]{6}$/, '') === id);
    if (!secret?.readers.includes(role)) {
      // A missing secret is ResourceNotFound; one the role may not read is AccessDenied.
      if (!secret) throw new AwsJsonError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      throw new AwsJsonError(400, 'AccessDeniedException', `User: ${role} is not authorized to perform: secretsmanager:GetSecretValue`);
    }
    const stage = typeof body.VersionStage === 'string' ? body.VersionStage : 'AWSCURRENT';
    const version =
      typeof body.VersionId === 'string'
        ? secret.versions.find((v) => v.id === body.VersionId)
        : secret.versions.find((v) => v.stages.includes(stage));
    if (!version)
      throw new AwsJsonError(
        400,
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
      );
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      ...(version.string !== undefined ? { SecretString: version.string } : {}),
      ...(version.binary !== undefined ? { SecretBinary: Buffer.from(version.binary).toString('base64') } : {}),
      VersionStages: version.stages,
      CreatedDate: 1_700_000_000.123,
    };
  }
}

export class FakeSsm extends FakeAwsJsonService {
  protected readonly service = 'ssm';
  protected readonly prefix = 'AmazonSSM';
  protected readonly internalError = 'InternalServerError';
  readonly parameters: FakeParameter[];
  private readonly account: string;

  constructor(opts: StoreOptions & { parameters: FakeParameter[]; account?: string }) {
    super(opts);
    this.parameters = opts.parameters;
    this.account = opts.account ?? '111122223333';
  }

  protected act(action: string, body: Record<string, unknown>, role: string): unknown {
    if (action !== 'GetParameter') throw new AwsJsonError(400, 'UnknownOperationException', `Unknown operation ${action}`);
    const name = body.Name;
    if (typeof name !== 'string' || name === '') throw new AwsJsonError(400, 'ValidationException', 'Name is required.');
    const arn = (p: FakeParameter) =>
      `arn:aws:ssm:${this.opts.region}:${this.account}:parameter${p.name.startsWith('/') ? '' : '/'}${p.name}`;
    const parameter = this.parameters.find((p) => p.name === name || arn(p) === name);
    if (!parameter) throw new AwsJsonError(400, 'ParameterNotFound', '');
    if (!parameter.readers.includes(role))
      throw new AwsJsonError(400, 'AccessDeniedException', `User: ${role} is not authorized to perform: ssm:GetParameter`);
    const decrypt = body.WithDecryption === true;
    const value =
      parameter.type === 'SecureString' && !decrypt ? `AQICAHh${Buffer.from(parameter.value).toString('base64')}` : parameter.value;
    return {
      Parameter: {
        ARN: arn(parameter),
        DataType: 'text',
        LastModifiedDate: 1_700_000_000.5,
        Name: parameter.name,
        Type: parameter.type,
        Value: value,
        Version: parameter.version,
      },
    };
  }
}
