// The postgres grant inside workerd: the broker's own minter, remover and sweeper (broker/src/mint/postgres.ts,
// leases.ts) with the D1 lease store, through postgres.js's Workers build over cloudflare:sockets, against
// the PostgreSQL cluster the config started on loopback. One client per operation, as the Worker entry
// configures it (a socket cannot outlive the request that opened it); and the Worker handler built as
// broker/entry/worker-postgres.ts builds it: an exchange and /v1/revoke, and its cron sweeping.
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { importJWK, type JWK, SignJWT } from 'jose';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { D1LeaseStore, D1SecretStore } from '../../broker/entry/workers/d1.ts';
import { createWorkerHandler, type WorkerEnv } from '../../broker/entry/workers/handler.ts';
import { LeaseSweeper, type LeaseRemover } from '../../broker/src/leases.ts';
import { createPostgresLeases } from '../../broker/src/mint/postgres.ts';
import type { MintContext } from '../../broker/src/mint/types.ts';
import { compilePolicy } from '../../broker/src/policy/compile.ts';
import { loadPolicy } from '../../broker/src/policy/load.ts';
import type { GrantOf } from '../../broker/src/policy/schema.ts';
import { generateKekBase64, importKek } from '../../broker/src/store/envelope.ts';
import { SecretVault } from '../../broker/src/store/secrets.ts';

const ROLE = `role: db
issuer: ci
max_ttl: 10m
allow:
  - repository_id: "1"
grants:
  - type: postgres
    connection_secret: PG_BROKER_ADMIN
    database: app
    member_of: [app_readonly]
    ttl: 5m
    connection_limit: 3
`;
const ISSUERS = 'issuers:\n  ci:\n    url: https://issuer.test\n    audience: https://broker.test\n';

