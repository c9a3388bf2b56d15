// In-memory implementations of the storage ports, with switches to make them fail (fail-closed tests).
import type {
  AuditCheckpoint,
  AuditEntry,
  AuditHead,
  AuditQuery,
  AuditStore,
  CheckpointStore,
  KeyStore,
  LeaseRow,
  LeaseStore,
  ReplayGuard,
  RevocationEntry,
  RevocationStore,
  SealedFields,
  SecretHead,
  SecretMeta,
  SecretRow,
  SecretStore,
  SigningKeyRow,
} from '../../broker/src/store/ports.ts';

export class MemoryReplayGuard implements ReplayGuard {
  /** key -> expiry; with the token hash and use count for reuse claims (null hash: a single-use claim). */
  readonly used = new Map<string, number>();
  readonly reuse = new Map<string, { tokenSha256: string | null; uses: number }>();
  broken = false;
  async claim(key: string, expiresAt: number, now: number): Promise<boolean> {
    if (this.broken) throw new Error('replay store down');
    const existing = this.used.get(key);
    if (existing !== undefined && existing >= now) return false;
    this.used.set(key, expiresAt);
    this.reuse.set(key, { tokenSha256: null, uses: 1 });
    return true;
  }
  async claimReuse(key: string, tokenSha256: string, expiresAt: number, now: number): Promise<number> {
    if (this.broken) throw new Error('replay store down');
    const existing = this.used.get(key);
    const held = this.reuse.get(key);
    if (existing !== undefined && existing >= now) {
      if (held?.tokenSha256 !== tokenSha256) return 0;
      held.uses += 1;
      return held.uses;
    }
    this.used.set(key, expiresAt);
    this.reuse.set(key, { tokenSha256, uses: 1 });
    return 1;
  }
}

export class MemoryAuditStore implements AuditStore {
  entries: AuditEntry[] = [];
  broken = false;
  async head(): Promise<AuditHead | null> {
    if (this.broken) throw new Error('audit store down');
    const last = this.entries.at(-1);
    return last ? { seq: last.seq, hash: last.hash } : null;
  }
  async insert(entry: AuditEntry): Promise<boolean> {
    if (this.broken) throw new Error('audit store down');
    if (this.entries.some((e) => e.seq === entry.seq)) return false;
    this.entries.push(entry);
    return true;
  }
  async list(q: AuditQuery): Promise<AuditEntry[]> {
    if (q.limit !== undefined && !(Number.isSafeInteger(q.limit) && q.limit >= 0))
      throw new RangeError('audit list: limit must be a non-negative integer');
    let out = this.entries.filter(
      (e) => (q.afterSeq === undefined || e.seq > q.afterSeq) && (q.beforeSeq === undefined || e.seq < q.beforeSeq),
    );
    if (q.descending) out = [...out].reverse();
    return q.limit === undefined ? out : out.slice(0, q.limit);
  }
  records(): Record<string, any>[] {
    return this.entries.map((e) => JSON.parse(e.record));
  }
}

export class MemorySecretStore implements SecretStore {
  rows: SecretRow[] = [];
  readonly headsByName = new Map<string, SecretHead>();
  async get(name: string, version?: number): Promise<SecretRow | null> {
    const rows = this.rows.filter((r) => r.name === name && (version === undefined || r.version === version));
    return rows.sort((a, b) => b.version - a.version)[0] ?? null;
  }
  async read(name: string, version?: number): Promise<{ row: SecretRow | null; head: SecretHead | null }> {
    return { row: await this.get(name, version), head: this.headsByName.get(name) ?? null };
  }
  async insert(row: SecretRow, head?: SecretHead): Promise<boolean> {
    if (this.rows.some((r) => r.name === row.name && r.version === row.version)) return false;
    this.rows.push({ ...row });
    if (head && (this.headsByName.get(head.name)?.version ?? 0) < head.version) this.headsByName.set(head.name, { ...head });
    return true;
  }
  async heads(): Promise<SecretHead[]> {
    return [...this.headsByName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }
  async putHead(head: SecretHead): Promise<void> {
    if ((this.headsByName.get(head.name)?.version ?? 0) <= head.version) this.headsByName.set(head.name, { ...head });
  }
  async rewrap(name: string, version: number, kekId: string, wrappedKey: string): Promise<void> {
    const row = this.rows.find((r) => r.name === name && r.version === version);
    if (!row) throw new Error(`secret ${name} version ${version} does not exist`);
    Object.assign(row, { kek_id: kekId, wrapped_key: wrappedKey });
  }
  async all(): Promise<SecretRow[]> {
    return [...this.rows].sort(
      (a, b) => a.created_at - b.created_at || (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version - b.version),
    );
  }
  async list(): Promise<SecretMeta[]> {
    const names = [...new Set(this.rows.map((r) => r.name))].sort();
    return names.map((name) => {
      const rows = this.rows.filter((r) => r.name === name);
      const top = rows.reduce((a, b) => (a.version > b.version ? a : b));
      return {
        name,
        version: top.version,
        versions: rows.length,
        created_at: top.created_at,
        ...(top.max_age === undefined ? {} : { max_age: top.max_age }),
      };
    });
  }
}

export class MemoryKeyStore implements KeyStore {
  rows: SigningKeyRow[] = [];
  async list(): Promise<SigningKeyRow[]> {
    return [...this.rows].sort(
      (a, b) => a.activates_at - b.activates_at || a.created_at - b.created_at || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0),
    );
  }
  async insert(row: SigningKeyRow): Promise<boolean> {
    if (this.rows.some((r) => r.kid === row.kid)) return false;
    this.rows.push(row);
    return true;
  }
  async delete(kid: string): Promise<void> {
    this.rows = this.rows.filter((r) => r.kid !== kid);
  }
  async rewrap(kid: string, kekId: string, wrappedKey: string): Promise<void> {
    const row = this.rows.find((r) => r.kid === kid);
    if (!row) throw new Error(`no signing key ${kid} to rewrap`);
    Object.assign(row, { kek_id: kekId, wrapped_key: wrappedKey });
  }
  async reseal(kid: string, from: SealedFields, to: SealedFields): Promise<boolean> {
    const i = this.rows.findIndex(
      (r) =>
        r.kid === kid &&
        r.kek_id === from.kek_id &&
        r.wrapped_key === from.wrapped_key &&
        r.iv === from.iv &&
        r.ciphertext === from.ciphertext,
    );
    if (i < 0) return false;
    this.rows[i] = { ...this.rows[i]!, ...to };
    return true;
  }
}

