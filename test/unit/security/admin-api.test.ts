// Remote administration (/v1/admin/...) on the composed broker over memory stores: only the admin token opens
// it, a secret value is taken only sealed to the broker's key (for that name, fresh, once), it is never read
// back, and it never appears in an audit record or a log line. Every call, refused ones too, is audited.
import { beforeEach, describe, expect, it } from 'vitest';
import { SEAL_ALG, sealValue, type SealedValue, type SealPublicKey } from '../../../broker/src/admin/seal.ts';
import { composeBroker, type Broker } from '../../../broker/src/compose.ts';
import { compilePolicy } from '../../../broker/src/policy/compile.ts';
import { loadPolicy } from '../../../broker/src/policy/load.ts';
import { MemoryRateCounter } from '../../../broker/src/ratelimit.ts';
import { parseSettings } from '../../../broker/src/settings.ts';
import { generateKekBase64, importKek } from '../../../broker/src/store/envelope.ts';
import { utf8 } from '../../../broker/src/util/encoding.ts';
import { ISSUERS_YAML, ROLE_APP, T0 } from '../../helpers/broker.ts';
import {
  MemoryAuditStore,
  MemoryCheckpointStore,
  MemoryKeyStore,
  MemoryReplayGuard,
  MemoryRevocationStore,
  MemorySecretStore,
} from '../../helpers/memory-stores.ts';

const TOKEN = 'admin-token-0123456789abcdefghij';
const VALUE = 'sk_live_do-not-leak-9f3a7c';

let broker: Broker;
let audit: MemoryAuditStore;
let logs: string[];
const clock = { now: T0 };

beforeEach(async () => {
  const loaded = await loadPolicy([
    { path: 'issuers.yaml', text: ISSUERS_YAML },
    { path: 'roles/app.yaml', text: ROLE_APP },
  ]);
  if (!loaded.ok) throw new Error('policy');
  const policy = compilePolicy(loaded.policy);
  const parsed = parseSettings({ BROKER_ADMIN_TOKEN: TOKEN });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  audit = new MemoryAuditStore();
  logs = [];
  broker = composeBroker(
    {
      stores: {
        replay: new MemoryReplayGuard(),
        audit,
        checkpoints: new MemoryCheckpointStore(audit),
        secrets: new MemorySecretStore(),
        keys: new MemoryKeyStore(),
        revocations: new MemoryRevocationStore(),
        rateCounter: new MemoryRateCounter(),
      },
      keks: { current: await importKek(generateKekBase64()), previous: [] },
      fetch: () => Promise.reject(new Error('no network in this test')),
      now: () => clock.now,
      log: (line) => logs.push(JSON.stringify(line)),
      clientIp: () => '192.0.2.1',
    },
    parsed.settings,
    () => policy,
  );
});

const bearer = (t = TOKEN) => ({ authorization: `Bearer ${t}` });
const call = (method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}) =>
  Promise.resolve(
    broker.app.request(path, {
      method,
      headers: { ...bearer(), 'content-type': 'application/json', ...opts.headers },
      ...(opts.body === undefined ? {} : { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) }),
    }),
  );
const sealKey = async () => (await (await call('GET', '/v1/admin/seal-key')).json()) as SealPublicKey;
const seal = async (name: string, value = VALUE, iat = Math.floor(clock.now / 1000)) => sealValue(await sealKey(), name, utf8(value), iat);
const put = (name: string, sealed: unknown) => call('PUT', `/v1/admin/secrets/${name}`, { body: { sealed } });
const records = () => audit.entries.map((e) => JSON.parse(e.record) as Record<string, unknown> & { query?: Record<string, string> });
const lastRecord = () => records().at(-1)!;
const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;

