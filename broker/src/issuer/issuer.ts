// The broker as an OIDC issuer: clouds trust it (IAM OIDC provider, Entra federated credential, GCP
// workload identity pool), so the broker holds no long-lived cloud keys. Tokens live at most 5 minutes, have
// sub = role:<role>, one audience per grant, and carry the caller's verified identity as claims.
import { CompactSign, exportJWK, generateKeyPair, importJWK, SignJWT, calculateJwkThumbprint, type JWK } from 'jose';
import type { Kek } from '../store/envelope.ts';
import { openSecret, rewrapRow, sealSecret } from '../store/envelope.ts';
import type { KeyStore, SecretRow, SigningKeyRow } from '../store/ports.ts';
import { canonicalJson } from '../util/encoding.ts';
import { BROKER_TOKEN_MAX_TTL, droppableKeysAt, publishedKeysAt, signingKeyAt } from './keys.ts';

export interface BrokerIssuerOptions {
  store: KeyStore;
  keks: { current: Kek; previous?: Kek[] };
  /** BROKER_PUBLIC_URL: the `iss` of broker tokens; discovery and JWKS are served under it. */
  publicUrl: string;
  /** Epoch milliseconds. */
  now: () => number;
  /** How long the key list is cached in memory (another process may rotate). */
  cacheMs?: number;
  /** Where refused key rows are reported (once per row content). */
  log?: (line: Record<string, unknown>) => void;
}

/** A stored key row that is neither published nor used: its seal does not open, or it disagrees with it. */
export interface KeyProblem {
  kid: string;
  reason: 'seal_does_not_open' | 'kid_mismatch' | 'public_jwk_mismatch' | 'not_rs256';
  detail: string;
}

export interface BrokerTokenRequest {
  subject: string;
  audience: string;
  /** Seconds; capped at 5 minutes. */
  ttl: number;
  claims: Record<string, unknown>;
}

export interface SignedBrokerToken {
  token: string;
  jti: string;
  /** Epoch seconds. */
  expiresAt: number;
  kid: string;
}

/**
 * The seal's associated data (its envelope name and version). Version 2 binds everything about the key that
 * the database holds in the clear and the broker acts on (kid, alg, creation and activation), so that
 * nobody without the KEK can plant a key, move a seal to another kid, or change when a key signs. Version 1
 * (keys sealed before) binds the kid only; such a row is re-sealed as version 2 when it first opens.
 */
type SealFormat = 1 | 2;

function sealNameOf(row: Pick<SigningKeyRow, 'kid' | 'alg' | 'created_at' | 'activates_at'>, format: SealFormat): string {
  if (format === 1) return `broker-signing-key/${row.kid}`;
  return `broker-signing-key/${canonicalJson({ kid: row.kid, alg: row.alg, created_at: row.created_at, activates_at: row.activates_at })}`;
}

/** A key row's sealed private half, in the form the envelope functions take. */
function sealedRowOf(row: SigningKeyRow, format: SealFormat): SecretRow {
  return {
    name: sealNameOf(row, format),
    version: format,
    kek_id: row.kek_id,
    wrapped_key: row.wrapped_key,
    iv: row.iv,
    ciphertext: row.ciphertext,
    created_at: row.created_at,
  };
}

/** A row whose private half opened under the KEK, with the public half derived from it (never the column). */
interface TrustedKey {
  row: SigningKeyRow;
  publicJwk: JWK;
  privateKey: CryptoKey;
  format: SealFormat;
}

type KeyCheck = { ok: true; key: TrustedKey } | { ok: false; problem: KeyProblem };

/** Everything about a row, as the cache key of its check: any edit to the row checks it again. */
const rowFingerprint = (r: SigningKeyRow) =>
  JSON.stringify([r.kid, r.alg, r.created_at, r.activates_at, r.public_jwk, r.kek_id, r.wrapped_key, r.iv, r.ciphertext]);

/** The public members of an RSA JWK, as published. */
function publicOf(jwk: JWK, kid: string): JWK {
  return { kty: 'RSA', n: jwk.n as string, e: jwk.e as string, kid, alg: 'RS256', use: 'sig' };
}

