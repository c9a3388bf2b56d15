// Storage ports, all of them in this one file. The broker core talks only to these; entries provide node:sqlite (Node) or
// D1 / Durable Objects / KV (Workers) implementations. Each port keeps its own atomicity promise.

/** Single use of a token id. */
export interface ReplayGuard {
  /**
   * Atomically records `key` as used until `expiresAt` (epoch seconds). Returns true for the first claim
   * and false for every later one while the record lives, however many run concurrently.
   */
  claim(key: string, expiresAt: number, now: number): Promise<boolean>;
  /**
   * Reuse by design (an issuer with `replay: reuse`, e.g. a kubelet's projected token): atomically records a
   * use of `key` by the token whose SHA-256 is `tokenSha256` (hex) until `expiresAt`, and returns the use
   * count including this one. A live key held by another token, or by a single-use claim, yields 0. An
   * expired record is taken over (count 1). Concurrent uses of one token get distinct counts.
   */
  claimReuse(key: string, tokenSha256: string, expiresAt: number, now: number): Promise<number>;
}

/** Request counters for rate limits (ratelimit.ts). Counts hits of `key` in the window starting at `windowStart` (epoch s); returns the count including this one. */
export interface RateCounter {
  hit(key: string, windowStart: number, windowS: number): Promise<number>;
}

/** One stored audit entry: the record plus its place in the hash chain. */
export interface AuditEntry {
  seq: number;
  prev_hash: string;
  hash: string;
  /** Canonical JSON of the record (what the hash covers together with seq and prev_hash). */
  record: string;
}

export interface AuditHead {
  seq: number;
  hash: string;
}

export interface AuditQuery {
  /** Only entries with seq greater than this (cursor). */
  afterSeq?: number;
  /** Only entries with seq less than this (backwards paging). */
  beforeSeq?: number;
  limit?: number;
  /** Newest first when true. */
  descending?: boolean;
}

export interface AuditStore {
  /** The last entry's seq and hash, or null when the log is empty. */
  head(): Promise<AuditHead | null>;
  /**
   * Inserts `entry` only if no entry with its seq exists (optimistic concurrency on the chain head).
   * Returns false on a conflict so that the caller re-reads the head and retries.
   */
  insert(entry: AuditEntry): Promise<boolean>;
  /**
   * Optional: inserts consecutive entries all or nothing (one commit where the store can). Returns false,
   * inserting none, when any seq is taken. The auditor uses it to write the records of concurrent requests
   * together.
   */
  insertMany?(entries: AuditEntry[]): Promise<boolean>;
  list(query: AuditQuery): Promise<AuditEntry[]>;
}

/**
 * A signed statement of the chain head (see audit/checkpoint-format.ts): the broker vouches that record `seq`
 * has `hash`. Kept apart from the chain so that truncating the chain does not take its checkpoints along.
 */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  /** ISO time of signing. */
  time: string;
  kid: string;
  /** Compact JWS (RS256, typ audit-checkpoint+jwt) over {iss, seq, hash, time, anchor}. */
  jws: string;
}

export interface CheckpointStore {
  /** Appends a checkpoint; several may name one seq (a re-signing after key rotation, a prune). */
  insert(checkpoint: AuditCheckpoint): Promise<void>;
  /** By seq (then insertion order); `descending` gives the newest first. */
  list(query: AuditQuery): Promise<AuditCheckpoint[]>;
  /** Retention: deletes audit records and checkpoints with seq <= `seq` in one transaction. */
  pruneThrough(seq: number): Promise<{ records: number; checkpoints: number }>;
}

/** One encrypted version of a stored secret (see store/envelope.ts for the format). */
export interface SecretRow {
  name: string;
  version: number;
  kek_id: string;
  wrapped_key: string;
  iv: string;
  ciphertext: string;
  created_at: number;
  /** Rotation policy: the longest this version should stay the newest, in seconds (absent: none). */
  max_age?: number;
}

export interface SecretMeta {
  name: string;
  version: number;
  versions: number;
  created_at: number;
  /** The newest version's max_age. */
  max_age?: number;
}

/**
 * The newest version of a secret, sealed under the KEK with the name and version bound (store/envelope.ts),
 * so that a store which loses or hides its newest rows is caught instead of serving an older value.
 */
export interface SecretHead {
  name: string;
  version: number;
  kek_id: string;
  seal: string;
}