describe('admin API: only the admin credential opens it', () => {
  const routes: [string, string][] = [
    ['GET', '/v1/admin/seal-key'],
    ['GET', '/v1/admin/secrets'],
    ['PUT', '/v1/admin/secrets/API_KEY'],
    ['POST', '/v1/admin/secrets/API_KEY/rotate'],
    ['GET', '/v1/admin/keys'],
    ['POST', '/v1/admin/keys/rotate'],
    ['GET', '/v1/admin/audit/export'],
    ['POST', '/v1/admin/audit/checkpoint'],
  ];

  it('every admin route refuses a call without the admin token, with a wrong token, or with a malformed header, and audits each refusal', async () => {
    for (const [method, path] of routes) {
      for (const headers of [
        { authorization: '' },
        bearer('admin-token-0123456789abcdefghiX'),
        bearer(`${TOKEN}x`),
        { authorization: `Basic ${TOKEN}` },
        { authorization: `Bearer  ${TOKEN}` },
        { authorization: TOKEN },
      ]) {
        const body = method === 'GET' ? {} : { body: { sealed: await seal('API_KEY') } };
        const before = audit.entries.length;
        const res = await call(method, path, { headers, ...body });
        expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toContain('Bearer');
        expect(audit.entries.length).toBe(before + 1);
        expect(lastRecord()).toMatchObject({ action: 'admin', code: 'ERR_TOKEN_INVALID' });
      }
    }
    // Nothing was stored by any refused put.
    expect((await broker.vault.list()).filter((s) => s.name === 'API_KEY')).toEqual([]);
  });

  it('without an admin credential configured, the admin routes do not exist', async () => {
    const parsed = parseSettings({});
    if (!parsed.ok) throw new Error('settings');
    const plainAudit = new MemoryAuditStore();
    const plain = composeBroker(
      {
        stores: {
          replay: new MemoryReplayGuard(),
          audit: plainAudit,
          checkpoints: new MemoryCheckpointStore(plainAudit),
          secrets: new MemorySecretStore(),
          keys: new MemoryKeyStore(),
          revocations: new MemoryRevocationStore(),
          rateCounter: new MemoryRateCounter(),
        },
        keks: { current: await importKek(generateKekBase64()), previous: [] },
        fetch: () => Promise.reject(new Error('offline')),
        now: () => clock.now,
        log: () => {},
        clientIp: () => null,
      },
      parsed.settings,
      broker.deps.policy,
    );
    for (const [method, path] of routes) expect((await plain.app.request(path, { method, headers: bearer() })).status).toBe(404);
  });
});

