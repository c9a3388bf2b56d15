// The `postgres` grant: a PostgreSQL login that exists only for the job. The broker's manager role (its DSN
// is a stored secret that never leaves the broker) creates `sb_<role>_<random>` with a random password,
// LOGIN, VALID UNTIL the expiry, a small CONNECTION LIMIT and membership in the grant's group roles only.
// VALID UNTIL stops new logins but not open sessions, so every login is a lease (leases.ts) that the
// sweeper removes at expiry, or the post step's revoke at once: NOLOGIN, end its sessions, revoke its
// memberships, reassign and drop what it owns, DROP ROLE.
//
// No SQL text from policy files: names are quoted by PostgreSQL itself (format %I / %L, or the driver's
// identifier escaping), never concatenated.
import type postgres from 'postgres';
import type { LeaseRemover, LeaseSweeper } from '../leases.ts';
import type { GrantOf } from '../policy/schema.ts';
import type { LeaseStore } from '../store/ports.ts';
import { isoSeconds, parseDuration } from '../util/duration.ts';
import { scramVerifier } from './scram.ts';
import type { Minter, MintResult, RevokeResult } from './types.ts';

export type PostgresDriver = typeof postgres;
type Sql = ReturnType<PostgresDriver>;

export interface PostgresMintDeps {
  driver: PostgresDriver;
  leases: LeaseStore;
  sweeper: LeaseSweeper;
  secrets: { get(name: string): Promise<{ name: string; version: number; value: string } | null> };
  /** Per statement, milliseconds. */
  timeoutMs: number;
  /**
   * A client of its own for each mint and removal, ended after it, instead of a pool kept per DSN: Workers,
   * where a socket opened for one request cannot serve another (put Hyperdrive in front for pooling).
   */
  clientPerOperation?: boolean;
}

/** Only names of this form are ever dropped: a lease row that names another role is refused, not obeyed. */
export const LOGIN_NAME = /^sb_[a-z0-9_]{1,40}_[0-9a-f]{16}$/;

interface Target {
  connection_secret: string;
  database: string;
}

const randomHex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');

function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replaceAll('=', '');
}

/** `sb_<role>_<16 hex>`: the role name reduced to [a-z0-9_] and cut to 36, so at most 56 bytes of 63. */
export function loginName(role: string): string {
  const slug = role.replace(/[^a-z0-9_]/g, '_').slice(0, 36) || 'role';
  return `sb_${slug}_${randomHex(8)}`;
}

