// GitHub: an App installation token limited to the role's repositories and permissions. The App's private
// key is a stored secret (PKCS#1 as GitHub issues it, or PKCS#8); the broker signs a short App JWT with it,
// asks for a token scoped down to exactly what the grant names, and checks that GitHub granted no more.
//
// Lifetime: installation tokens live one hour and cannot be shortened. The credential reports
// min(GitHub's expiry, now + max_ttl), and the action's post step revokes the token through
// `POST /v1/revoke` (this minter's `revoke`), so in practice it dies when the job ends. The audit summary
// keeps GitHub's real expiry: that is how long the token lives if nobody revokes it.
import { SignJWT } from 'jose';
import { isAllowedUrl, type GrantOf } from '../policy/schema.ts';
import { isoSeconds } from '../util/duration.ts';
import { fetchLimited } from '../util/http.ts';
import { VERSION } from '../version.ts';
import type { CloudMintDeps } from './broker-token.ts';
import { importRsaSigningKey } from './rsa-pem.ts';
import type { Minter, MintResult, RevokeResult } from './types.ts';
import { boundedExpiry, parseJsonObject, safeText, transportFailure, trimSlashes, type MintFailure } from './upstream-json.ts';

const API_VERSION = '2022-11-28';
/** The token response repeats every repository object (a few KiB each). */
const maxResponseBytes = (repositories: number) => 64 * 1024 + repositories * 16 * 1024;
/** Small error bodies only. */
const MAX_REVOKE_RESPONSE_BYTES = 16 * 1024;
const LEVELS: Record<string, number> = { read: 1, write: 2, admin: 3 };
/** GitHub adds metadata:read to every token with repository access; it is implied, not a widening. */
const IMPLIED: Record<string, string> = { metadata: 'read' };

export function createGithubMinter(deps: CloudMintDeps): Minter<GrantOf<'github'>> {
  return {
    async mint(grant, ctx): Promise<MintResult> {
      // The installation id goes into the URL path, so digits only; an App is named by id or client id.
      if (!/^\d{1,20}$/.test(grant.installation_id)) return fail('github.installation_id_invalid');
      if (!/^[A-Za-z0-9.]{1,64}$/.test(grant.app_id)) return fail('github.app_id_invalid');
      const apiUrl = trimSlashes(grant.api_url);

      const keyName = grant.private_key_secret ?? `github-app-${grant.app_id}`;
      let stored: Awaited<ReturnType<CloudMintDeps['secrets']['get']>>;
      try {
        stored = await deps.secrets.get(keyName);
      } catch {
        return { ok: false, code: 'ERR_UNAVAILABLE', detail: `github.app_key_unavailable:${keyName}` };
      }
      if (!stored) return fail(`github.app_key_missing:${keyName}`);
      const key = await importRsaSigningKey(stored.value);
      if (!key) return fail(`github.app_key_invalid:${keyName}`);

      // GitHub refuses an exp more than 10 minutes ahead; iat is backdated a minute for clock drift.
      const appJwt = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
        .setIssuer(grant.app_id)
        .setIssuedAt(ctx.now - 60)
        .setExpirationTime(ctx.now + 540)
        .sign(key);

      const res = await fetchLimited(
        deps.fetch,
        `${apiUrl}/app/installations/${grant.installation_id}/access_tokens`,
        {
          method: 'POST',
          headers: { ...githubHeaders(`Bearer ${appJwt}`), 'content-type': 'application/json' },
          body: JSON.stringify({ repositories: grant.repositories, permissions: grant.permissions }),
        },
        { timeoutMs: deps.timeoutMs, maxBytes: maxResponseBytes(grant.repositories.length) },
      );
      if (!res.ok) return transportFailure('github.access_tokens', res);
      if (res.status !== 201) return githubError('github.access_tokens', res.status, res.body);

      const json = parseJsonObject(res.body);
      const token = typeof json?.token === 'string' && /^[\x21-\x7e]{1,1024}$/.test(json.token) ? json.token : undefined;
      if (!json || !token) return fail('github.access_tokens_malformed');
      // From here on a token exists: any refusal revokes it, so nothing is left alive that nobody holds.
      const refuse = async (detail: `github.${string}`): Promise<MintFailure> => {
        const revoked = await revokeToken(deps, apiUrl, token);
        return fail(revoked.ok ? detail : `${detail};revoke_failed:${revoked.detail}`);
      };

      const parsed = parseTokenResponse(json);
      if (!parsed) return refuse('github.access_tokens_malformed');
      if (parsed.expiresAt <= ctx.now) return refuse('github.access_tokens_expired');
      const widened = widening(grant, parsed);
      if (widened) return refuse(`github.grant_widened:${widened}`);

      return {
        ok: true,
        credential: {
          type: 'github',
          token,
          expires_at: isoSeconds(boundedExpiry(parsed.expiresAt, ctx)),
          repositories: parsed.repositories,
          permissions: parsed.permissions,
        },
        summary: {
          type: 'github',
          target: `${grant.app_id}/${grant.installation_id}:${grant.repositories.join(',')}`,
          expires_at: isoSeconds(parsed.expiresAt),
        },
        revocation: { api_url: apiUrl, token },
      };
    },

    async revoke(revocation): Promise<RevokeResult> {
      const { api_url: apiUrl, token } = revocation;
      if (typeof apiUrl !== 'string' || !isAllowedUrl(apiUrl) || typeof token !== 'string' || token === '') {
        return { ok: false, detail: 'github.revocation_invalid' };
      }
      return revokeToken(deps, trimSlashes(apiUrl), token);
    },
  };
}