describe.skipIf(env.PG_SKIP)(`postgres grant inside workerd (real PostgreSQL)${env.PG_SKIP ? `: SKIP ${env.PG_SKIP}` : ''}`, () => {
  let admin: ReturnType<typeof postgres>;
  let ctx: MintContext;
  let grant: GrantOf<'postgres'>;
  const lines: Record<string, unknown>[] = [];
  const store = new D1LeaseStore(env.LEASES_DB);
  let clock = Date.now();
  const removers: Record<string, LeaseRemover> = {};
  const sweeper = new LeaseSweeper({ store, removers, now: () => clock, log: (l) => lines.push(l) });
  const leases = createPostgresLeases({
    driver: postgres,
    leases: store,
    sweeper,
    secrets: { get: async (name) => (name === 'PG_BROKER_ADMIN' ? { name, version: 1, value: env.PG_MANAGER_DSN } : null) },
    timeoutMs: 10_000,
    clientPerOperation: true,
  });
  removers.postgres = leases.remover;

  const brokerLogins = async () =>
    (await admin<{ rolname: string }[]>`select rolname from pg_roles where rolname like 'sb\\_%'`).map((r) => r.rolname);
  const connectAs = (cred: Record<string, unknown>) =>
    postgres({
      host: '127.0.0.1',
      port: Number(cred.port),
      database: String(cred.database),
      username: String(cred.username),
      password: String(cred.password),
      max: 1,
      onnotice: () => {},
    });

  beforeAll(async () => {
    admin = postgres(env.PG_SUPERUSER_URL, { max: 1, onnotice: () => {} });
    const loaded = await loadPolicy([
      { path: 'issuers.yaml', text: ISSUERS },
      { path: 'roles/db.yaml', text: ROLE },
    ]);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    const role = compilePolicy(loaded.policy).roles.get('db')!;
    grant = role.role.grants[0] as GrantOf<'postgres'>;
    ctx = { role, claims: { repository_id: '1' }, issuer: 'ci', requestId: 'r1', now: Math.floor(clock / 1000), maxTtl: role.maxTtl };
  });

  afterAll(async () => {
    await leases.close();
    await admin?.end();
  });

  it('a login minted over cloudflare:sockets authenticates by SCRAM, reads what app_readonly can and nothing else; revoke ends it and its open session', async () => {
    const minted = await leases.minter.mint(grant, ctx);
    if (!minted.ok) throw new Error(minted.detail);
    const cred = minted.credential;
    expect(cred.username).toMatch(/^sb_db_[0-9a-f]{16}$/);
    expect(cred.port).toBe(env.PG_PORT);
    expect(await store.get(String(cred.username))).toMatchObject({ kind: 'postgres', attempts: 0 });
    const [{ rolpassword }] = (await admin`select rolpassword from pg_authid where rolname = ${String(cred.username)}`) as unknown as [
      { rolpassword: string },
    ];
    expect(rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);

    const job = connectAs(cred);
    expect(await job`select x from visible`).toEqual([{ x: 1 }]);
    await expect(job`select x from hidden`).rejects.toMatchObject({ code: '42501' });

    expect(await leases.minter.revoke!(minted.revocation!)).toEqual({ ok: true });
    expect(await brokerLogins()).toEqual([]);
    expect(await store.get(String(cred.username))).toBeNull();
    await expect(job`select 1`).rejects.toBeDefined();
    await job.end({ timeout: 1 }).catch(() => {});
    const again = connectAs(cred);
    await expect(again`select 1`).rejects.toBeDefined();
    await again.end({ timeout: 1 }).catch(() => {});
  });

  it('the sweeper removes a login at its expiry, and one whose removal failed is overdue until a later sweep succeeds', async () => {
    const minted = await leases.minter.mint(grant, ctx);
    if (!minted.ok) throw new Error(minted.detail);
    const login = String(minted.credential.username);
    expect(await sweeper.sweep()).toEqual({ removed: 0, failed: 0 });
    expect(await brokerLogins()).toEqual([login]);

    // Ten minutes on, with the manager unable to connect (its password changed): the sweep fails and says so.
    clock += 10 * 60_000;
    await admin`ALTER ROLE broker_mgr PASSWORD 'changed'`;
    expect(await sweeper.sweep()).toEqual({ removed: 0, failed: 1 });
    expect((await sweeper.status()).overdue.map((l) => l.id)).toEqual([login]);
    expect(lines.some((l) => l.event === 'lease.remove_failed' && l.lease === login)).toBe(true);

    await admin`ALTER ROLE broker_mgr PASSWORD 'mgr-pass'`;
    clock += 60_000; // past the retry delay
    expect(await sweeper.sweep()).toEqual({ removed: 1, failed: 0 });
    expect(await brokerLogins()).toEqual([]);
    expect((await sweeper.status()).overdue).toEqual([]);
  });

  it("the Worker entry's cron (scheduled) sweeps an expired login: the handler wires the driver, D1 leases and the stored manager DSN", async () => {
    // The handler as broker/entry/worker-postgres.ts builds it, on its own D1 with the manager DSN sealed in it.
    const kek = generateKekBase64();
    const workerEnv = {
      DB: env.HANDLER_DB,
      JWKS_CACHE: env.JWKS_CACHE,
      REPLAY: {} as WorkerEnv['REPLAY'], // a cron run claims no token
      BROKER_KEK: kek,
      BROKER_PUBLIC_URL: 'https://broker.test',
    } satisfies WorkerEnv;
    const workerLines: Record<string, unknown>[] = [];
    const handler = createWorkerHandler(
      [
        { path: 'issuers.yaml', text: ISSUERS },
        { path: 'roles/db.yaml', text: ROLE },
      ],
      { postgres, log: (l) => workerLines.push(l) },
    );
    const vault = new SecretVault(new D1SecretStore(env.HANDLER_DB), { current: await importKek(kek), previous: [] });
    await vault.put('PG_BROKER_ADMIN', env.PG_MANAGER_DSN, Math.floor(Date.now() / 1000));

    // A login minted by the same code on the handler's lease table, already expired.
    const handlerLeases = new D1LeaseStore(env.HANDLER_DB);
    const minting = createPostgresLeases({
      driver: postgres,
      leases: handlerLeases,
      sweeper: new LeaseSweeper({ store: handlerLeases, removers: {}, now: Date.now, log: () => {} }),
      secrets: vault,
      timeoutMs: 10_000,
      clientPerOperation: true,
    });
    const minted = await minting.minter.mint(grant, { ...ctx, now: Math.floor(Date.now() / 1000) });
    if (!minted.ok) throw new Error(minted.detail);
    const login = String(minted.credential.username);
    const lease = (await handlerLeases.get(login))!;
    await handlerLeases.put({ ...lease, expires_at: lease.expires_at - 3600, due_at: lease.due_at - 3600 });
    expect(await brokerLogins()).toEqual([login]);

    const run = createExecutionContext();
    await handler.scheduled({}, workerEnv, run);
    await waitOnExecutionContext(run);
    expect(workerLines.some((l) => l.event === 'broker.ready')).toBe(true);
    expect(workerLines.some((l) => l.event === 'lease.removed' && l.lease === login)).toBe(true);
    expect(await brokerLogins()).toEqual([]);
    expect(await handlerLeases.get(login)).toBeNull();
  });

  it("through the Worker handler: an exchange returns a working login, the post step's /v1/revoke removes it", async () => {
    const kek = generateKekBase64();
    const workerEnv = {
      DB: env.EXCHANGE_DB,
      JWKS_CACHE: env.JWKS_CACHE,
      REPLAY: env.REPLAY,
      BROKER_KEK: kek,
      BROKER_PUBLIC_URL: 'https://broker.test',
    } satisfies WorkerEnv;
    const handler = createWorkerHandler(
      [
        {
          path: 'issuers.yaml',
          text: `issuers:\n  ci:\n    url: ${env.TEST_ISSUER_URL}\n    audience: https://broker.test\n    algorithms: [RS256]\n`,
        },
        { path: 'roles/db.yaml', text: ROLE },
      ],
      { postgres, log: () => {} },
    );
    await new SecretVault(new D1SecretStore(env.EXCHANGE_DB), { current: await importKek(kek), previous: [] }).put(
      'PG_BROKER_ADMIN',
      env.PG_MANAGER_DSN,
      Math.floor(Date.now() / 1000),
    );
    const jwk = JSON.parse(env.TEST_ISSUER_JWK) as JWK & { kid: string };
    const key = await importJWK(jwk, 'RS256');
    const token = async () => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ sub: 'repo:acme/app', repository_id: '1', jti: crypto.randomUUID() })
        .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' })
        .setIssuer(env.TEST_ISSUER_URL)
        .setAudience('https://broker.test')
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(now + 300)
        .sign(key);
    };
    const call = async (path: string, body: unknown) => {
      const run = createExecutionContext();
      const res = await handler.fetch(
        new Request(`https://broker.test${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
        workerEnv,
        run,
      );
      await waitOnExecutionContext(run);
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };

    const res = await call('/v1/exchange', { token: await token(), role: 'db' });
    expect(res.status).toBe(200);
    const cred = res.body.credentials[0];
    expect(cred).toMatchObject({ type: 'postgres', host: '127.0.0.1', port: env.PG_PORT, database: 'app' });
    const job = connectAs(cred);
    expect(await job`select x from visible`).toEqual([{ x: 1 }]);
    expect(await brokerLogins()).toEqual([cred.username]);

    const revoked = await call('/v1/revoke', { token: await token(), request_id: res.body.request_id });
    expect(revoked).toMatchObject({ status: 200, body: { revoked: [{ type: 'postgres', ok: true }] } });
    expect(await brokerLogins()).toEqual([]);
    await expect(job`select 1`).rejects.toBeDefined();
    await job.end({ timeout: 1 }).catch(() => {});
  });
});