/** A postgres:// DSN, or undefined. */
function parseDsn(text: string): URL | undefined {
  try {
    const url = new URL(text.trim());
    return url.protocol === 'postgres:' || url.protocol === 'postgresql:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** SQLSTATE of a driver error, or its class name: never its message (which may quote SQL or a name). */
const sqlState = (err: unknown) => String((err as { code?: unknown })?.code ?? (err as Error)?.name ?? 'error').slice(0, 40);

export function createPostgresLeases(deps: PostgresMintDeps): {
  minter: Minter<GrantOf<'postgres'>>;
  remover: LeaseRemover;
  close(): Promise<void>;
} {
  // One small pool per manager DSN and database, reused by mints and sweeps (or one client per operation).
  const pools = new Map<string, Sql>();
  const open = (dsn: string, database: string, max: number): Sql =>
    deps.driver(dsn, {
      database,
      max,
      idle_timeout: 30,
      connect_timeout: Math.ceil(deps.timeoutMs / 1000),
      onnotice: () => {},
      connection: { application_name: 'secret-broker', statement_timeout: deps.timeoutMs },
    });
  const withSql = async <T>(dsn: string, database: string, run: (sql: Sql) => Promise<T>): Promise<T> => {
    if (deps.clientPerOperation) {
      const sql = open(dsn, database, 1);
      try {
        return await run(sql);
      } finally {
        await sql.end({ timeout: 1 }).catch(() => {});
      }
    }
    const key = `${dsn}\u0000${database}`;
    let sql = pools.get(key);
    if (!sql) {
      sql = open(dsn, database, 4);
      pools.set(key, sql);
    }
    return run(sql);
  };

  const managerDsn = async (name: string): Promise<string> => {
    const stored = await deps.secrets.get(name);
    if (!stored) throw new Error(`connection secret ${name} not found`);
    if (!parseDsn(stored.value)) throw new Error(`connection secret ${name} is not a postgres:// DSN`);
    return stored.value.trim();
  };

  const remover: LeaseRemover = async (lease) => {
    if (!LOGIN_NAME.test(lease.id)) throw new Error('lease names no broker login');
    const target = JSON.parse(lease.target) as Target;
    await withSql(await managerDsn(target.connection_secret), target.database, (sql) => removeLogin(sql, lease.id));
  };

  const minter: Minter<GrantOf<'postgres'>> = {
    async mint(grant, ctx): Promise<MintResult> {
      const ttl = Math.min(parseDuration(grant.ttl) ?? 0, ctx.maxTtl);
      if (ttl <= 0) return fail('postgres.ttl_invalid');
      const expiresAt = ctx.now + ttl;

      let dsnText: string;
      try {
        const stored = await deps.secrets.get(grant.connection_secret);
        if (!stored) return fail(`postgres.connection_secret_missing:${grant.connection_secret}`);
        dsnText = stored.value.trim();
      } catch {
        return { ok: false, code: 'ERR_UNAVAILABLE', detail: 'postgres.unavailable:secret_store' };
      }
      const dsn = parseDsn(dsnText);
      if (!dsn) return fail(`postgres.dsn_invalid:${grant.connection_secret}`);

      const username = loginName(ctx.role.name);
      const password = randomPassword();
      // CREATE ROLE carries the SCRAM verifier, never the password; its PBKDF2 runs while the lease is written.
      const verifier = scramVerifier(password);
      verifier.catch(() => {});
      // The lease first: whatever happens after this line, the sweeper knows the name.
      try {
        await deps.leases.put({
          id: username,
          kind: 'postgres',
          target: JSON.stringify({ connection_secret: grant.connection_secret, database: grant.database } satisfies Target),
          expires_at: expiresAt,
          due_at: expiresAt,
          attempts: 0,
          last_error: null,
        });
      } catch {
        return { ok: false, code: 'ERR_UNAVAILABLE', detail: 'postgres.unavailable:lease_store' };
      }

      try {
        const login = {
          username,
          verifier: await verifier,
          validUntil: new Date(expiresAt * 1000).toISOString(),
          connectionLimit: grant.connection_limit,
          inherit: grant.inherit,
          memberOf: grant.member_of,
        };
        await withSql(dsnText, grant.database, (sql) => createLogin(sql, login));
      } catch (err) {
        // Nothing usable was handed out: remove whatever may exist now (or leave the lease to the sweeper).
        const ended = await deps.sweeper.end(username).catch(() => ({ ok: false }));
        const state = err instanceof RefusedMember ? `member_refused:${err.member}` : `create_failed:${sqlState(err)}`;
        const connectFailed = /^(ECONNREFUSED|ETIMEDOUT|ENOTFOUND|CONNECT_TIMEOUT|CONNECTION_)/.test(sqlState(err));
        if (connectFailed) return { ok: false, code: 'ERR_UNAVAILABLE', detail: 'postgres.unavailable:connect' };
        return fail(`postgres.${state}${ended.ok ? '' : ';cleanup_pending'}`);
      }

      const host = grant.client_host ?? dsn.hostname;
      const port = dsn.port || '5432';
      const url = `postgres://${encodeURIComponent(username)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(grant.database)}`;
      return {
        ok: true,
        credential: {
          type: 'postgres',
          username,
          password,
          host,
          port,
          database: grant.database,
          url,
          expires_at: isoSeconds(expiresAt),
          env_prefix: grant.env_prefix,
        },
        summary: { type: 'postgres', target: `${grant.database}:${username}`, expires_at: isoSeconds(expiresAt) },
        revocation: { login: username },
      };
    },

    async revoke(revocation): Promise<RevokeResult> {
      const login = revocation.login;
      if (typeof login !== 'string' || !LOGIN_NAME.test(login)) return { ok: false, detail: 'postgres.revocation_invalid' };
      const r = await deps.sweeper.end(login);
      return r.ok ? { ok: true } : { ok: false, detail: `postgres.remove_failed:${r.detail.slice(0, 120)}` };
    },
  };

  return {
    minter,
    remover,
    close: async () => {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((sql) => sql.end({ timeout: 5 })));
    },
  };
}

class RefusedMember extends Error {
  readonly member: string;
  constructor(member: string) {
    super('member role refused');
    this.member = member;
  }
}

interface NewLogin {
  username: string;
  /** The SCRAM-SHA-256 verifier (scram.ts): PostgreSQL stores it as given. */
  verifier: string;
  validUntil: string;
  connectionLimit: number;
  inherit: boolean;
  memberOf: string[];
}

/** CREATE ROLE and its memberships in one transaction: all of it or none. */
async function createLogin(sql: Sql, login: NewLogin): Promise<void> {
  await sql.begin(async (tx) => {
    // A group with more than plain object rights would hand the job more than the grant says.
    const strong = await tx<{ rolname: string }[]>`
      select rolname from pg_roles
      where rolname = any(${login.memberOf}::text[])
        and (rolsuper or rolcreaterole or rolcreatedb or rolreplication or rolbypassrls or rolname like 'pg\_%')`;
    if (strong[0]) throw new RefusedMember(strong[0].rolname);
    // Utility statements take no bind parameters: PostgreSQL's own format() quotes the name (%I) and the
    // literals (%L); the attribute words are fixed here, never from the policy.
    const [statement] = await tx<{ text: string }[]>`
      select format('CREATE ROLE %I WITH LOGIN %s NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT %s PASSWORD %L VALID UNTIL %L',
        ${login.username}::text, ${login.inherit ? 'INHERIT' : 'NOINHERIT'}::text, ${login.connectionLimit}::int,
        ${login.verifier}::text, ${login.validUntil}::text) as text`;
    if (!statement) throw new Error('format returned nothing');
    await tx.unsafe(statement.text);
    for (const group of login.memberOf) await tx`GRANT ${tx(group)} TO ${tx(login.username)}`;
  });
}

/**
 * Ends a login for good: NOLOGIN first (no new sessions), then its sessions (a session that did SET ROLE
 * keeps its rights even after DROP ROLE), its memberships, what it owns in this database, the role.
 * Idempotent: a login that is already gone is success.
 */
export async function removeLogin(sql: Sql, username: string): Promise<void> {
  const exists = await sql`select 1 from pg_roles where rolname = ${username}`;
  if (exists.length === 0) return;
  try {
    await sql`ALTER ROLE ${sql(username)} NOLOGIN`;
    await sql`select pg_terminate_backend(pid, 5000) from pg_stat_activity where usename = ${username} and pid <> pg_backend_pid()`;
    const groups = await sql<{ rolname: string }[]>`
      select g.rolname from pg_auth_members m
      join pg_roles g on g.oid = m.roleid join pg_roles u on u.oid = m.member
      where u.rolname = ${username}`;
    for (const { rolname } of groups) await sql`REVOKE ${sql(rolname)} FROM ${sql(username)}`;
    // REASSIGN / DROP OWNED need the manager to hold the login's privileges; CREATEROLE alone does not give
    // them on PostgreSQL 15 (16 gives the creator ADMIN OPTION, which lets it grant this to itself).
    await sql`GRANT ${sql(username)} TO CURRENT_USER`;
    await sql`REASSIGN OWNED BY ${sql(username)} TO CURRENT_USER`;
    await sql`DROP OWNED BY ${sql(username)}`;
    await sql`DROP ROLE ${sql(username)}`;
  } catch (err) {
    // Another sweep (a revoke racing the expiry) removed it meanwhile.
    if ((err as { code?: string })?.code === '42704') return;
    throw err;
  }
}

function fail(detail: `postgres.${string}`): MintResult {
  return { ok: false, code: 'ERR_UPSTREAM', detail };
}
