// The broker's key for sealed secret values (seal.ts): an ECDH P-256 pair made on first use and kept in the
// secret store under a reserved name, so it is sealed under the KEK like every value, shared by replicas
// (they read the same store) and rewrapped by `kek rotate`. No grant ever hands it out (mint/secret.ts).
import { sha256Hex } from '../util/encoding.ts';
import type { SecretVault } from '../store/secrets.ts';
import { SEAL_ALG, type SealPublicKey } from './seal.ts';

export const SEAL_KEY_SECRET = 'broker.admin-seal-key';
const CURVE = { name: 'ECDH', namedCurve: 'P-256' } as const;

export interface SealKey {
  published: SealPublicKey;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export class SealKeyring {
  readonly #vault: SecretVault;
  readonly #now: () => number;
  #loading: Promise<SealKey> | undefined;

  constructor(vault: SecretVault, now: () => number) {
    this.#vault = vault;
    this.#now = now;
  }

  /** The current key; `refresh` re-reads the store (another replica may have made the key first). */
  current(refresh = false): Promise<SealKey> {
    if (refresh || !this.#loading) {
      this.#loading = this.#load();
      // A failed load (store down) is not remembered.
      this.#loading.catch(() => (this.#loading = undefined));
    }
    return this.#loading;
  }

  async #load(): Promise<SealKey> {
    let stored = await this.#vault.get(SEAL_KEY_SECRET);
    if (!stored) {
      const pair = (await crypto.subtle.generateKey(CURVE, true, ['deriveBits'])) as CryptoKeyPair;
      const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
      await this.#vault.put(SEAL_KEY_SECRET, JSON.stringify(jwk), Math.floor(this.#now() / 1000));
      // Read back: when two replicas race, both settle on the newest version.
      stored = await this.#vault.get(SEAL_KEY_SECRET);
      if (!stored) throw new Error('the seal key was not stored');
    }
    const { x, y, d } = JSON.parse(stored.value) as JsonWebKey;
    if (typeof x !== 'string' || typeof y !== 'string' || typeof d !== 'string') throw new Error('the stored seal key is not an EC key');
    const kty = 'EC';
    const crv = 'P-256';
    const privateKey = await crypto.subtle.importKey('jwk', { kty, crv, x, y, d }, CURVE, false, ['deriveBits']);
    const publicKey = await crypto.subtle.importKey('jwk', { kty, crv, x, y }, CURVE, true, []);
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', publicKey));
    const kid = (await sha256Hex(raw)).slice(0, 16);
    return { published: { kid, alg: SEAL_ALG, jwk: { kty, crv, x, y } }, privateKey, publicKey };
  }
}