export interface SecretStore {
  /** The newest version of `name`, or a given version. */
  get(name: string, version?: number): Promise<SecretRow | null>;
  /**
   * The row get() would return and the name's head, read together (one statement, one snapshot), so that
   * a concurrent write cannot make them disagree.
   */
  read(name: string, version?: number): Promise<{ row: SecretRow | null; head: SecretHead | null }>;
  /**
   * Inserts a new version; false when that version already exists (a concurrent writer won). With `head`,
   * in the same transaction the name's head moves up to it (never down).
   */
  insert(row: SecretRow, head?: SecretHead): Promise<boolean>;
  /** Replaces the key wrapping of an existing version (KEK rotation). */
  rewrap(name: string, version: number, kekId: string, wrappedKey: string): Promise<void>;
  /** Every version of every secret, oldest first (for KEK rotation). */
  all(): Promise<SecretRow[]>;
  /** Newest version per name, with the version count. */
  list(): Promise<SecretMeta[]>;
  /** Every head, by name. */
  heads(): Promise<SecretHead[]>;
  /** Stores a head unless the name's head is at a higher version (KEK rotation, heads for older secrets). */
  putHead(head: SecretHead): Promise<void>;
}

/** Last good JWKS per issuer, shared across isolates where the platform allows it. */
export interface JwksCacheEntry {
  jwks: { keys: unknown[] };
  fetched_at: number;
}

export interface JwksCache {
  get(issuerUrl: string): Promise<JwksCacheEntry | null>;
  put(issuerUrl: string, entry: JwksCacheEntry): Promise<void>;
}

/** One of the broker's own signing keys; the private JWK is sealed like a secret (store/envelope.ts). */
export interface SigningKeyRow {
  kid: string;
  alg: 'RS256';
  /** Epoch seconds. Published in the JWKS from creation on. */
  created_at: number;
  /** Epoch seconds. Signs from this time on (until a newer key activates). */
  activates_at: number;
  public_jwk: string;
  kek_id: string;
  wrapped_key: string;
  iv: string;
  ciphertext: string;
}

export interface KeyStore {
  list(): Promise<SigningKeyRow[]>;
  /** False when the kid exists already. */
  insert(row: SigningKeyRow): Promise<boolean>;
  delete(kid: string): Promise<void>;
  /** Replaces the wrapping of a key's sealed private half (KEK rotation). */
  rewrap(kid: string, kekId: string, wrappedKey: string): Promise<void>;
  /**
   * Replaces a key's whole seal (an upgrade of its format), only if the row still holds the seal `from`:
   * false when another writer changed it meanwhile.
   */
  reseal(kid: string, from: SealedFields, to: SealedFields): Promise<boolean>;
}

/** The sealed private half of a signing key row. */
export type SealedFields = Pick<SigningKeyRow, 'kek_id' | 'wrapped_key' | 'iv' | 'ciphertext'>;

/** What the post step may revoke for one request, sealed until the credentials expire. */
export interface RevocationEntry {
  request_id: string;
  /** SHA-256 of the caller's identity (issuer, subject, repository/project and run ids): who may revoke. */
  owner: string;
  /** Epoch seconds; the entry is useless (and purged) afterwards. */
  expires_at: number;
  kek_id: string;
  wrapped_key: string;
  iv: string;
  ciphertext: string;
}

export interface RevocationStore {
  put(entry: RevocationEntry): Promise<void>;
  /**
   * Deletes and returns the entry only when `owner` made it, in one atomic step (DELETE ... WHERE request_id
   * AND owner RETURNING): a revocation happens once, and another identity can neither take the entry nor
   * make the owner's take miss it, however the calls interleave.
   */
  take(requestId: string, owner: string): Promise<RevocationEntry | null>;
  /** Whether any entry for `requestId` exists. For the audit reason only: it never decides an answer. */
  has(requestId: string): Promise<boolean>;
  purge(now: number): Promise<void>;
}

/**
 * A credential that exists upstream until the broker removes it (a PostgreSQL login): kept in the store so
 * that a restart never forgets one. The secret part (password) is never stored, only what removal needs.
 */
export interface LeaseRow {
  /** The upstream name (the login); unique. */
  id: string;
  /** Which minter removes it (a grant type). */
  kind: string;
  /** What the remover needs to reach it, as JSON (a connection secret's name and a database, never a DSN). */
  target: string;
  /** Epoch seconds. */
  expires_at: number;
  /** Epoch seconds: the next sweep of this lease (its expiry, sooner on revoke, later after a failure). */
  due_at: number;
  /** Failed removal attempts so far. */
  attempts: number;
  last_error: string | null;
}

export interface LeaseStore {
  /** Records a lease (before the upstream credential is created, so that a crash cannot orphan one). */
  put(lease: LeaseRow): Promise<void>;
  get(id: string): Promise<LeaseRow | null>;
  /** Leases with due_at <= now, soonest first. */
  due(now: number, limit: number): Promise<LeaseRow[]>;
  /**
   * Leases that expired before `before`, whatever their next sweep (a failing removal is retried later),
   * earliest expiry first: what /readyz and the metrics call overdue. The table holds live leases only.
   */
  expired(before: number, limit: number): Promise<LeaseRow[]>;
  /** After a failed removal: counts the attempt, keeps the error, and sets when to try again. */
  failed(id: string, error: string, dueAt: number): Promise<void>;
  /** The credential is gone upstream. */
  delete(id: string): Promise<void>;
}