function parseJwk(text: string): JWK | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as JWK) : undefined;
  } catch {
    return undefined;
  }
}

export class BrokerIssuer {
  /** Settable once at start-up when the public URL is only known after listening (port 0, development). */
  publicUrl: string;
  private readonly opts: BrokerIssuerOptions;
  private cached?: { keys: TrustedKey[]; problems: KeyProblem[]; at: number };
  /** Checks by row content: a row is opened once, and again whenever anything in it changes. */
  private readonly checks = new Map<string, Promise<KeyCheck>>();

  constructor(opts: BrokerIssuerOptions) {
    this.opts = opts;
    this.publicUrl = opts.publicUrl.replace(/\/+$/, '');
  }

  private nowS(): number {
    return Math.floor(this.opts.now() / 1000);
  }

  private get keks(): Kek[] {
    return [this.opts.keks.current, ...(this.opts.keks.previous ?? [])];
  }

  /**
   * The trusted loader: the only way any key reaches the JWKS, a signature or a checkpoint verifier. The
   * database is not trusted (anyone who can write it could plant a public key); only a row whose private
   * half opens under the KEK, with the kid and times it was sealed with, counts, and its public half is
   * the one derived from that private key.
   */
  private async load(): Promise<{ keys: TrustedKey[]; problems: KeyProblem[] }> {
    const now = this.opts.now();
    if (this.cached && now - this.cached.at < (this.opts.cacheMs ?? 60_000)) return this.cached;
    const rows = await this.opts.store.list();
    const seen = new Set<string>();
    const keys: TrustedKey[] = [];
    const problems: KeyProblem[] = [];
    for (const row of rows) {
      const fp = rowFingerprint(row);
      seen.add(fp);
      let check = this.checks.get(fp);
      if (!check) {
        check = this.check(row);
        this.checks.set(fp, check);
        void check.then((c) => {
          if (!c.ok)
            this.opts.log?.({
              level: 'error',
              event: 'issuer.key_refused',
              kid: c.problem.kid,
              reason: c.problem.reason,
              detail: c.problem.detail,
            });
        });
      }
      const c = await check;
      if (c.ok) keys.push(c.key);
      else problems.push(c.problem);
    }
    for (const fp of this.checks.keys()) if (!seen.has(fp)) this.checks.delete(fp);
    await this.upgradeSeals(keys);
    this.cached = { keys, problems, at: now };
    return this.cached;
  }

  private async check(row: SigningKeyRow): Promise<KeyCheck> {
    const kid = String(row.kid);
    const refuse = (reason: KeyProblem['reason'], detail: string): KeyCheck => ({ ok: false, problem: { kid, reason, detail } });
    if (row.alg !== 'RS256') return refuse('not_rs256', `alg ${String(row.alg)}`);
    let opened: { bytes: Uint8Array; format: SealFormat } | undefined;
    let failure: unknown;
    for (const format of [2, 1] as const) {
      try {
        opened = { bytes: await openSecret(this.keks, sealedRowOf(row, format)), format };
        break;
      } catch (err) {
        failure ??= err;
      }
    }
    if (!opened) return refuse('seal_does_not_open', String((failure as Error)?.message ?? failure));
    const priv = parseJwk(new TextDecoder().decode(opened.bytes));
    opened.bytes.fill(0);
    if (priv?.kty !== 'RSA' || typeof priv.n !== 'string' || typeof priv.e !== 'string' || typeof priv.d !== 'string') {
      return refuse('seal_does_not_open', 'the sealed private key is not an RSA JWK');
    }
    let privateKey: CryptoKey;
    try {
      privateKey = (await importJWK(priv, 'RS256')) as CryptoKey;
    } catch (err) {
      return refuse('seal_does_not_open', `the sealed private key does not import: ${String((err as Error)?.message ?? err)}`);
    }
    const publicJwk = publicOf(priv, kid);
    // The kid is the public key's thumbprint, so it names this key and no other.
    if ((await calculateJwkThumbprint({ kty: 'RSA', n: priv.n, e: priv.e })) !== kid)
      return refuse('kid_mismatch', 'kid is not the thumbprint of the sealed key');
    const column = parseJwk(row.public_jwk);
    if (column?.kty !== 'RSA' || column.n !== priv.n || column.e !== priv.e || (column.kid !== undefined && column.kid !== kid)) {
      return refuse('public_jwk_mismatch', 'public_jwk is not the public half of the sealed key');
    }
    return { ok: true, key: { row, publicJwk, privateKey, format: opened.format } };
  }

