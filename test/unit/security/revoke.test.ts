// POST /v1/revoke, adversarially: ownership is checked atomically in the store (a foreign identity can neither
// take an entry nor make the owner's revoke miss it, whatever the latency between statements), and "not
// yours" answers exactly like "nothing there". Run over the memory and node:sqlite adapters; the D1 variant
// is test/workers/revoke.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, SqliteRevocationStore } from '../../../broker/entry/node/sqlite.ts';
import { createApp } from '../../../broker/src/app.ts';
import type { Minter } from '../../../broker/src/mint/types.ts';
import type { Claims } from '../../../broker/src/policy/match.ts';
import { generateKekBase64, importKek } from '../../../broker/src/store/envelope.ts';
import type { RevocationStore } from '../../../broker/src/store/ports.ts';
import { revocationOwner, RevocationVault } from '../../../broker/src/store/revocations.ts';
import { AUDIENCE, buildTestBroker, ISSUER_URL, T0, type TestBroker } from '../../helpers/broker.ts';
import { baseClaims, sign } from '../../helpers/issuer.ts';
import { sleep, withLatency } from '../../helpers/latency.ts';
import { MemoryRevocationStore } from '../../helpers/memory-stores.ts';

const NOW_S = T0 / 1000;
const OWNER_CLAIMS = {
  sub: 'repo:acme/web:ref:refs/heads/main',
  repository_id: '123',
  ref: 'refs/heads/main',
  run_id: '9001',
  run_attempt: '1',
};
const TARGET = '01JAAAAAAAAAAAAAAAAAAAAAA1';
const MISSING = '01JBBBBBBBBBBBBBBBBBBBBBB2';

const adapters: [string, () => { store: RevocationStore; close(): void }][] = [
  ['memory', () => ({ store: new MemoryRevocationStore(), close() {} })],
  [
    'node:sqlite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'sb-revoke-'));
      const db = openDatabase(dir);
      const close = () => {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      };
      return { store: new SqliteRevocationStore(db), close };
    },
  ],
];

const ITEMS = [{ type: 'github', data: { api_url: 'https://api.github.test', token: 'ghs_owned' } }];

describe.each(adapters)('RevocationVault over %s', (_name, open) => {
  let opened: ReturnType<typeof open>;
  let kek: Awaited<ReturnType<typeof importKek>>;
  beforeEach(async () => {
    opened = open();
    kek = await importKek(generateKekBase64());
  });
  afterEach(() => opened.close());

  it('ownership is checked atomically in the store: a foreign revoke racing the owner cannot make it find nothing', async () => {
    const { store, executed } = withLatency(opened.store, 40);
    const vault = new RevocationVault(store, { current: kek });
    await vault.save(TARGET, 'owner', NOW_S + 600, ITEMS, NOW_S);
    const foreign = vault.take(TARGET, 'stranger');
    // The owner's take reaches the store after the stranger's, while the stranger's call is still in flight.
    await executed;
    const own = await vault.take(TARGET, 'owner');
    expect(own).toEqual({ status: 'ok', items: ITEMS });
    expect((await foreign).status).not.toBe('ok');
    expect((await vault.take(TARGET, 'owner')).status).toBe('none');
  });

  it('ownership is checked atomically in the store: many concurrent foreign revokes leave the entry to its owner', async () => {
    const { store } = withLatency(opened.store, 15);
    const vault = new RevocationVault(store, { current: kek });
    await vault.save(TARGET, 'owner', NOW_S + 600, ITEMS, NOW_S);
    const strangers = Array.from({ length: 8 }, (_, i) => sleep(i * 7).then(() => vault.take(TARGET, `stranger-${i}`)));
    const own = sleep(20).then(() => vault.take(TARGET, 'owner'));
    const results = await Promise.all([...strangers, own]);
    expect(results.filter((r) => r.status === 'ok')).toEqual([{ status: 'ok', items: ITEMS }]);
    expect((await own).status).toBe('ok');
  });

  it('ownership is checked atomically in the store: a foreign take neither returns nor disturbs the entry', async () => {
    await opened.store.put({
      request_id: TARGET,
      owner: 'owner',
      expires_at: NOW_S + 600,
      kek_id: 'k',
      wrapped_key: 'w',
      iv: 'i',
      ciphertext: 'c',
    });
    for (const owner of ['stranger', '', 'OWNER', 'owner ', `owner' OR '1'='1`]) expect(await opened.store.take(TARGET, owner)).toBeNull();
    expect(await opened.store.has(TARGET)).toBe(true);
    expect(await opened.store.take(TARGET, 'owner')).toMatchObject({ request_id: TARGET, owner: 'owner' });
    expect(await opened.store.has(TARGET)).toBe(false);
    expect(await opened.store.take(TARGET, 'owner')).toBeNull();
  });
});

