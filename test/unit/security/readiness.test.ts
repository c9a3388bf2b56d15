// Readiness and the KEK: a broker started with a KEK other than the one its data was sealed with refuses
// to start and names the KEK; /readyz is 200 only when every check passes, else 503 naming the failing
// checks and nothing else.
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKekBase64, importKek } from '../../../broker/src/store/envelope.ts';
import { runCli } from '../../helpers/processes.ts';
import { opsFixture, type OpsFixture } from '../../helpers/ops-broker.ts';

let fx: OpsFixture;
beforeAll(async () => {
  fx = await opsFixture('ready');
});
afterAll(async () => {
  await fx.close();
});

const db = (data: string) => new DatabaseSync(join(fx.dir, data, 'broker.db'));

describe('a broker started with a KEK other than the one its data was sealed with refuses to start, naming the KEK', () => {
  it('refuses with the wrong BROKER_KEK (signing keys and secrets sealed with another), naming both KEK ids', async () => {
    const first = await fx.start({ data: 'kek' });
    await first.broker.stop();
    const wrong = generateKekBase64();
    const [right, other] = [await importKek(fx.kek), await importKek(wrong)];
    const attempt = fx.start({ data: 'kek', kek: wrong });
    await expect(attempt).rejects.toThrow(
      `BROKER_KEK (KEK id ${other.id}) is not the KEK this data was sealed with (sealed with KEK id ${right.id})`,
    );
    // Nothing was created under the wrong KEK meanwhile: the store still opens with the right one.
    const d = db('kek');
    expect((d.prepare('SELECT kek_id FROM signing_keys').all() as { kek_id: string }[]).map((r) => r.kek_id)).toEqual([right.id]);
    d.close();
    const again = await fx.start({ data: 'kek' });
    expect((await again.exchange(await fx.token())).body.credentials?.[0]?.value).toBe('the-secret-value');
    await again.broker.stop();
  });

  it('refuses when only the secrets remain sealed with another KEK (keys deleted), and when only keys exist', async () => {
    const s = await fx.start({ data: 'kek2' });
    await s.broker.stop();
    const d = db('kek2');
    d.exec('DELETE FROM signing_keys');
    d.close();
    await expect(fx.start({ data: 'kek2', kek: generateKekBase64() })).rejects.toThrow(
      /is not the KEK this data was sealed with \(sealed with KEK id [0-9a-f]{16}\)/,
    );

    const k = await fx.start({ data: 'kek3' });
    await k.broker.stop();
    const d3 = db('kek3');
    d3.exec('DELETE FROM secrets; DELETE FROM secret_heads');
    d3.close();
    await expect(fx.start({ data: 'kek3', kek: generateKekBase64() })).rejects.toThrow('is not the KEK this data was sealed with');
  });

  it('the CLI serve exits non-zero naming BROKER_KEK, and never prints the key', async () => {
    const s = await fx.start({ data: 'kek4' });
    await s.broker.stop();
    const wrong = generateKekBase64();
    const r = await runCli(['serve', '--port', '0', '--policies', fx.policies, '--data', join(fx.dir, 'kek4')], {
      env: { BROKER_KEK: wrong },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('BROKER_KEK (KEK id');
    expect(r.stderr).toContain('is not the KEK this data was sealed with');
    expect(r.stderr + r.stdout).not.toContain(wrong);
    expect(r.stderr + r.stdout).not.toContain(fx.kek);
  }, 30_000);

  it('starts during a rotation (the old KEK in BROKER_KEK_PREVIOUS), on a fresh store, and with a tampered key row it reports instead', async () => {
    const s = await fx.start({ data: 'kek5' });
    await s.broker.stop();
    const rotated = await fx.start({ data: 'kek5', kek: generateKekBase64(), env: { BROKER_KEK_PREVIOUS: fx.kek } });
    expect((await fetch(`${rotated.broker.url}/readyz`)).status).toBe(200);
    await rotated.broker.stop();
    const fresh = await fx.start({ data: 'kek6', kek: generateKekBase64() });
    await fresh.broker.stop();
  });
});

describe('/readyz is 200 only when the KEK, signing keys, stores, policy set and checkpoints are in order; else 503 with the failing check names', () => {
  it('ready on a healthy broker, with every check named', async () => {
    const b = await fx.start({ data: 'ready1' });
    const res = await fetch(`${b.broker.url}/readyz`);
    const body = (await res.json()) as Record<string, any>;
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ status: 'ready', failing: [] });
    expect(Object.keys(body.checks).sort()).toEqual(['audit_checkpoints', 'kek', 'policy', 'shutting_down', 'signing_keys', 'stores']);
    // Liveness stays what it was.
    expect(((await (await fetch(`${b.broker.url}/healthz`)).json()) as Record<string, unknown>).status).toBe('ok');
    await b.broker.stop();
  });

  it('a secret past its max_age is counted in /readyz details (names only in the log) and leaves the broker ready', async () => {
    const b = await fx.start({ data: 'rotation' });
    const fresh = (await (await fetch(`${b.broker.url}/readyz`)).json()) as Record<string, any>;
    expect(fresh.details).toEqual({ secrets_past_max_age: 0 });
    // S (stored at start) gets a 1-hour policy and becomes two hours old; FRESH has a policy and is new.
    const d = db('rotation');
    d.exec("UPDATE secrets SET max_age = 3600, created_at = created_at - 7200 WHERE name = 'S'");
    d.close();
    await b.broker.vault.put('FRESH_ONE', 'x', Math.floor(Date.now() / 1000), { maxAge: 3600 });
    const res = await fetch(`${b.broker.url}/readyz`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(JSON.parse(text)).toMatchObject({ status: 'ready', failing: [], details: { secrets_past_max_age: 1 } });
    expect(text).not.toContain('"S@');
    expect(b.lines.some((l) => l.event === 'readiness.secret_rotation_overdue' && JSON.stringify(l.secrets) === '["S@1"]')).toBe(true);
    await b.broker.stop();
  });

  it('a refused (planted) signing key fails signing_keys; a store that stops answering fails stores; the body names checks only', async () => {
    const b = await fx.start({ data: 'ready2' });
    const d = db('ready2');
    const row = d.prepare('SELECT * FROM signing_keys').get() as Record<string, string | number>;
    d.prepare(
      'INSERT INTO signing_keys (kid, alg, created_at, activates_at, public_jwk, kek_id, wrapped_key, iv, ciphertext) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run('planted', 'RS256', row.created_at!, row.activates_at!, row.public_jwk!, row.kek_id!, row.wrapped_key!, row.iv!, 'AAAA');
    d.close();
    const res = await fetch(`${b.broker.url}/readyz`);
    const text = await res.text();
    expect(res.status).toBe(503);
    expect(JSON.parse(text)).toMatchObject({ status: 'not_ready', failing: ['signing_keys'] });
    expect(text).not.toContain('planted');
    expect(b.lines.some((l) => l.event === 'readiness.failed' && l.check === 'signing_keys' && String(l.detail).includes('planted'))).toBe(
      true,
    );

    b.broker.close(); // the database goes away under the running server
    const down = await fetch(`${b.broker.url}/readyz`);
    const body = (await down.json()) as { failing: string[] };
    expect(down.status).toBe(503);
    expect(body.failing).toContain('stores');
    await b.broker.stop().catch(() => {});
  });

  it('an audit chain cut at its start fails audit_checkpoints; a draining broker fails shutting_down', async () => {
    const b = await fx.start({ data: 'ready3' });
    for (let i = 0; i < 3; i++) expect((await b.exchange(await fx.token())).status).toBe(200);
    const d = db('ready3');
    d.exec('DELETE FROM audit WHERE seq = 1');
    d.close();
    await b.broker.checkpointer.tick();
    const res = await fetch(`${b.broker.url}/readyz`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { failing: string[] }).failing).toEqual(['audit_checkpoints']);
    b.broker.lifecycle.draining = true;
    expect(((await (await fetch(`${b.broker.url}/readyz`)).json()) as { failing: string[] }).failing).toContain('shutting_down');
    await b.broker.stop();
  });
});
