// The broker as an OIDC issuer: clouds trust it (IAM OIDC provider, Entra federated credential, GCP
// workload identity pool), so the broker holds no long-lived cloud keys. Tokens live at most 5 minutes, have
// sub = role:<role>, one audience per grant, and carry the caller's verified identity as claims.
import { CompactSign, exportJWK, generateKeyPair, importJWK, SignJWT, calculateJwkThumbprint, type JWK } from 'jose';
import type { Kek } from '../store/envelope.ts';
import { openSecret, rewrapRow, sealSecret } from '../store/envelope.ts';
import type { KeyStore, SecretRow, SigningKeyRow } from '../store/ports.ts';
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

const sealName = (kid: string) => `broker-signing-key/${kid}`;

/** A key row's sealed private half, in the form the envelope functions take. */
function sealedRowOf(row: SigningKeyRow): SecretRow {
  return { name: sealName(row.kid), version: 1, kek_id: row.kek_id, wrapped_key: row.wrapped_key, iv: row.iv, ciphertext: row.ciphertext, created_at: row.created_at };
}

export class BrokerIssuer {
  /** Settable once at start-up when the public URL is only known after listening (port 0, development). */
  publicUrl: string;
  private readonly opts: BrokerIssuerOptions;
  private cached?: { rows: SigningKeyRow[]; at: number };
  private readonly privateKeys = new Map<string, Promise<CryptoKey>>();

  constructor(opts: BrokerIssuerOptions) {
    this.opts = opts;
    this.publicUrl = opts.publicUrl.replace(/\/+$/, '');
  }

  private nowS(): number {
    return Math.floor(this.opts.now() / 1000);
  }

  private async rows(): Promise<SigningKeyRow[]> {
    const now = this.opts.now();
    if (this.cached && now - this.cached.at < (this.opts.cacheMs ?? 60_000)) return this.cached.rows;
    const rows = await this.opts.store.list();
    this.cached = { rows, at: now };
    return rows;
  }

  /** Creates the first key (active at once) when there is none. Safe to race: the loser re-reads. */
  async ensureKey(): Promise<void> {
    if ((await this.rows()).length > 0) return;
    await this.createKey(this.nowS());
    delete this.cached;
  }

  /**
   * Adds the next key: published now, signing from `activateIn` seconds on. The previous key keeps being
   * published until its last token has expired; keys past that are dropped here.
   */
  async rotate(activateIn: number): Promise<{ added: SigningKeyRow; dropped: string[] }> {
    const now = this.nowS();
    // Strictly after every existing key, so that which key signs never depends on a tie.
    const latest = Math.max(0, ...(await this.opts.store.list()).map((r) => r.activates_at));
    const added = await this.createKey(Math.max(now + activateIn, latest + 1), now);
    delete this.cached;
    const dropped = droppableKeysAt(await this.opts.store.list(), now);
    for (const row of dropped) await this.opts.store.delete(row.kid);
    return { added, dropped: dropped.map((r) => r.kid) };
  }

  /**
   * KEK rotation: rewraps every signing key's sealed private half under `newKek` (the data key and the
   * ciphertext stay as they are). Returns how many keys were rewrapped.
   */
  async rewrapKeys(newKek: Kek): Promise<number> {
    const from = [this.opts.keks.current, ...(this.opts.keks.previous ?? [])];
    let count = 0;
    for (const row of await this.opts.store.list()) {
      if (row.kek_id === newKek.id) continue;
      const sealed = await rewrapRow(from, newKek, sealedRowOf(row));
      await this.opts.store.rewrap(row.kid, sealed.kek_id, sealed.wrapped_key);
      count++;
    }
    delete this.cached;
    return count;
  }

  async listKeys(): Promise<SigningKeyRow[]> {
    delete this.cached;
    return this.rows();
  }

  private async createKey(activatesAt: number, createdAt = activatesAt): Promise<SigningKeyRow> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
    const pub = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(pub);
    const priv = await exportJWK(privateKey);
    const sealed = await sealSecret(this.opts.keks.current, sealName(kid), 1, new TextEncoder().encode(JSON.stringify(priv)), createdAt);
    const row: SigningKeyRow = {
      kid,
      alg: 'RS256',
      created_at: createdAt,
      activates_at: activatesAt,
      public_jwk: JSON.stringify({ ...pub, kid, alg: 'RS256', use: 'sig' }),
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
    return { keys: publishedKeysAt(await this.rows(), this.nowS()).map((r) => JSON.parse(r.public_jwk) as JWK) };
  }

  discovery(): Record<string, unknown> {
    return {
      issuer: this.publicUrl,
      jwks_uri: `${this.publicUrl}/.well-known/jwks.json`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'role', 'request_id', 'caller_iss', 'caller_sub', 'repository', 'repository_id', 'ref', 'environment', 'run_id'],
    };
  }

  private async currentRow(now: number): Promise<SigningKeyRow> {
    let row = signingKeyAt(await this.rows(), now);
    if (!row) {
      await this.ensureKey();
      row = signingKeyAt(await this.rows(), now);
      if (!row) throw new Error('no active signing key');
    }
    return row;
  }

  async sign(req: BrokerTokenRequest): Promise<SignedBrokerToken> {
    const now = this.nowS();
    const row = await this.currentRow(now);
    const ttl = Math.max(1, Math.min(req.ttl, BROKER_TOKEN_MAX_TTL));
    const jti = crypto.randomUUID();
    const key = await this.privateKey(row);
    const token = await new SignJWT({ ...req.claims })
      .setProtectedHeader({ alg: 'RS256', kid: row.kid, typ: 'JWT' })
      .setIssuer(this.publicUrl)
      .setSubject(req.subject)
      .setAudience(req.audience)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ttl)
      .setJti(jti)
      .sign(key);
    return { token, jti, expiresAt: now + ttl, kid: row.kid };
  }

  /**
   * Signs `payload` as a compact JWS with the current key (audit checkpoints). The explicit `typ` (RFC 8725
   * 3.11) and the missing aud/sub/exp keep such a statement from ever passing for a broker token.
   */
  async signJws(payload: Record<string, unknown>, typ: string): Promise<{ jws: string; kid: string }> {
    const row = await this.currentRow(this.nowS());
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'RS256', kid: row.kid, typ })
      .sign(await this.privateKey(row));
    return { jws, kid: row.kid };
  }

  /** The public half of every stored key, published or not any more: what old signed statements verify against. */
  async verificationKeys(): Promise<JWK[]> {
    return (await this.rows()).map((r) => JSON.parse(r.public_jwk) as JWK);
  }

  private privateKey(row: SigningKeyRow): Promise<CryptoKey> {
    let key = this.privateKeys.get(row.kid);
    if (!key) {
      const keks = [this.opts.keks.current, ...(this.opts.keks.previous ?? [])];
      key = openSecret(keks, sealedRowOf(row))
        .then((bytes) => importJWK(JSON.parse(new TextDecoder().decode(bytes)) as JWK, 'RS256') as Promise<CryptoKey>);
      key.catch(() => this.privateKeys.delete(row.kid));
      this.privateKeys.set(row.kid, key);
    }
    return key;
  }
}
