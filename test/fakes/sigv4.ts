// SigV4 as AWS services check it, for the fakes (aws-sts.ts, aws-secret-stores.ts): the Authorization
// header's shape, the key id (looked up by the caller), the credential scope's service, region and day, the
// signing time within 15 minutes, then the signature recomputed from the received request with aws4fetch's
// signer. Each fake maps a failure to its own protocol's error type and code.
import { AwsV4Signer } from 'aws4fetch';

export type SigV4Failure =
  | { reason: 'missing_authorization' }
  | { reason: 'malformed_authorization' }
  | { reason: 'unknown_key' }
  | { reason: 'wrong_service'; service: string }
  | { reason: 'wrong_region' }
  | { reason: 'incomplete_signed_headers' }
  | { reason: 'required_unsigned' }
  | { reason: 'wrong_date' }
  | { reason: 'expired'; amzDate: string }
  | { reason: 'header_missing'; name: string }
  | { reason: 'mismatch' };

export interface SigV4Check<K extends { secretAccessKey: string }> {
  /** The signing name the credential scope must carry. */
  service: string;
  /** The region it must carry; undefined: any. */
  region?: string | undefined;
  /** Headers that must be signed besides host and x-amz-date. */
  mustSign?: string[];
  /** The key for an access key id, or undefined when unknown; may throw the fake's own error. */
  lookup: (keyId: string) => K | undefined;
  /** Epoch seconds. */
  nowS: number;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

/** The key whose signature matched, or the first check that failed, in the order AWS checks them. */
export async function verifySigV4<K extends { secretAccessKey: string }>(
  req: Request,
  raw: ArrayBuffer,
  check: SigV4Check<K>,
): Promise<{ ok: true; keyId: string; key: K } | { ok: false; failure: SigV4Failure }> {
  const fail = (failure: SigV4Failure) => ({ ok: false as const, failure });
  const auth = req.headers.get('authorization');
  if (!auth) return fail({ reason: 'missing_authorization' });
  const m = AUTHORIZATION.exec(auth);
  if (!m) return fail({ reason: 'malformed_authorization' });
  const [, keyId = '', day = '', region = '', service = '', signedHeaders = '', signature = ''] = m;
  const key = check.lookup(keyId);
  if (key === undefined) return fail({ reason: 'unknown_key' });
  if (service !== check.service) return fail({ reason: 'wrong_service', service: check.service });
  if (check.region !== undefined && region !== check.region) return fail({ reason: 'wrong_region' });
  const amzDate = req.headers.get('x-amz-date');
  const names = signedHeaders.split(';');
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate) || !names.includes('host') || !names.includes('x-amz-date'))
    return fail({ reason: 'incomplete_signed_headers' });
  if (!(check.mustSign ?? []).every((name) => names.includes(name))) return fail({ reason: 'required_unsigned' });
  if (amzDate.slice(0, 8) !== day) return fail({ reason: 'wrong_date' });
  const signedAt =
    Date.UTC(
      +amzDate.slice(0, 4),
      +amzDate.slice(4, 6) - 1,
      +amzDate.slice(6, 8),
      +amzDate.slice(9, 11),
      +amzDate.slice(11, 13),
      +amzDate.slice(13, 15),
    ) / 1000;
  if (Math.abs(check.nowS - signedAt) > 15 * 60) return fail({ reason: 'expired', amzDate });
  const headers = new Headers();
  for (const name of names) {
    if (name === 'host') continue;
    const value = req.headers.get(name);
    if (value === null) return fail({ reason: 'header_missing', name });
    headers.set(name, value);
  }
  const signer = new AwsV4Signer({
    method: req.method,
    url: req.url,
    headers,
    body: raw,
    accessKeyId: keyId,
    secretAccessKey: key.secretAccessKey,
    service,
    region,
    datetime: amzDate,
    allHeaders: true,
  });
  if (signer.signedHeaders !== signedHeaders || (await signer.signature()) !== signature) return fail({ reason: 'mismatch' });
  return { ok: true, keyId, key };
}

/** AWS's words for a signature that does not match, the same in every service. */
export const SIGNATURE_MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.';