  /** Re-seals rows sealed before kid, alg and times were bound into the seal. Best effort: retried on the next load. */
  private async upgradeSeals(keys: TrustedKey[]): Promise<void> {
    for (const key of keys) {
      if (key.format === 2) continue;
      try {
        const plain = await openSecret(this.keks, sealedRowOf(key.row, 1));
        const sealed = await sealSecret(this.opts.keks.current, sealNameOf(key.row, 2), 2, plain, key.row.created_at);
        plain.fill(0);
        const fields = { kek_id: sealed.kek_id, wrapped_key: sealed.wrapped_key, iv: sealed.iv, ciphertext: sealed.ciphertext };
        if (
          await this.opts.store.reseal(
            key.row.kid,
            { kek_id: key.row.kek_id, wrapped_key: key.row.wrapped_key, iv: key.row.iv, ciphertext: key.row.ciphertext },
            fields,
          )
        ) {
          key.row = { ...key.row, ...fields };
          key.format = 2;
          this.opts.log?.({ level: 'info', event: 'issuer.key_resealed', kid: key.row.kid });
        }
      } catch (err) {
        this.opts.log?.({
          level: 'warn',
          event: 'issuer.key_reseal_failed',
          kid: key.row.kid,
          detail: String((err as Error)?.message ?? err),
        });
      }
    }
  }

  private async rows(): Promise<SigningKeyRow[]> {
    return (await this.load()).keys.map((k) => k.row);
  }

  /**
   * Key rows refused by the trusted loader (never published, never used to sign or verify). Not empty means
   * someone wrote the key table without the KEK, or the KEK is wrong: a readiness check reports it.
   */
  async keyHealth(): Promise<{ ok: boolean; keys: number; problems: KeyProblem[] }> {
    delete this.cached;
    const { keys, problems } = await this.load();
    return { ok: problems.length === 0, keys: keys.length, problems };
  }

  /**
   * Creates a key active at once when no usable key is active (a fresh store, or one whose current row was
   * refused). Safe to race: every process agrees on which key signs.
   */
  async ensureKey(): Promise<void> {
    const now = this.nowS();
    if (signingKeyAt(await this.rows(), now)) return;
    await this.createKey(now);
    delete this.cached;
  }

  /**
   * Adds the next key: published now, signing from `activateIn` seconds on. The previous key keeps being
   * published until its last token has expired; keys past that are dropped here. Refused rows count for
   * nothing (a planted far-future activation cannot push the next key out) and are left for the operator.
   */
  async rotate(activateIn: number): Promise<{ added: SigningKeyRow; dropped: string[] }> {
    const now = this.nowS();
    delete this.cached;
    // Strictly after every existing key, so that which key signs never depends on a tie.
    const latest = Math.max(0, ...(await this.rows()).map((r) => r.activates_at));
    const added = await this.createKey(Math.max(now + activateIn, latest + 1), now);
    delete this.cached;
    const dropped = droppableKeysAt(await this.rows(), now);
    for (const row of dropped) await this.opts.store.delete(row.kid);
    delete this.cached;
    return { added, dropped: dropped.map((r) => r.kid) };
  }

  /**
   * KEK rotation: rewraps every usable signing key's sealed private half under `newKek` (the data key and
   * the ciphertext stay as they are). Refused rows are left as they are. Returns how many keys were rewrapped.
   */
  async rewrapKeys(newKek: Kek): Promise<number> {
    delete this.cached;
    let count = 0;
    for (const key of (await this.load()).keys) {
      if (key.row.kek_id === newKek.id) continue;
      const sealed = await rewrapRow(this.keks, newKek, sealedRowOf(key.row, key.format));
      await this.opts.store.rewrap(key.row.kid, sealed.kek_id, sealed.wrapped_key);
      count++;
    }
    delete this.cached;
    return count;
  }

