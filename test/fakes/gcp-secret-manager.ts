// A fake Google Secret Manager speaking the REST API as Google does: `GET /v1/projects/<project>/secrets/
// <name>/versions/<n|latest>:access` (query parameters such as $alt allowed, as the REST fallback client
// sends them), answering `{name, payload: {data: <base64>, dataCrc32c: "<int64>"}}` with the name in the
// project's number form and a real CRC-32C (Castagnoli, computed here bit by bit, independently of
// broker/src/util/crc32c.ts). Auth as Google checks it: a bearer that the fake Google Cloud (gcp.ts) issued
// and that is still live with the cloud-platform scope, then secretmanager.versions.access for its principal
// (`serviceAccount:<email>` for an impersonated token, `subject:<sub>` for a federated one). Errors are Google
// API errors `{error: {code, message, status}}`: UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND,
// FAILED_PRECONDITION (a disabled or destroyed version), RESOURCE_EXHAUSTED, UNAVAILABLE.
// The oracle test (test/unit/mint/gcp-secret-manager-oracle.test.ts) points @google-cloud/secret-manager at it.
import type { FakeGcp } from './gcp.ts';
import { hang } from './oidc.ts';

export type FakeSecretManagerMode = 'ok' | 'hang' | 'throttle' | 'throttle_once' | 'server_error' | 'malformed' | 'bad_crc';

export interface FakeGcpSecret {
  /** Principals granted roles/secretmanager.secretAccessor: `serviceAccount:<email>` or `subject:<federated sub>`. */
  accessors: string[];
  /** Version n is versions[n-1]. */
  versions: { data: Uint8Array | string; state?: 'ENABLED' | 'DISABLED' | 'DESTROYED' }[];
}

export interface SecretManagerCall {
  path: string;
  principal?: string;
  status: number;
  error?: string;
}

/** CRC-32C bit by bit (reflected 0x82F63B78), an implementation apart from the broker's table-driven one. */
export function crc32cBitwise(bytes: Uint8Array): number {
  let crc = ~0 >>> 0;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0x82f63b78 & -(crc & 1));
  }
  return ~crc >>> 0;
}

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

export class FakeSecretManager {
  mode: FakeSecretManagerMode = 'ok';
  readonly calls: SecretManagerCall[] = [];
  /** Whether throttle_once has throttled; reset it to throttle again. */
  throttled = false;
  private readonly opts: {
    gcp: FakeGcp;
    /** Project id -> number; requests may name either, answers name the number. */
    projects: Record<string, string>;
    /** `projects/<number>/secrets/<name>` -> secret. */
    secrets: Record<string, FakeGcpSecret>;
    now?: () => number;
    hangMs?: number;
  };

  constructor(opts: FakeSecretManager['opts']) {
    this.opts = opts;
  }

  readonly handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const call: SecretManagerCall = { path: url.pathname, status: 0 };
    this.calls.push(call);
    const fail = (code: number, message: string, status = STATUS[code] ?? 'UNKNOWN'): Response => {
      call.status = code;
      call.error = status;
      return Response.json({ error: { code, message, status } }, { status: code });
    };
    if (this.mode === 'hang') return hang(req, this.opts.hangMs ?? 30_000);
    if (this.mode === 'throttle' || (this.mode === 'throttle_once' && !this.throttled)) {
      this.throttled = true;
      return fail(429, "Quota exceeded for quota metric 'Access requests' and limit 'Access requests per minute'.");
    }
    if (this.mode === 'server_error') return fail(503, 'The service is currently unavailable.');
    const m = /^\/v1\/projects\/([a-z0-9-]+)\/secrets\/([A-Za-z0-9_-]+)\/versions\/([^/:]+):access$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) return fail(404, 'Not Found');
    const [, project = '', secretName = '', versionText = ''] = m;

    const auth = /^Bearer (\S+)$/.exec(req.headers.get('authorization') ?? '');
    const token = auth ? this.opts.gcp.tokens.get(auth[1] as string) : undefined;
    const now = Math.floor((this.opts.now?.() ?? Date.now()) / 1000);
    if (!token || token.expiresAt <= now)
      return fail(
        401,
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      );
    if (!token.scopes.includes('https://www.googleapis.com/auth/cloud-platform'))
      return fail(403, 'Request had insufficient authentication scopes.');
    const principal = token.kind === 'federated' ? `subject:${token.principal}` : `serviceAccount:${token.principal}`;
    call.principal = principal;

    const number = Object.hasOwn(this.opts.projects, project) ? this.opts.projects[project] : /^\d+$/.test(project) ? project : undefined;
    const resource = `projects/${number ?? project}/secrets/${secretName}`;
    const secret = number !== undefined && Object.hasOwn(this.opts.secrets, resource) ? this.opts.secrets[resource] : undefined;
    // Google answers PERMISSION_DENIED when the caller may not see the secret, whether or not it exists.
    if (!secret?.accessors.includes(principal))
      return fail(
        403,
        `Permission 'secretmanager.versions.access' denied for resource '${resource}/versions/${versionText}' (or it may not exist).`,
      );
    let n: number;
    if (versionText === 'latest') {
      n = secret.versions.findLastIndex((v) => (v.state ?? 'ENABLED') === 'ENABLED') + 1;
      if (n === 0) return fail(404, `Secret [${resource}] not found or has no versions.`);
    } else if (/^[1-9]\d*$/.test(versionText)) {
      n = Number(versionText);
    } else {
      return fail(400, `Invalid resource field value in the request.`);
    }
    const version = secret.versions[n - 1];
    if (!version) return fail(404, `Secret Version [${resource}/versions/${n}] not found.`);
    const state = version.state ?? 'ENABLED';
    if (state !== 'ENABLED') return fail(400, `Secret Version [${resource}/versions/${n}] is in ${state} state.`, 'FAILED_PRECONDITION');
    const bytes = typeof version.data === 'string' ? new TextEncoder().encode(version.data) : version.data;
    const crc = crc32cBitwise(bytes) ^ (this.mode === 'bad_crc' ? 1 : 0);
    call.status = 200;
    const text = JSON.stringify({
      name: `${resource}/versions/${n}`,
      payload: { data: Buffer.from(bytes).toString('base64'), dataCrc32c: String(crc >>> 0) },
    });
    return new Response(this.mode === 'malformed' ? text.slice(0, Math.floor(text.length / 2)) : text, {
      status: 200,
      headers: { 'content-type': 'application/json; charset=UTF-8' },
    });
  };
}