describe('admin API: a secret value is accepted only sealed to the broker, for its name, fresh and once', () => {
  it('a sealed put stores the value, and the value is never read back, audited or logged', async () => {
    const res = await put('API_KEY', await seal('API_KEY'));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'API_KEY', version: 1 });
    expect((await broker.vault.get('API_KEY'))?.value).toBe(VALUE);
    expect(lastRecord()).toMatchObject({ action: 'admin', decision: 'allow', query: { op: 'secret_put', name: 'API_KEY', version: '1' } });
    const list = await (await call('GET', '/v1/admin/secrets')).text();
    expect(list).toContain('API_KEY');
    // The broker's own seal key is no secret an admin lists or overwrites.
    expect(list).not.toContain('broker.');
    for (const text of [list, ...audit.entries.map((e) => e.record), ...logs]) expect(text).not.toContain(VALUE);
  });

  it('a value sent unsealed is refused and never stored', async () => {
    for (const body of [
      { value: VALUE },
      { sealed: VALUE },
      { sealed: { value: VALUE } },
      { sealed: await seal('API_KEY'), value: VALUE },
    ]) {
      const res = await call('PUT', '/v1/admin/secrets/API_KEY', { body });
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toBe('ERR_REQUEST_INVALID');
    }
    expect(records().map((r) => r.reason)).toEqual([
      'done',
      'admin.value_unsealed',
      'admin.value_unsealed',
      'admin.seal_malformed',
      'admin.value_unsealed',
    ]);
    expect(await broker.vault.get('API_KEY')).toBeNull();
    for (const text of [...audit.entries.map((e) => e.record), ...logs]) expect(text).not.toContain(VALUE);
  });

  it('a seal made for another secret name is refused (the name is bound into the seal)', async () => {
    for (const [sealedFor, putAs] of [
      ['OTHER', 'API_KEY'],
      ['API_KEY', 'API_KEY2'],
      ['api_key', 'API_KEY'],
    ] as const) {
      const res = await put(putAs, await seal(sealedFor));
      expect(res.status).toBe(400);
      expect(lastRecord().reason).toBe('admin.seal_open_failed');
    }
    // The rotate route binds the name the same way.
    const rot = await call('POST', '/v1/admin/secrets/API_KEY/rotate', { body: { sealed: await seal('OTHER') } });
    expect(rot.status).toBe(400);
    expect((await broker.vault.list()).map((s) => s.name)).not.toContain('API_KEY');
  });

  it('a replayed sealed payload is refused: a captured seal cannot put an old value back', async () => {
    const old = await seal('API_KEY', 'old-value');
    expect((await put('API_KEY', old)).status).toBe(200);
    expect((await put('API_KEY', await seal('API_KEY', 'new-value'))).status).toBe(200);
    const replayed = await put('API_KEY', old);
    expect(replayed.status).toBe(401);
    expect(await errorOf(replayed)).toBe('ERR_TOKEN_REPLAYED');
    expect(lastRecord().reason).toBe('admin.seal_replayed');
    // Nor through rotate.
    expect((await call('POST', '/v1/admin/secrets/API_KEY/rotate', { body: { sealed: old } })).status).toBe(401);
    expect((await broker.vault.get('API_KEY'))?.value).toBe('new-value');
  });

  it('a stale or future-dated seal is refused, whatever the replay store remembers', async () => {
    const now = Math.floor(clock.now / 1000);
    for (const iat of [now - 301, now - 86400, now + 120]) {
      const res = await put('API_KEY', await seal('API_KEY', VALUE, iat));
      expect(res.status).toBe(400);
      expect(lastRecord().reason).toBe('admin.seal_expired');
    }
    // Moving iat to pass the window breaks the seal: iat is bound as associated data.
    const aged = await seal('API_KEY', VALUE, now - 1000);
    expect((await put('API_KEY', { ...aged, iat: now })).status).toBe(400);
    expect(lastRecord().reason).toBe('admin.seal_open_failed');
  });

  it('an altered seal, a seal to another key, or a seal with an invalid point is refused', async () => {
    const good = await seal('API_KEY');
    const flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[bytes.length - 1]! ^= 1;
      return bytes.toString('base64');
    };
    const otherKey = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
    const otherJwk = await crypto.subtle.exportKey('jwk', otherKey.publicKey);
    const toOther = await sealValue(
      { kid: good.kid, alg: SEAL_ALG, jwk: { kty: 'EC', crv: 'P-256', x: otherJwk.x!, y: otherJwk.y! } },
      'API_KEY',
      utf8(VALUE),
      good.iat,
    );
    const cases: [SealedValue | Record<string, unknown>, string][] = [
      [{ ...good, ct: flip(good.ct) }, 'admin.seal_open_failed'],
      [{ ...good, iv: flip(good.iv) }, 'admin.seal_open_failed'],
      [{ ...good, epk: flip(good.epk) }, 'admin.seal_malformed'],
      [{ ...good, epk: Buffer.alloc(65, 4).toString('base64') }, 'admin.seal_malformed'],
      [{ ...good, kid: 'ffffffffffffffff' }, 'admin.seal_key_unknown'],
      [toOther, 'admin.seal_open_failed'],
      [{ ...good, alg: 'none' }, 'admin.seal_malformed'],
      [{ ...good, extra: 1 }, 'admin.seal_malformed'],
    ];
    for (const [sealed, reason] of cases) {
      const res = await put('API_KEY', sealed);
      expect(res.status, reason).toBe(400);
      expect(lastRecord().reason).toBe(reason);
    }
    // None of the refused seals used up the good one.
    expect((await put('API_KEY', good)).status).toBe(200);
  });

  it("names reserved for the broker's own keys cannot be written over the API", async () => {
    const res = await put('broker.admin-seal-key', await seal('broker.admin-seal-key'));
    expect(res.status).toBe(400);
    expect(lastRecord().reason).toBe('admin.secret_reserved');
  });

  it('rotate refuses a secret that does not exist, and adds a version to one that does', async () => {
    expect((await call('POST', '/v1/admin/secrets/API_KEY/rotate', { body: { sealed: await seal('API_KEY') } })).status).toBe(404);
    expect((await put('API_KEY', await seal('API_KEY', 'v1'))).status).toBe(200);
    const rot = await call('POST', '/v1/admin/secrets/API_KEY/rotate', { body: { sealed: await seal('API_KEY', 'v2') } });
    expect(await rot.json()).toMatchObject({ version: 2 });
    expect((await broker.vault.get('API_KEY'))?.value).toBe('v2');
  });
});