  /** The usable keys (see keyHealth for the refused ones). */
  async listKeys(): Promise<SigningKeyRow[]> {
    delete this.cached;
    return this.rows();
  }

  private async createKey(activatesAt: number, createdAt = activatesAt): Promise<SigningKeyRow> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
    const pub = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(pub);
    const priv = await exportJWK(privateKey);
    const bound = { kid, alg: 'RS256' as const, created_at: createdAt, activates_at: activatesAt };
    const sealed = await sealSecret(
      this.opts.keks.current,
      sealNameOf(bound, 2),
      2,
      new TextEncoder().encode(JSON.stringify(priv)),
      createdAt,
    );
    const row: SigningKeyRow = {
      ...bound,
      public_jwk: JSON.stringify(publicOf(pub, kid)),
      kek_id: sealed.kek_id,
      wrapped_key: sealed.wrapped_key,
      iv: sealed.iv,
      ciphertext: sealed.ciphertext,
    };
    await this.opts.store.insert(row);
    return row;
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    // A fresh deployment publishes a key before any cloud is pointed at it.
    await this.ensureKey();
    const { keys } = await this.load();
    const published = new Set(
      publishedKeysAt(
        keys.map((k) => k.row),
        this.nowS(),
      ).map((r) => r.kid),
    );
    return { keys: keys.filter((k) => published.has(k.row.kid)).map((k) => ({ ...k.publicJwk })) };
  }

  discovery(): Record<string, unknown> {
    return {
      issuer: this.publicUrl,
      jwks_uri: `${this.publicUrl}/.well-known/jwks.json`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      claims_supported: [
        'sub',
        'aud',
        'exp',
        'iat',
        'iss',
        'jti',
        'nbf',
        'role',
        'request_id',
        'caller_iss',
        'caller_sub',
        'repository',
        'repository_id',
        'ref',
        'environment',
        'run_id',
      ],
    };
  }

  private async currentKey(now: number): Promise<TrustedKey> {
    const find = async () => {
      const { keys } = await this.load();
      const row = signingKeyAt(
        keys.map((k) => k.row),
        now,
      );
      return row && keys.find((k) => k.row === row);
    };
    let key = await find();
    if (!key) {
      await this.ensureKey();
      key = await find();
      if (!key) throw new Error('no active signing key');
    }
    return key;
  }

  async sign(req: BrokerTokenRequest): Promise<SignedBrokerToken> {
    const now = this.nowS();
    const key = await this.currentKey(now);
    const ttl = Math.max(1, Math.min(req.ttl, BROKER_TOKEN_MAX_TTL));
    const jti = crypto.randomUUID();
    const token = await new SignJWT({ ...req.claims })
      .setProtectedHeader({ alg: 'RS256', kid: key.row.kid, typ: 'JWT' })
      .setIssuer(this.publicUrl)
      .setSubject(req.subject)
      .setAudience(req.audience)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ttl)
      .setJti(jti)
      .sign(key.privateKey);
    return { token, jti, expiresAt: now + ttl, kid: key.row.kid };
  }

  /**
   * Signs `payload` as a compact JWS with the current key (audit checkpoints). The explicit `typ` (RFC 8725
   * 3.11) and the missing aud/sub/exp keep such a statement from ever passing for a broker token.
   */
  async signJws(payload: Record<string, unknown>, typ: string): Promise<{ jws: string; kid: string }> {
    const key = await this.currentKey(this.nowS());
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'RS256', kid: key.row.kid, typ })
      .sign(key.privateKey);
    return { jws, kid: key.row.kid };
  }

  /**
   * The public half of every usable stored key, published or not any more: what old signed statements
   * (checkpoints) verify against. Only keys that opened under the KEK: a planted row vouches for nothing.
   */
  async verificationKeys(): Promise<JWK[]> {
    return (await this.load()).keys.map((k) => ({ ...k.publicJwk }));
  }
}
