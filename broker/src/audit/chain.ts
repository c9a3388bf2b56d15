// The hash chain. Entry n covers (n, hash of entry n-1, canonical JSON of the record), so editing,
// removing, reordering or inserting any entry breaks every later link, and `verifyChain` names the first.
import type { AuditEntry, AuditStore } from '../store/ports.ts';
import { type Sha256Hex, webSha256Hex } from '../util/digest.ts';
import { canonicalJson } from '../util/encoding.ts';

export const GENESIS_HASH = '0'.repeat(64);

/** What entry n's hash covers; `hash` is the injected SHA-256 (util/digest.ts), the same bytes either way. */
function entryHash(seq: number, prevHash: string, recordJson: string, hash: Sha256Hex = webSha256Hex): string | Promise<string> {
  return hash(`${seq}\n${prevHash}\n${recordJson}`);
}

export async function buildEntry(seq: number, prevHash: string, record: object, hash: Sha256Hex = webSha256Hex): Promise<AuditEntry> {
  const json = canonicalJson(record);
  return { seq, prev_hash: prevHash, hash: await entryHash(seq, prevHash, json, hash), record: json };
}

/** An entry as exported (JSON lines): the record as an object rather than a string. */
export interface ExportedEntry {
  seq: number;
  prev_hash: string;
  hash: string;
  record: Record<string, unknown>;
}

export function toExported(entry: AuditEntry): ExportedEntry {
  return { seq: entry.seq, prev_hash: entry.prev_hash, hash: entry.hash, record: JSON.parse(entry.record) };
}

export type ChainBreak = { index: number; seq: number | null; reason: string };
export type ChainCheck = { ok: true; count: number; head: { seq: number; hash: string } | null } | ({ ok: false } & ChainBreak);

/**
 * Verifies entries in order. `start` is the expected link before the first entry: genesis for a whole log,
 * or a trusted (seq, hash) when checking a slice.
 */
export async function verifyChain(
  entries: Iterable<AuditEntry | ExportedEntry> | AsyncIterable<AuditEntry | ExportedEntry>,
  start: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH },
): Promise<ChainCheck> {
  let prev = start;
  let index = 0;
  for await (const entry of entries) {
    const seq = typeof entry.seq === 'number' && Number.isSafeInteger(entry.seq) ? entry.seq : null;
    const broken = (reason: string): ChainCheck => ({ ok: false, index, seq, reason });
    if (seq === null) return broken('missing or invalid sequence number');
    if (seq <= prev.seq) return broken(`sequence ${seq} out of order (after ${prev.seq})`);
    if (seq !== prev.seq + 1) return broken(`sequence gap: expected ${prev.seq + 1}, found ${seq} (records removed)`);
    if (entry.prev_hash !== prev.hash) return broken(`previous-hash link broken (record ${prev.seq} changed, removed or reordered)`);
    let json: string;
    try {
      json = typeof entry.record === 'string' ? canonicalJson(JSON.parse(entry.record)) : canonicalJson(entry.record);
    } catch {
      return broken('record is not valid JSON');
    }
    if ((await entryHash(seq, entry.prev_hash, json)) !== entry.hash) return broken('record content does not match its hash (edited)');
    prev = { seq, hash: entry.hash };
    index++;
  }
  return { ok: true, count: index, head: index > 0 || start.seq > 0 ? prev : null };
}

/** Reads a whole store in pages, oldest first. */
export async function* readAll(store: AuditStore, pageSize = 1000): AsyncGenerator<AuditEntry> {
  let after = 0;
  for (;;) {
    const page = await store.list({ afterSeq: after, limit: pageSize });
    if (page.length === 0) return;
    yield* page;
    after = page[page.length - 1]!.seq;
  }
}