describe("admin API: a secret's rotation policy (max_age)", () => {
  it('max_age is a positive whole number of seconds or null, set on put, carried by rotate, listed, audited', async () => {
    const body = async (extra: Record<string, unknown>) => ({ sealed: await seal('ROT'), ...extra });
    for (const bad of [0, -1, 1.5, '30d', true, {}, [86400], 2 ** 60]) {
      const res = await call('PUT', '/v1/admin/secrets/ROT', { body: await body({ max_age: bad }) });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(lastRecord().reason).toBe('admin.max_age');
    }
    expect(await broker.vault.get('ROT')).toBeNull();
    const res = await call('PUT', '/v1/admin/secrets/ROT', { body: await body({ max_age: 86_400 }) });
    expect(await res.json()).toMatchObject({ version: 1, max_age: 86_400 });
    expect(lastRecord().query).toMatchObject({ op: 'secret_put', max_age: '86400' });
    const rot = await call('POST', '/v1/admin/secrets/ROT/rotate', { body: await body({}) });
    expect(await rot.json()).toMatchObject({ version: 2, max_age: 86_400 });
    const listed = (await (await call('GET', '/v1/admin/secrets')).json()) as { secrets: Record<string, unknown>[] };
    expect(listed.secrets).toEqual([expect.objectContaining({ name: 'ROT', version: 2, max_age: 86_400 })]);
    const cleared = await call('POST', '/v1/admin/secrets/ROT/rotate', { body: await body({ max_age: null }) });
    expect(await cleared.json()).not.toHaveProperty('max_age');
  });
});

describe('admin API: keys and audit', () => {
  it('keys rotate adds a signing key, keys list shows it, and both are audited', async () => {
    await broker.issuer.ensureKey();
    const rot = await call('POST', '/v1/admin/keys/rotate', { body: { activate_in: 0 } });
    expect(rot.status).toBe(200);
    const { keys } = (await (await call('GET', '/v1/admin/keys')).json()) as { keys: { kid: string; state: string }[] };
    expect(keys).toHaveLength(2);
    expect(keys.map((k) => k.state)).toContain('signing');
    expect(records().map((r) => r.query?.op)).toEqual(['keys_rotate', 'keys_list']);
    for (const bad of [{ activate_in: -1 }, { activate_in: '1h' }, { activate_in: 1e12 }, { other: 1 }]) {
      expect((await call('POST', '/v1/admin/keys/rotate', { body: bad })).status).toBe(400);
    }
  });

  it('audit export ends with a checkpoint signed by the broker over the last exported record', async () => {
    await put('API_KEY', await seal('API_KEY'));
    const res = await call('GET', '/v1/admin/audit/export');
    expect(res.headers.get('content-type')).toContain('ndjson');
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const checkpoint = lines.at(-1)!.checkpoint as { seq: number };
    expect(checkpoint.seq).toBe(lines.at(-2)!.seq);
    expect(records().at(-1)).toMatchObject({ action: 'admin', query: { op: 'audit_export' } });
    const cp = await call('POST', '/v1/admin/audit/checkpoint');
    expect(cp.status).toBe(200);
  });
});