export class MemoryCheckpointStore implements CheckpointStore {
  rows: AuditCheckpoint[] = [];
  readonly audit: MemoryAuditStore;
  constructor(audit: MemoryAuditStore) {
    this.audit = audit;
  }
  async insert(c: AuditCheckpoint): Promise<void> {
    this.rows.push({ ...c });
  }
  async list(q: AuditQuery): Promise<AuditCheckpoint[]> {
    // Stable sort by seq keeps insertion order within one seq, as the SQLite store's id does.
    let out = [...this.rows]
      .sort((a, b) => a.seq - b.seq)
      .filter((c) => (q.afterSeq === undefined || c.seq > q.afterSeq) && (q.beforeSeq === undefined || c.seq < q.beforeSeq));
    if (q.descending) out = out.reverse();
    return q.limit === undefined ? out : out.slice(0, q.limit);
  }
  async pruneThrough(seq: number): Promise<{ records: number; checkpoints: number }> {
    const records = this.audit.entries.filter((e) => e.seq <= seq).length;
    const checkpoints = this.rows.filter((c) => c.seq <= seq).length;
    this.audit.entries = this.audit.entries.filter((e) => e.seq > seq);
    this.rows = this.rows.filter((c) => c.seq > seq);
    return { records, checkpoints };
  }
}

export class MemoryRevocationStore implements RevocationStore {
  readonly entries = new Map<string, RevocationEntry>();
  async put(entry: RevocationEntry): Promise<void> {
    this.entries.set(entry.request_id, { ...entry });
  }
  async take(requestId: string, owner: string): Promise<RevocationEntry | null> {
    // Check and delete in one synchronous step, as the SQL stores do in one statement.
    const entry = this.entries.get(requestId);
    if (!entry || entry.owner !== owner) return null;
    this.entries.delete(requestId);
    return entry;
  }
  async has(requestId: string): Promise<boolean> {
    return this.entries.has(requestId);
  }
  async purge(now: number): Promise<void> {
    for (const [id, e] of this.entries) if (e.expires_at < now) this.entries.delete(id);
  }
}

export class MemoryLeaseStore implements LeaseStore {
  readonly rows = new Map<string, LeaseRow>();
  async put(lease: LeaseRow): Promise<void> {
    this.rows.set(lease.id, { ...lease });
  }
  async get(id: string): Promise<LeaseRow | null> {
    const row = this.rows.get(id);
    return row ? { ...row } : null;
  }
  async due(now: number, limit: number): Promise<LeaseRow[]> {
    return [...this.rows.values()]
      .filter((l) => l.due_at <= now)
      .sort((a, b) => a.due_at - b.due_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit)
      .map((l) => ({ ...l }));
  }
  async expired(before: number, limit: number): Promise<LeaseRow[]> {
    return [...this.rows.values()]
      .filter((l) => l.expires_at < before)
      .sort((a, b) => a.expires_at - b.expires_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit)
      .map((l) => ({ ...l }));
  }
  async failed(id: string, error: string, dueAt: number): Promise<void> {
    const row = this.rows.get(id);
    if (row) this.rows.set(id, { ...row, attempts: row.attempts + 1, last_error: error, due_at: dueAt });
  }
  async delete(id: string): Promise<void> {
    this.rows.delete(id);
  }
}
