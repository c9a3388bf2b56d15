// The `postgres` grant's policy rules, adversarially (the server-side rules run against a real PostgreSQL in
// test/e2e/postgres-grant.test.ts): no group role with server-level rights, no NUL or over-long names, no
// ttl beyond max_ttl, login names always of the broker's own form, and the manager DSN never handed out.
import { describe, expect, it } from 'vitest';
import { LOGIN_NAME, loginName } from '../../../broker/src/mint/postgres.ts';
import { loadPolicy } from '../../../broker/src/policy/load.ts';
import { checkPolicy } from '../../../broker/src/policy/review/check.ts';
import { ISSUERS_YAML } from '../../helpers/broker.ts';

const role = (grants: string, maxTtl = '30m') =>
  `role: db\nissuer: ci\nmax_ttl: ${maxTtl}\nallow:\n  - repository_id: "1"\ngrants:\n${grants}`;
const pg = (fields: Record<string, string>) =>
  `  - type: postgres\n${Object.entries({
    connection_secret: 'PG_ADMIN',
    database: 'app',
    member_of: '[app_readonly]',
    ttl: '15m',
    ...fields,
  })
    .map(([k, v]) => `    ${k}: ${v}`)
    .join('\n')}\n`;
const files = (text: string) => [
  { path: 'issuers.yaml', text: ISSUERS_YAML },
  { path: 'roles/db.yaml', text },
];
const loads = async (text: string) => (await loadPolicy(files(text))).ok;

describe('postgres grant policy rules', () => {
  it('a postgres grant whose ttl is above the role max_ttl is refused at load', async () => {
    expect(await loads(role(pg({ ttl: '15m' }), '15m'))).toBe(true);
    expect(await loads(role(pg({ ttl: '16m' }), '15m'))).toBe(false);
    expect(await loads(role(pg({ ttl: '1h1s' }), '1h'))).toBe(false);
    expect(await loads(role(pg({ ttl: '13h' }), '12h'))).toBe(false);
  });

  it('member_of never names a predefined pg_* role or a broker login, whatever the case', async () => {
    for (const member of ['pg_execute_server_program', 'PG_READ_SERVER_FILES', 'pg_signal_backend', 'sb_other_0123456789abcdef', 'SB_x']) {
      expect(await loads(role(pg({ member_of: JSON.stringify([member]) })))).toBe(false);
    }
  });

  it('names with quotes, semicolons and unicode are data (quoted by PostgreSQL), but never NUL or over 63 bytes', async () => {
    for (const member of ['ro"; DROP ROLE app; --', "o'brien", 'lecture_seule_ü🙂', 'a b\\c']) {
      expect(await loads(role(pg({ member_of: JSON.stringify([member]) })))).toBe(true);
    }
    expect(await loads(role(pg({ member_of: JSON.stringify(['a\u0000b']) })))).toBe(false);
    expect(await loads(role(pg({ member_of: JSON.stringify(['ü'.repeat(32)]) })))).toBe(false); // 64 bytes
    expect(await loads(role(pg({ database: JSON.stringify('x'.repeat(64)) })))).toBe(false);
    expect(await loads(role(pg({ member_of: '[a, a]' })))).toBe(false);
    expect(await loads(role(pg({ member_of: '[]' })))).toBe(false);
  });

  it('the connection limit is bounded, client_host is a host name, env_prefix an upper-case variable prefix', async () => {
    for (const bad of [
      { connection_limit: '0' },
      { connection_limit: '101' },
      { client_host: "'db;x'" },
      { client_host: 'a/b' },
      { env_prefix: 'pg' },
      { env_prefix: 'LD_' + 'X'.repeat(40) },
    ]) {
      expect(await loads(role(pg(bad)))).toBe(false);
    }
    expect(await loads(role(pg({ connection_limit: '5', client_host: 'db.internal.example.com', env_prefix: 'APP_PG' })))).toBe(true);
  });

  it('login names are sb_<role>_<16 hex>, within 63 bytes and of the one form the sweeper will drop', () => {
    for (const r of ['db', 'a.b-c_d', 'x'.repeat(64), 'prod.eu-west-1.deploy-database-migrations']) {
      const name = loginName(r);
      expect(new TextEncoder().encode(name).length).toBeLessThanOrEqual(63);
      expect(name).toMatch(LOGIN_NAME);
    }
    expect(new Set(Array.from({ length: 200 }, () => loginName('db'))).size).toBe(200);
    for (const notOurs of ['app_readonly', 'postgres', 'sb_db_0123', 'sb_db_0123456789abcdef; DROP', 'sb_"x"_0123456789abcdef']) {
      expect(notOurs).not.toMatch(LOGIN_NAME);
    }
  });

  it('the lint refuses a postgres grant whose connection_secret is also handed out by a secret grant (in any role)', async () => {
    const leak = role(`${pg({})}  - type: secret\n    name: PG_ADMIN\n`);
    const findings = (await checkPolicy(files(leak))).findings.filter((f) => f.rule === 'secret-names-broker-key');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'error' });
    const otherRole = [
      ...files(role(pg({}))),
      {
        path: 'roles/leak.yaml',
        text: `role: leak\nissuer: ci\nmax_ttl: 5m\nallow:\n  - repository_id: "2"\ngrants:\n  - type: secret\n    name: PG_ADMIN\n    env: X\n`,
      },
    ];
    expect((await checkPolicy(otherRole)).findings.filter((f) => f.rule === 'secret-names-broker-key')).toHaveLength(1);
    const fine = role(`${pg({})}  - type: secret\n    name: OTHER\n`);
    expect((await checkPolicy(files(fine))).findings.filter((f) => f.rule === 'secret-names-broker-key')).toEqual([]);
  });
});

describe('postgres credentials in the clients', () => {
  it('a postgres credential becomes the libpq variables under its env_prefix and DATABASE_URL, every value masked but the expiry', async () => {
    const { parseExchangeResponse, PUBLIC_FIELDS } = await import('../../../client/credentials.ts');
    const { envVarsFor } = await import('../../../client/env.ts');
    const cred = {
      type: 'postgres',
      username: 'sb_db_0123456789abcdef',
      password: 'p@ss',
      host: 'db',
      port: '5432',
      database: 'app',
      url: 'postgres://u:p@db:5432/app',
      expires_at: '2026-01-01T00:00:00Z',
      env_prefix: 'APP_PG',
    };
    const parsed = parseExchangeResponse({ request_id: 'r', role: 'db', expires_at: 'x', credentials: [cred] });
    expect(parsed.ok).toBe(true);
    const vars = envVarsFor(parsed.ok ? parsed.response.credentials : []);
    expect(vars).toEqual({
      ok: true,
      vars: [
        { name: 'APP_PGHOST', value: 'db' },
        { name: 'APP_PGPORT', value: '5432' },
        { name: 'APP_PGDATABASE', value: 'app' },
        { name: 'APP_PGUSER', value: 'sb_db_0123456789abcdef' },
        { name: 'APP_PGPASSWORD', value: 'p@ss' },
        { name: 'DATABASE_URL', value: 'postgres://u:p@db:5432/app' },
      ],
    });
    for (const field of ['username', 'password', 'host', 'port', 'database', 'url']) expect(PUBLIC_FIELDS.has(field)).toBe(false);
    expect(parseExchangeResponse({ request_id: 'r', role: 'db', expires_at: 'x', credentials: [{ ...cred, password: 1 }] }).ok).toBe(false);
  });
});
