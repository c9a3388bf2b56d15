// Signed checkpoints of the audit chain. The hash chain alone shows edits, removals and reordering, but
// anyone who can write the store can cut its tail off, or rewrite it from some record on and recompute every
// hash. A checkpoint is the broker vouching, with its signing key, that record `seq` has `hash`:
//   - a chain (store or export) that ends before a checkpoint's seq was truncated;
//   - a chain whose hash at a checkpoint's seq differs was rewritten at or before that seq;
//   - the `anchor` names where the chain may start: genesis, or the prune point of the last retention run,
//     so that removing old records without the key (which prunes sign) is caught as well.
// Checkpoints live in their own table, not as records in the chain: a truncation of the chain would take
// in-chain checkpoints along with it, pruning must keep the one at the prune point, and the chain stays one
// record per request.
//
// This module is the signed format of one checkpoint; checkpointer.ts signs them as the chain grows, and
// verify-audit.ts checks a chain against them.
import { base64url, compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import type { AuditCheckpoint } from '../store/ports.ts';
import { GENESIS_HASH } from './chain.ts';

export const CHECKPOINT_TYP = 'audit-checkpoint+jwt';

export interface ChainLink {
  seq: number;
  hash: string;
}

export interface CheckpointPayload {
  iss: string;
  seq: number;
  hash: string;
  time: string;
  /** Where the chain may start: genesis (seq 0) or the last prune point. */
  anchor: ChainLink;
}

/** What signs and verifies checkpoints: the broker's issuer (issuer/issuer.ts). */
export interface CheckpointSigner {
  publicUrl: string;
  signJws(payload: Record<string, unknown>, typ: string): Promise<{ jws: string; kid: string }>;
  verificationKeys(): Promise<JWK[]>;
}

export const GENESIS: ChainLink = { seq: 0, hash: GENESIS_HASH };

export async function signCheckpoint(
  signer: CheckpointSigner,
  head: ChainLink,
  anchor: ChainLink,
  nowMs: number,
): Promise<AuditCheckpoint> {
  const time = new Date(nowMs).toISOString();
  const payload: CheckpointPayload = {
    iss: signer.publicUrl,
    seq: head.seq,
    hash: head.hash,
    time,
    anchor: { seq: anchor.seq, hash: anchor.hash },
  };
  const { jws, kid } = await signer.signJws({ ...payload }, CHECKPOINT_TYP);
  return { seq: head.seq, hash: head.hash, time, kid, jws };
}

export type CheckpointCheck =
  | { ok: true; kid: string; payload: CheckpointPayload }
  | { ok: false; reason: 'malformed' | 'unknown_key' | 'bad_signature'; kid: string | null; claimedSeq: number | null };

/** A chain hash (SHA-256, lowercase hex). */
export const HASH = /^[0-9a-f]{64}$/;
const isLink = (v: unknown): v is ChainLink =>
  !!v &&
  typeof v === 'object' &&
  Number.isSafeInteger((v as ChainLink).seq) &&
  (v as ChainLink).seq >= 0 &&
  typeof (v as ChainLink).hash === 'string' &&
  HASH.test((v as ChainLink).hash);

function isPayload(v: unknown): v is CheckpointPayload {
  if (!isLink(v) || v.seq < 1) return false;
  const p = v as unknown as CheckpointPayload;
  return (
    typeof p.iss === 'string' &&
    typeof p.time === 'string' &&
    !Number.isNaN(Date.parse(p.time)) &&
    isLink(p.anchor) &&
    p.anchor.seq <= p.seq
  );
}

/** Verifies one checkpoint JWS against `keys` (looked up by kid only; RS256 and the checkpoint typ only). */
export async function verifyCheckpoint(
  jws: string,
  keys: readonly JWK[],
  imported = new Map<string, Promise<CryptoKey | Uint8Array>>(),
): Promise<CheckpointCheck> {
  let kid: string | null = null;
  let claimedSeq: number | null = null;
  try {
    const header = decodeProtectedHeader(jws);
    kid = typeof header.kid === 'string' ? header.kid : null;
    const claimed = JSON.parse(new TextDecoder().decode(base64url.decode(jws.split('.')[1] ?? ''))) as { seq?: unknown };
    if (Number.isSafeInteger(claimed?.seq)) claimedSeq = claimed.seq as number;
    if (header.alg !== 'RS256' || header.typ !== CHECKPOINT_TYP || kid === null) return { ok: false, reason: 'malformed', kid, claimedSeq };
  } catch {
    return { ok: false, reason: 'malformed', kid, claimedSeq };
  }
  const jwk = keys.find((k) => k.kid === kid);
  if (!jwk) return { ok: false, reason: 'unknown_key', kid, claimedSeq };
  let key = imported.get(kid);
  if (!key) {
    key = importJWK({ ...jwk, alg: 'RS256' }, 'RS256');
    imported.set(kid, key);
  }
  let payload: unknown;
  try {
    const verified = await compactVerify(jws, await key, { algorithms: ['RS256'] });
    payload = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch {
    return { ok: false, reason: 'bad_signature', kid, claimedSeq };
  }
  if (!isPayload(payload)) return { ok: false, reason: 'malformed', kid, claimedSeq };
  return { ok: true, kid, payload };
}