describe.each(adapters)('POST /v1/revoke over %s', (_name, open) => {
  let b: TestBroker;
  let opened: ReturnType<typeof open>;
  let app: ReturnType<typeof createApp>;
  let revoked: string[];
  let latency: ReturnType<typeof withLatency>;

  beforeEach(async () => {
    b = await buildTestBroker();
    opened = open();
    revoked = [];
    const github: Minter = {
      mint: () => Promise.reject(new Error('not used')),
      revoke: async (data) => {
        revoked.push(String(data.token));
        return { ok: true };
      },
    };
    latency = withLatency(opened.store, 30);
    const vault = new RevocationVault(latency.store, { current: await importKek(generateKekBase64()) });
    app = createApp({ ...b.deps, revocations: vault, minters: { ...b.deps.minters, github } });
    const owner = await revocationOwner({ iss: ISSUER_URL, ...OWNER_CLAIMS } as Claims);
    await vault.save(TARGET, owner, NOW_S + 600, ITEMS, NOW_S);
  });
  afterEach(() => opened.close());

  const token = (extra: Record<string, unknown> = {}) =>
    sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, { ...OWNER_CLAIMS, ...extra }));
  const revoke = async (tokenText: string, requestId: string) => {
    const res = await app.request('/v1/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: tokenText, request_id: requestId }),
    });
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
  };
  /** What a caller can compare: everything but the ids that differ on every request anyway. */
  const visible = (r: Awaited<ReturnType<typeof revoke>>) => {
    const { request_id: _id, revoked_request_id: _target, ...rest } = r.body;
    return { status: r.status, type: r.type, body: rest, keys: Object.keys(r.body).sort() };
  };

  const strangers: [string, () => Promise<string>][] = [
    ['another run', () => token({ run_id: '1' })],
    ['another attempt of the run', () => token({ run_attempt: '2' })],
    ['another subject', () => token({ sub: 'repo:acme/web:ref:refs/heads/dev' })],
    ['another repository', () => token({ repository_id: '124' })],
    ['the run id as a number', () => token({ run_id: 9001 })],
    ['no run id at all', () => sign(b.key, baseClaims(ISSUER_URL, AUDIENCE, NOW_S, { ...OWNER_CLAIMS }), { omit: ['run_id'] })],
    ['another issuer', () => sign(b.otherKey, baseClaims('https://other-issuer.test', AUDIENCE, NOW_S, { ...OWNER_CLAIMS }))],
  ];

  it.each(strangers)('"not yours" and "nothing there" answer identically (status and body): %s', async (_case, stranger) => {
    const foreign = await revoke(await stranger(), TARGET);
    const missing = await revoke(await stranger(), MISSING);
    const ownMissing = await revoke(await token(), MISSING);
    expect(visible(foreign)).toEqual(visible(missing));
    expect(visible(foreign)).toEqual(visible(ownMissing));
    expect(foreign.status).toBe(200);
    expect(foreign.body).toMatchObject({ revoked_request_id: TARGET, revoked: [] });
    expect(revoked).toEqual([]);
    // The stranger changed nothing: the owner still revokes.
    const own = await revoke(await token(), TARGET);
    expect([own.status, own.body.revoked]).toEqual([200, [{ type: 'github', ok: true }]]);
    expect(revoked).toEqual(['ghs_owned']);
  });

  it('"not yours" and "nothing there" are audited with distinct reasons', async () => {
    await revoke(await token({ run_id: '1' }), TARGET);
    await revoke(await token({ run_id: '1' }), MISSING);
    await revoke(await token(), TARGET);
    const records = b.audit.records().filter((r) => r.action === 'revoke');
    expect(records.map((r) => [r.target_request_id, r.decision, r.reason, r.status])).toEqual([
      [TARGET, 'deny', 'revoke.not_owner', 200],
      [MISSING, 'allow', 'done', 200],
      [TARGET, 'allow', 'done', 200],
    ]);
    expect(records[2]!.credentials).toEqual([{ type: 'github', target: 'revoked' }]);
  });

  it('ownership is checked atomically in the store: the owner revokes while a stranger revoke is in flight', async () => {
    const foreign = revoke(await token({ run_id: '1' }), TARGET);
    const ownToken = await token();
    await latency.executed;
    const own = await revoke(ownToken, TARGET);
    expect([own.status, own.body.revoked]).toEqual([200, [{ type: 'github', ok: true }]]);
    expect((await foreign).body.revoked).toEqual([]);
    expect(revoked).toEqual(['ghs_owned']);
  });
});