interface TokenResponse {
  expiresAt: number;
  permissions: Record<string, string>;
  repositories: string[];
  selection: string;
}

/** GitHub's installation-token shape: expires_at, permissions, repository_selection, repositories[].name. */
function parseTokenResponse(json: Record<string, unknown>): TokenResponse | undefined {
  const { expires_at, permissions, repository_selection, repositories } = json;
  if (typeof expires_at !== 'string') return undefined;
  const expiresAt = Math.floor(Date.parse(expires_at) / 1000);
  if (!Number.isFinite(expiresAt)) return undefined;
  if (typeof permissions !== 'object' || permissions === null || Array.isArray(permissions)) return undefined;
  const entries = Object.entries(permissions);
  if (entries.some(([, level]) => typeof level !== 'string')) return undefined;
  // fromEntries defines own properties, so a "__proto__" key stays plain data (and is refused below).
  const granted = Object.fromEntries(entries) as Record<string, string>;
  if (typeof repository_selection !== 'string') return undefined;
  if (!Array.isArray(repositories)) return undefined;
  const names: string[] = [];
  for (const repo of repositories) {
    const name = typeof repo === 'object' && repo !== null ? (repo as Record<string, unknown>).name : undefined;
    if (typeof name !== 'string' || name === '') return undefined;
    names.push(name);
  }
  return { expiresAt, permissions: granted, repositories: names, selection: repository_selection };
}

/** What GitHub granted beyond the request, if anything (names only, for the audit). */
function widening(grant: GrantOf<'github'>, got: TokenResponse): string | undefined {
  if (got.selection !== 'selected') return `repository_selection=${safeText(got.selection, 20)}`;
  // GitHub compares repository names case-insensitively and answers with their canonical case.
  const asked = new Set(grant.repositories.map((r) => r.toLowerCase()));
  const extraRepos = got.repositories.filter((r) => !asked.has(r.toLowerCase()));
  if (extraRepos.length > 0) return `repositories:${safeText(extraRepos.join(','), 80)}`;
  const extraPerms = Object.entries(got.permissions)
    .filter(([name, level]) => {
      const want = own(grant.permissions, name) ?? own(IMPLIED, name);
      const wanted = want === undefined ? undefined : own(LEVELS, want);
      const got = own(LEVELS, level);
      return wanted === undefined || got === undefined || got > wanted;
    })
    .map(([name, level]) => `${name}=${level}`);
  if (extraPerms.length > 0) return `permissions:${safeText(extraPerms.join(','), 80)}`;
  return undefined;
}

/**
 * DELETE /installation/token with the token itself. 204 is success; 401 means GitHub no longer accepts the
 * token (already revoked, or expired), which is the state a revocation wants, so it counts as success too.
 */
async function revokeToken(deps: CloudMintDeps, apiUrl: string, token: string): Promise<RevokeResult> {
  const res = await fetchLimited(
    deps.fetch,
    `${apiUrl}/installation/token`,
    { method: 'DELETE', headers: githubHeaders(`Bearer ${token}`) },
    { timeoutMs: deps.timeoutMs, maxBytes: MAX_REVOKE_RESPONSE_BYTES },
  );
  if (!res.ok) return { ok: false, detail: `github.revoke_${res.reason}:${res.detail}` };
  if (res.status === 204 || res.status === 401) return { ok: true };
  const { detail, upstream_code } = githubError('github.revoke', res.status, res.body);
  return upstream_code === undefined ? { ok: false, detail } : { ok: false, detail, upstream_code };
}

function githubHeaders(authorization: string): Record<string, string> {
  return {
    accept: 'application/vnd.github+json',
    authorization,
    'user-agent': `secret-broker/${VERSION}`,
    'x-github-api-version': API_VERSION,
  };
}

/**
 * GitHub errors carry no code, only the status and a message ("Resource not accessible by integration",
 * "API rate limit exceeded ..."): the status is the upstream code, the message goes into the detail.
 */
function githubError(what: `github.${string}`, status: number, body: string): MintFailure {
  const message = safeText(parseJsonObject(body)?.message);
  return {
    ok: false,
    code: 'ERR_UPSTREAM',
    detail: `${what}_http_${status}${message ? `:${message}` : ''}`,
    upstream_code: String(status),
  };
}

function own<V>(record: Record<string, V>, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function fail(detail: `github.${string}`): MintFailure {
  return { ok: false, code: 'ERR_UPSTREAM', detail };
}
