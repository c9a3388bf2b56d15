// The `postgres` grant against a real server (a throwaway cluster, test/helpers/postgres.ts) through an
// in-process Node broker: the login's rights are exactly app_readonly's; revoke, expiry and a restart in
// between all end it (no new logins, open sessions terminated, role gone); concurrent exchanges give distinct
// logins; a denied caller creates nothing.
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scramVerifier } from '../../broker/src/mint/scram.ts';
import { opsFixture, type OpsFixture } from '../helpers/ops-broker.ts';
import { prepareGrantDatabase, skipWithoutPostgres, startPostgres, type PostgresCluster } from '../helpers/postgres.ts';

const skip = skipWithoutPostgres('postgres grant');
const roleText = (ttl = '5m') =>
  `role: db\nissuer: ci\nmax_ttl: 10m\nallow:\n  - repository_id: "1"\ngrants:\n  - type: postgres\n    connection_secret: PG_BROKER_ADMIN\n    database: app\n    member_of: [app_readonly]\n    ttl: ${ttl}\n    connection_limit: 3\n`;

describe.skipIf(skip)('postgres grant (real PostgreSQL)', () => {
  let cluster: PostgresCluster;
  let admin: ReturnType<typeof postgres>;
  let fx: OpsFixture;
  let appUrl: string;
  let managerDsn: string;

  const brokerLogins = async () =>
    (await admin<{ rolname: string }[]>`select rolname from pg_roles where rolname like 'sb\\_%'`).map((r) => r.rolname);
  const connectAs = (cred: { port: string; database: string; username: string; password: string }) =>
    postgres({
      host: '127.0.0.1',
      port: Number(cred.port),
      database: cred.database,
      username: cred.username,
      password: cred.password,
      max: 1,
      onnotice: () => {},
    });

  beforeAll(async () => {
    cluster = await startPostgres();
    appUrl = await cluster.createDatabase('app');
    admin = postgres(appUrl, { max: 2, onnotice: () => {} });
    managerDsn = await prepareGrantDatabase(admin, cluster.port);
    fx = await opsFixture('pg-grant');
    fx.writeRole('db', roleText());
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
    await admin?.end();
    cluster?.stop();
  });

  async function started() {
    const b = await fx.start();
    await b.broker.vault.put('PG_BROKER_ADMIN', managerDsn, Math.floor(Date.now() / 1000));
    return b;
  }

  const revoke = async (url: string, token: string, requestId: string) =>
    fetch(`${url}/v1/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, request_id: requestId }),
    });

  it('an exchange returns a login that can SELECT what app_readonly can and nothing else; revoke ends it: no new logins, the open session terminated, the role gone', async () => {
    const b = await started();
    const res = await b.exchange(await fx.token('1', { run_id: 'r1' }), 'db');
    expect(res.status).toBe(200);
    const cred = res.body.credentials[0];
    expect(cred).toMatchObject({ type: 'postgres', host: '127.0.0.1', port: String(cluster.port), database: 'app' });
    expect(cred.username).toMatch(/^sb_db_[0-9a-f]{16}$/);
    expect(cred.url).toBe(`postgres://${cred.username}:${encodeURIComponent(cred.password)}@127.0.0.1:${cluster.port}/app`);
    const job = connectAs(cred);
    expect(await job`select x from visible`).toEqual([{ x: 1 }]);
    await expect(job`select x from hidden`).rejects.toMatchObject({ code: '42501' });
    await expect(job`create table mine (x int)`).rejects.toMatchObject({ code: '42501' });
    await expect(job`create role other`).rejects.toMatchObject({ code: '42501' });
    const [attrs] = await admin`select rolcanlogin, rolconnlimit, rolvaliduntil from pg_roles where rolname = ${cred.username}`;
    expect(attrs).toMatchObject({ rolcanlogin: true, rolconnlimit: 3 });
    expect(Math.abs(new Date(attrs!.rolvaliduntil).getTime() - Date.parse(cred.expires_at))).toBeLessThan(1000);

    const r = await revoke(b.broker.url, await fx.token('1', { run_id: 'r1' }), res.body.request_id);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ revoked: [{ type: 'postgres', ok: true }] });
    await expect(job`select 1`).rejects.toBeDefined();
    await job.end({ timeout: 1 }).catch(() => {});
    expect(await brokerLogins()).toEqual([]);
    const again = connectAs(cred);
    await expect(again`select 1`).rejects.toBeDefined();
    await again.end({ timeout: 1 }).catch(() => {});
    await b.broker.stop();
  }, 60_000);

  it('the password never reaches the server: CREATE ROLE carries a SCRAM-SHA-256 verifier, the login authenticates by SCRAM, and with log_statement=all the log holds the verifier and never the password', async () => {
    await admin`ALTER ROLE broker_mgr SET log_statement = 'all'`;
    await admin`ALTER SYSTEM SET log_connections = on`;
    await admin`select pg_reload_conf()`;
    try {
      const b = await started();
      const res = await b.exchange(await fx.token('1', { run_id: 'scram' }), 'db');
      expect(res.status).toBe(200);
      const cred = res.body.credentials[0];
      const job = connectAs(cred);
      expect(await job`select current_user as u`).toEqual([{ u: cred.username }]);
      await job.end();
      const [{ rolpassword }] = (await admin`select rolpassword from pg_authid where rolname = ${cred.username}`) as unknown as [
        { rolpassword: string },
      ];
      expect(rolpassword).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
      // Our verifier for this password and the stored salt is exactly what the server holds.
      const salt = Buffer.from(rolpassword.split('$')[1]!.split(':')[1]!, 'base64');
      expect(await scramVerifier(cred.password, new Uint8Array(salt))).toBe(rolpassword);
      await new Promise((r) => setTimeout(r, 200)); // the log is written by the server's processes
      const log = readFileSync(cluster.logFile, 'utf8');
      // The statement that made the role was logged (the test can fail), with the verifier as its password.
      const created = log.split('\n').find((l) => l.includes(`CREATE ROLE ${cred.username} `));
      expect(created).toContain(`PASSWORD '${rolpassword}'`);
      expect(log).toMatch(new RegExp(`connection authenticated: identity="${cred.username}" method=scram-sha-256`));
      expect(log).not.toContain(cred.password);
      expect(log).not.toContain(encodeURIComponent(cred.password));
      await revoke(b.broker.url, await fx.token('1', { run_id: 'scram' }), res.body.request_id);
      expect(await brokerLogins()).toEqual([]);
      expect(readFileSync(cluster.logFile, 'utf8')).not.toContain(cred.password);
      await b.broker.stop();
    } finally {
      await admin`ALTER ROLE broker_mgr RESET log_statement`;
      await admin`ALTER SYSTEM RESET log_connections`;
      await admin`select pg_reload_conf()`;
    }
  }, 60_000);

  it('the sweeper removes an expired login, its open session too, even across a broker restart between mint and expiry', async () => {
    fx.writeRole('db', roleText('2s'));
    const first = await started();
    const res = await first.exchange(await fx.token(), 'db');
    expect(res.status).toBe(200);
    const cred = res.body.credentials[0];
    const job = connectAs(cred);
    expect(await job`select x from visible`).toEqual([{ x: 1 }]);
    await first.broker.stop();

    const second = await started();
    await new Promise((r) => setTimeout(r, 3000));
    expect(await second.broker.leases!.sweeper.sweep()).toEqual({ removed: 1, failed: 0 });
    expect(await brokerLogins()).toEqual([]);
    await expect(job`select 1`).rejects.toBeDefined();
    await job.end({ timeout: 1 }).catch(() => {});
    expect(second.lines.some((l) => l.event === 'lease.removed' && l.lease === cred.username)).toBe(true);
    await second.broker.stop();
    fx.writeRole('db', roleText());
  }, 60_000);

  it('200 concurrent exchanges give 200 distinct logins, all removed after revoke; pg_roles holds none', async () => {
    const N = 200;
    const b = await started();
    // Two tokens per job (the exchange's and the post step's revoke; each jti is used once), signed up front.
    const tokens = await Promise.all(
      Array.from(
        { length: N },
        async (_, i) => [await fx.token('1', { run_id: `c${i}` }), await fx.token('1', { run_id: `c${i}` })] as const,
      ),
    );
    const t0 = performance.now();
    const results = await Promise.all(tokens.map(async ([exchange, token]) => ({ token, res: await b.exchange(exchange, 'db') })));
    const exchanged = performance.now();
    expect(results.map((r) => r.res.status)).toEqual(Array(N).fill(200));
    const names = new Set(results.map((r) => r.res.body.credentials[0].username));
    expect(names.size).toBe(N);
    expect(new Set(await brokerLogins())).toEqual(names);
    const revoked = await Promise.all(results.map((r) => revoke(b.broker.url, r.token, r.res.body.request_id)));
    const done = performance.now();
    expect(revoked.map((r) => r.status)).toEqual(Array(N).fill(200));
    expect(await brokerLogins()).toEqual([]);
    expect(await b.broker.leases!.sweeper.store.expired(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    process.stderr.write(
      `postgres grant: ${N} exchanges ${Math.round(exchanged - t0)} ms, ${N} revokes ${Math.round(done - exchanged)} ms\n`,
    );
    await b.broker.stop();
  }, 120_000);

  it('group role names with quotes, semicolons and unicode are quoted by PostgreSQL: the login joins exactly them and is removed', async () => {
    const odd = ['ro"; DROP ROLE app_readonly; --', "o'brien", 'lecture_seule_ü🙂'];
    for (const name of odd) {
      await admin`CREATE ROLE ${admin(name)} NOLOGIN`;
      await admin`GRANT ${admin(name)} TO broker_mgr WITH ADMIN OPTION`;
    }
    fx.writeRole('odd', roleText().replace('role: db', 'role: odd').replace('[app_readonly]', JSON.stringify(odd)));
    const b = await started();
    const res = await b.exchange(await fx.token('1', { run_id: 'odd' }), 'odd');
    expect(res.status).toBe(200);
    const login = res.body.credentials[0].username;
    const groups =
      await admin`select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid join pg_roles u on u.oid = m.member where u.rolname = ${login} order by 1`;
    expect(groups.map((g) => g.rolname).sort()).toEqual([...odd].sort());
    expect(await admin`select 1 from pg_roles where rolname = 'app_readonly'`).toHaveLength(1);
    const r = await revoke(b.broker.url, await fx.token('1', { run_id: 'odd' }), res.body.request_id);
    expect(r.status).toBe(200);
    expect(await brokerLogins()).toEqual([]);
    await b.broker.stop();
  }, 60_000);

  it('a group role with server-level rights is refused at mint, and the failed exchange leaves no login', async () => {
    await admin`CREATE ROLE strong_group NOLOGIN CREATEDB`;
    await admin`GRANT strong_group TO broker_mgr WITH ADMIN OPTION`;
    fx.writeRole('strong', roleText().replace('role: db', 'role: strong').replace('[app_readonly]', '[strong_group]'));
    const b = await started();
    const res = await b.exchange(await fx.token('1'), 'strong');
    expect(res.status).toBe(502);
    expect(await brokerLogins()).toEqual([]);
    expect((await b.broker.leases!.sweeper.store.due(Number.MAX_SAFE_INTEGER, 10)).length).toBe(0);
    await b.broker.stop();
  }, 60_000);

  it('a failed exchange (a later grant failed) removes the login it created', async () => {
    fx.writeRole('later', `${roleText().replace('role: db', 'role: later')}  - type: secret\n    name: NOT_STORED\n`);
    const b = await started();
    const res = await b.exchange(await fx.token('1'), 'later');
    expect(res.status).toBe(502);
    expect(await brokerLogins()).toEqual([]);
    await b.broker.stop();
  }, 60_000);

  it('the sweeper drops only logins of the broker form (sb_<role>_<16 hex>): a lease row naming another role the manager could drop is refused by the name check and kept failing', async () => {
    // Roles the manager holds ADMIN OPTION on, own nothing and have no privileges: PostgreSQL itself would
    // let it drop every one of them, so only the broker's own name check stands between a planted lease
    // row and a DROP ROLE of a human login or a look-alike.
    const victims = [
      'alice', // a human login
      'sb_db_0123456789abcde', // 15 hex
      'sb_db_0123456789abcdef0', // 17 hex
      'sb_db_0123456789ABCDEF', // upper-case hex
      'sb_db_0123456789abcdeg', // not hex
      'sb__0123456789abcdef', // no role part
      'sb_db"x_0123456789abcdef', // a quote
      "sb_o'b_0123456789abcdef",
      'sb_db_0123456789abcdef\n', // a trailing newline
      ' sb_db_0123456789abcdef', // a leading space
      'sbx_db_0123456789abcdef', // another prefix
      'SB_db_0123456789abcdef',
      'app_db_0123456789abcdef',
      `sb_${'a'.repeat(41)}_0123456789abcdef`, // a role part longer than the broker makes
    ];
    for (const name of victims) {
      await admin`CREATE ROLE ${admin(name)} LOGIN PASSWORD 'victim-pass'`;
      await admin`GRANT ${admin(name)} TO broker_mgr WITH ADMIN OPTION`;
    }
    const b = await started();
    const sweeper = b.broker.leases!.sweeper;
    const store = sweeper.store;
    const planted = ['app_readonly', ...victims];
    for (const id of planted) {
      await store.put({
        id,
        kind: 'postgres',
        target: JSON.stringify({ connection_secret: 'PG_BROKER_ADMIN', database: 'app' }),
        expires_at: 1,
        due_at: 1,
        attempts: 0,
        last_error: null,
      });
    }
    expect(await sweeper.sweep()).toEqual({ removed: 0, failed: planted.length });
    // A revoke-style removal by id is refused the same way.
    for (const id of victims) expect(await sweeper.end(id)).toEqual({ ok: false, detail: 'lease names no broker login' });
    const left = await admin<{ rolname: string; rolcanlogin: boolean }[]>`
      select rolname, rolcanlogin from pg_roles where rolname = any(${victims}::text[])`;
    expect(left.map((r) => r.rolname).sort()).toEqual([...victims].sort());
    expect(left.every((r) => r.rolcanlogin)).toBe(true);
    expect(await admin`select 1 from pg_roles where rolname = 'app_readonly'`).toHaveLength(1);
    expect(await admin`select has_table_privilege('app_readonly', 'visible', 'select') as ok`).toEqual([{ ok: true }]);
    expect(
      await admin`select count(*)::int as n from pg_auth_members m join pg_roles g on g.oid = m.roleid where g.rolname = 'app_readonly'`,
    ).not.toEqual([{ n: 0 }]);
    for (const id of planted) {
      expect((await store.get(id))?.attempts).toBeGreaterThanOrEqual(1);
      expect((await store.get(id))?.last_error).toBe('lease names no broker login');
    }
    expect(b.lines.some((l) => l.event === 'lease.remove_failed' && l.lease === 'app_readonly')).toBe(true);
    for (const id of planted) await store.delete(id);
    for (const name of victims) await admin`DROP ROLE ${admin(name)}`;
    await b.broker.stop();
  }, 60_000);

  it('a sweep that keeps failing turns /readyz not ready (check leases, the logins named in the log) and shows in /metrics; recovery clears both', async () => {
    const b = await started();
    const res = await b.exchange(await fx.token('1', { run_id: 'stuck' }), 'db');
    expect(res.status).toBe(200);
    const login: string = res.body.credentials[0].username;
    const sweeper = b.broker.leases!.sweeper;
    const ready = async () => {
      const r = await fetch(`${b.broker.url}/readyz`);
      return { status: r.status, body: (await r.json()) as Record<string, any> };
    };
    const metric = async (line: RegExp) => {
      const text = await (await fetch(`${b.broker.url}/metrics`)).text();
      return Number(
        text
          .split('\n')
          .find((l) => line.test(l))
          ?.split(' ')
          .pop(),
      );
    };
    expect(await ready()).toMatchObject({ status: 200, body: { checks: { leases: 'ok' }, details: { leases_overdue: 0 } } });

    // The manager DSN now points at a port nobody listens on, and the lease is three minutes past expiry.
    await b.broker.vault.put('PG_BROKER_ADMIN', `postgres://broker_mgr:mgr-pass@127.0.0.1:1/app`, Math.floor(Date.now() / 1000));
    const now = Math.floor(Date.now() / 1000);
    const lease = (await sweeper.store.get(login))!;
    await sweeper.store.put({ ...lease, expires_at: now - 180, due_at: now - 180 });
    expect(await sweeper.sweep()).toEqual({ removed: 0, failed: 1 });
    expect(await brokerLogins()).toEqual([login]);
    const down = await ready();
    expect(down).toMatchObject({ status: 503, body: { status: 'not_ready', failing: ['leases'], details: { leases_overdue: 1 } } });
    expect(JSON.stringify(down.body)).not.toContain(login);
    const logged = b.lines.find((l) => l.event === 'readiness.failed' && l.check === 'leases');
    expect(String(logged?.detail)).toContain(`leases past expiry not removed: ${login} (postgres`);
    expect(await metric(/^secret_broker_leases_overdue /)).toBe(1);
    expect(await metric(/^secret_broker_lease_removals_total\{kind="postgres",result="failed"\}/)).toBeGreaterThanOrEqual(1);
    // Its retry is later (15 s, doubling): still overdue whatever its next sweep.
    expect((await sweeper.store.get(login))!.due_at).toBeGreaterThan(now);
    expect((await ready()).status).toBe(503);

    // The server is reachable again: the next sweep of the lease removes it and both clear.
    await b.broker.vault.put('PG_BROKER_ADMIN', managerDsn, Math.floor(Date.now() / 1000));
    await sweeper.store.put({ ...(await sweeper.store.get(login))!, due_at: now });
    expect(await sweeper.sweep()).toEqual({ removed: 1, failed: 0 });
    expect(await brokerLogins()).toEqual([]);
    expect(await ready()).toMatchObject({ status: 200, body: { status: 'ready', failing: [], details: { leases_overdue: 0 } } });
    expect(await metric(/^secret_broker_leases_overdue /)).toBe(0);
    expect(await metric(/^secret_broker_lease_removals_total\{kind="postgres",result="ok"\}/)).toBeGreaterThanOrEqual(1);
    await b.broker.stop();
  }, 60_000);

  it('a denied caller creates nothing (pg_roles unchanged)', async () => {
    const b = await started();
    const before = await admin`select rolname from pg_roles order by rolname`;
    const res = await b.exchange(await fx.token('2'), 'db');
    expect(res.status).toBe(403);
    expect(await admin`select rolname from pg_roles order by rolname`).toEqual(before);
    await b.broker.stop();
  }, 60_000);
});
