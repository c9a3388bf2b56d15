// Audit review against real processes: `secret-broker serve` with an admin token and frequent checkpoints,
// the admin API over HTTP, and the audit CLI (list, export, verify, prune, checkpoint) on its data folder,
// including every kind of tampering the acceptance names, each reported at its place.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEntry } from '../../broker/src/audit/chain.ts';
import { loadOrCreateIssuerKey, serveTestIssuer, signTestToken, type IssuerKey, type TestIssuerServer } from '../../cli/lib/test-issuer.ts';
import { runCli, serveBroker, type ServedBroker } from '../helpers/processes.ts';

const AUD = 'https://broker.audit.test';
const TOKEN = 'e2e-admin-0123456789abcdefghijklmnop';

let dir: string;
let pol: string;
let data: string;
let key: IssuerKey;
let issuer: TestIssuerServer;
let broker: ServedBroker;

async function exchange(claims: Record<string, unknown>, role: string, url = broker.url): Promise<number> {
  const token = await signTestToken(key, { iss: issuer.url, aud: AUD, sub: `repo:${claims.repository}`, ...claims });
  const res = await fetch(`${url}/v1/exchange`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, role }),
  });
  await res.arrayBuffer();
  return res.status;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-audit-'));
  pol = join(dir, 'policies');
  data = join(dir, 'data');
  ({ key } = await loadOrCreateIssuerKey(join(dir, 'issuer-key.json')));
  issuer = await serveTestIssuer(key);
  mkdirSync(join(pol, 'roles'), { recursive: true });
  writeFileSync(join(pol, 'issuers.yaml'), `issuers:\n  local:\n    url: ${issuer.url}\n    audience: ${AUD}\n`);
  writeFileSync(
    join(pol, 'roles/deploy.yaml'),
    `role: deploy\nissuer: local\nmax_ttl: 5m\nallow:\n  - repository_id: "42"\n    ref: refs/heads/main\ndeny:\n  - event_name: pull_request_target\ngrants:\n  - type: secret\n    name: API_KEY\n`,
  );
  const put = await runCli(['secret', 'put', 'API_KEY', '--data', data, '--policies', pol], { input: 'v4lue\n' });
  expect(put.code, put.stderr).toBe(0);
  broker = await serveBroker(['--dev', '--policies', pol, '--data', data], {
    BROKER_ADMIN_TOKEN: TOKEN,
    BROKER_AUDIT_CHECKPOINT_RECORDS: '4',
  });

  const web = { repository: 'acme/web', repository_id: '42', ref: 'refs/heads/main', event_name: 'push' };
  const statuses = [
    await exchange(web, 'deploy'),
    await exchange({ ...web, ref: 'refs/heads/feature' }, 'deploy'),
    await exchange(web, 'deploy'),
    await exchange({ ...web, event_name: 'pull_request_target' }, 'deploy'),
    await exchange({ repository: 'acme/other', repository_id: '7', ref: 'refs/heads/main' }, 'deploy'),
    await exchange(web, 'deploy'),
    await exchange(web, 'no-such-role'),
    await exchange(web, 'deploy'),
    await exchange(web, 'deploy'),
  ];
  expect(statuses).toEqual([200, 403, 200, 403, 403, 200, 403, 200, 200]);
}, 90_000);

afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
  rmSync(dir, { recursive: true, force: true });
});

const audit = (qs: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
  fetch(`${broker.url}/v1/audit${qs}`, { headers }).then(async (res) => ({
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as Record<string, any>,
  }));

describe('GET /v1/audit on a running broker', () => {
  it('refuses a request without the admin token, and one with a wrong token, with 401', async () => {
    const none = await audit('?decision=deny', {});
    expect([none.status, none.body.error, none.body.records]).toEqual([401, 'ERR_TOKEN_INVALID', undefined]);
    const wrong = await audit('?decision=deny', { authorization: `Bearer ${TOKEN.slice(0, -1)}X` });
    expect([wrong.status, wrong.body.error, wrong.body.records]).toEqual([401, 'ERR_TOKEN_INVALID', undefined]);
  });

  it('filters, pages with the cursor, and audits each admin query with its filters', async () => {
    const denies = await audit('?decision=deny&action=exchange');
    expect(denies.status).toBe(200);
    expect(denies.body.records.map((r: any) => r.record.reason)).toEqual([
      'policy.no_such_role',
      'policy.no_allow_matched',
      'policy.deny_matched',
      'policy.no_allow_matched',
    ]);
    const other = await audit('?repository=acme/other');
    expect(other.body.records.map((r: any) => r.seq)).toEqual([5]);
    const reason = await audit('?reason=policy.deny_matched');
    expect(reason.body.records.map((r: any) => r.record.identity.event_name)).toEqual(['pull_request_target']);

    const seqs: number[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = await audit(`?action=exchange&limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      seqs.push(...page.body.records.map((r: any) => r.seq));
      cursor = page.body.next_cursor;
    }
    expect(seqs).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]);

    const admin = await audit('?action=admin_query&limit=500');
    const records = admin.body.records.map((r: any) => r.record);
    expect(records.find((r: any) => r.query?.repository === 'acme/other')).toMatchObject({
      decision: 'allow',
      issuer: 'admin-token',
      subject: expect.stringMatching(/^admin-token:/),
    });
    expect(
      records
        .filter((r: any) => r.code === 'ERR_TOKEN_INVALID')
        .map((r: any) => r.reason)
        .sort(),
    ).toEqual(['admin.credentials_missing', 'admin.token_wrong']);
    expect(admin.body.checkpoint).toMatchObject({ seq: expect.any(Number), kid: expect.any(String) });
  });

  it('serves /admin/ with a strict CSP', async () => {
    const res = await fetch(`${broker.url}/admin/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'nonce-/);
  });
});

describe('audit CLI', () => {
  const cli = (args: string[]) => runCli(['audit', ...args, '--data', data, '--policies', pol]);
  let lines: string[];
  let exportFile: string;

  beforeAll(async () => {
    exportFile = join(dir, 'export.jsonl');
    const r = await cli(['export', '--out', exportFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/ending with a checkpoint of seq \d+ signed by key/);
    lines = readFileSync(exportFile, 'utf8').trim().split('\n');
  }, 60_000);

  it('list prints a readable table with the same filters', async () => {
    const r = await cli(['list', '--decision', 'deny', '--repository', 'acme/web', '--action', 'exchange']);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^SEQ\s+TIME \(UTC\)\s+DECISION\s+ROLE\s+REPOSITORY\s+REF\s+CODE\s+REASON\s+REQUEST$/);
    expect(rows.slice(1).map((l) => l.split(/\s{2,}/)[0])).toEqual(['2', '4', '7']);
    expect(rows[2]).toMatch(/deny\s+deploy\s+acme\/web\s+refs\/heads\/main\s+ERR_ACCESS_DENIED\s+policy\.deny_matched/);
    expect(r.stderr).toMatch(/3 record\(s\): 0 allow, 3 deny, 0 error/);
    const json = await cli(['list', '--reason', 'policy.no_such_role', '--json']);
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).seq),
    ).toEqual([7]);
  });

  it('export ends with a signed checkpoint of its last record; verify passes on it and on the store', async () => {
    const last = JSON.parse(lines.at(-1)!);
    const before = JSON.parse(lines.at(-2)!);
    expect(last.checkpoint).toMatchObject({ seq: before.seq, hash: before.hash, jws: expect.any(String) });
    const file = await cli(['verify', '--file', exportFile]);
    expect(file.code, file.stdout + file.stderr).toBe(0);
    expect(file.stdout).toMatch(/audit chain OK: \d+ record\(s\) in .*export\.jsonl/);
    expect(file.stdout).toMatch(new RegExp(`checkpoints OK: 1 verified; latest seq ${before.seq}`));
    const store = await cli(['verify']);
    expect(store.code, store.stdout + store.stderr).toBe(0);
    expect(store.stdout).toMatch(/checkpoints OK: \d+ verified/);
  });

  it("verify trusts only the keys given with --jwks (the running broker's JWKS)", async () => {
    const ok = await cli(['verify', '--file', exportFile, '--jwks', `${broker.url}/.well-known/jwks.json`]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const otherKeys = join(dir, 'other-jwks.json');
    writeFileSync(otherKeys, JSON.stringify({ keys: [{ ...key.publicJwk }] }));
    const bad = await cli(['verify', '--file', exportFile, '--jwks', otherKeys]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/BROKEN .*line \d+ \(checkpoint for seq \d+\): .*not among the verification keys/);
  });

  const edit = (line: string, change: (e: any) => void) => {
    const e = JSON.parse(line);
    change(e);
    return JSON.stringify(e);
  };

  it.each<[string, (l: string[]) => string[] | Promise<string[]>, RegExp]>([
    [
      'an edited record',
      (l) => l.map((x, i) => (i === 3 ? edit(x, (e) => (e.record.decision = 'allow')) : x)),
      /BROKEN .*line 4 \(record seq 4\).*edited/,
    ],
    ['a removed record', (l) => [...l.slice(0, 2), ...l.slice(3)], /BROKEN .*line 3 \(record seq 4\).*removed/],
    ['reordered records', (l) => [l[0]!, l[2]!, l[1]!, ...l.slice(3)], /BROKEN .*line 2 \(record seq 3\)/],
    [
      'a record appended out of order',
      async (l) => {
        const cp = l.at(-1)!;
        const last = JSON.parse(l.at(-2)!);
        const stray = await buildEntry(2, last.hash, { ...last.record, decision: 'allow' });
        return [...l.slice(0, -1), JSON.stringify({ ...stray, record: JSON.parse(stray.record) }), cp];
      },
      /BROKEN .*line \d+ \(record seq 2\): sequence 2 out of order/,
    ],
    [
      'a truncated tail (the checkpoint kept)',
      (l) => [...l.slice(0, 5), l.at(-1)!],
      /BROKEN .*line 6 \(checkpoint for seq \d+\): truncated: .*chain ends at seq 5/,
    ],
    ['a truncated tail (the checkpoint cut off too)', (l) => l.slice(0, 5), /BROKEN .*no valid signed checkpoint/],
    [
      'a record appended after the checkpoint',
      async (l) => {
        const last = JSON.parse(l.at(-2)!);
        const next = await buildEntry(last.seq + 1, last.hash, { ...last.record, request_id: 'X' });
        return [...l, JSON.stringify({ ...next, record: JSON.parse(next.record) })];
      },
      /BROKEN .*from record seq \d+: records \d+ to \d+ come after the last signed checkpoint/,
    ],
    [
      'a forged checkpoint',
      (l) => [
        ...l.slice(0, -1),
        edit(l.at(-1)!, (e) => {
          const [h, p, sig] = e.checkpoint.jws.split('.');
          const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
          payload.hash = 'f'.repeat(64);
          e.checkpoint.jws = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`;
        }),
      ],
      /BROKEN .*line \d+ \(checkpoint for seq \d+\): checkpoint has an invalid signature/,
    ],
  ])('verify fails on %s, naming the place', async (name, change, message) => {
    const broken = join(dir, `${name.replace(/\W+/g, '-')}.jsonl`);
    writeFileSync(broken, `${(await change([...lines])).join('\n')}\n`);
    const v = await cli(['verify', '--file', broken]);
    expect(v.code, v.stdout + v.stderr).toBe(1);
    expect(v.stdout).toMatch(message);
  });

  /** A copy of the data folder (database and development KEK) to tamper with. */
  function copyData(name: string): string {
    const copy = join(dir, name);
    mkdirSync(copy, { recursive: true });
    const db = new DatabaseSync(join(data, 'broker.db'));
    db.exec(`VACUUM INTO '${join(copy, 'broker.db')}'`);
    db.close();
    copyFileSync(join(data, 'dev-kek'), join(copy, 'dev-kek'));
    return copy;
  }
  const cliOn = (copy: string, args: string[]) => runCli(['audit', ...args, '--data', copy, '--policies', pol]);

  it('verify fails on a store whose tail was cut off after a checkpoint, naming the checkpoint', async () => {
    const copy = copyData('truncated');
    const db = new DatabaseSync(join(copy, 'broker.db'));
    const top = Number(db.prepare('SELECT MAX(seq) AS s FROM audit_checkpoints').get()!.s);
    db.prepare('DELETE FROM audit WHERE seq > ?').run(top - 3);
    db.close();
    const r = await cliOn(copy, ['verify']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(`^audit chain BROKEN in the store at the checkpoint for seq \\d+: truncated: .*chain ends at seq ${top - 3}`),
    );
    expect(r.stdout).toContain(`names record seq ${top}, but the chain ends at seq ${top - 3}`);
  });

  it('verify fails on a store rewritten with recomputed hashes, naming the range', async () => {
    const copy = copyData('rewritten');
    const db = new DatabaseSync(join(copy, 'broker.db'));
    const rows = db.prepare('SELECT seq, prev_hash, hash, record FROM audit ORDER BY seq').all() as {
      seq: number;
      prev_hash: string;
      record: string;
    }[];
    let prev = rows[0]!.prev_hash;
    for (const row of rows) {
      const record = JSON.parse(row.record);
      if (row.seq === 2) Object.assign(record, { decision: 'allow', code: 'OK', reason: 'allowed', status: 200 });
      const e = await buildEntry(row.seq, prev, record);
      db.prepare('UPDATE audit SET prev_hash = ?, hash = ?, record = ? WHERE seq = ?').run(e.prev_hash, e.hash, e.record, e.seq);
      prev = e.hash;
    }
    db.close();
    const r = await cliOn(copy, ['verify']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/BROKEN in the store at the checkpoint for seq 4: .*records 1 to 4 were rewritten/);
  });

  it('a checkpoint kept elsewhere catches a store cut back together with its checkpoints', async () => {
    const witness = await cli(['checkpoint']);
    expect(witness.code, witness.stderr).toBe(0);
    const witnessFile = join(dir, 'witness.jsonl');
    writeFileSync(witnessFile, witness.stdout);
    const seq = JSON.parse(witness.stdout).checkpoint.seq as number;
    const copy = copyData('cut-back');
    const db = new DatabaseSync(join(copy, 'broker.db'));
    db.prepare('DELETE FROM audit WHERE seq > ?').run(seq - 2);
    db.prepare('DELETE FROM audit_checkpoints WHERE seq > ?').run(seq - 2);
    db.close();
    expect((await cliOn(copy, ['verify'])).code).toBe(0);
    const r = await cliOn(copy, ['verify', '--checkpoint', witnessFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`BROKEN in .*witness\\.jsonl at line 1 \\(checkpoint for seq ${seq}\\): truncated`));
  });

  it('prune removes old records up to a signed prune point; the rest verifies, removing more does not', async () => {
    const copy = copyData('pruned');
    const sixth = JSON.parse(lines[5]!).record.time as string; // prune records 1..5
    const dry = await cliOn(copy, ['prune', '--before', sixth, '--dry-run']);
    expect(dry.stdout).toMatch(/would prune 5 record\(s\), through seq 5/);
    const r = await cliOn(copy, ['prune', '--before', sixth]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/pruned 5 record\(s\) through seq 5/);
    const v = await cliOn(copy, ['verify']);
    expect(v.code, v.stdout).toBe(0);
    expect(v.stdout).toMatch(/audit chain OK: \d+ record\(s\) \(from seq 6, after the signed prune point\)/);
    const list = await cliOn(copy, ['list', '--since', '1h', '--action', 'audit_prune', '--json']);
    expect(JSON.parse(list.stdout.trim()).record).toMatchObject({ action: 'audit_prune', subject: 'cli', query: { through_seq: '5' } });

    const db = new DatabaseSync(join(copy, 'broker.db'));
    db.prepare('DELETE FROM audit WHERE seq <= 6').run();
    db.close();
    const cut = await cliOn(copy, ['verify']);
    expect(cut.code).toBe(1);
    expect(cut.stdout).toMatch(/BROKEN in the store at record seq 7 \(position 1\): records 6 to 6 are missing from the start/);
  });

  it('a broker on a store whose oldest records and checkpoints were deleted refuses to sign; verify names the witness older than the store start', async () => {
    // An earlier checkpoint, kept off-box before the store was tampered with.
    const source = new DatabaseSync(join(data, 'broker.db'));
    const kept = source.prepare('SELECT seq, jws FROM audit_checkpoints ORDER BY seq LIMIT 1').get() as { seq: number; jws: string };
    source.close();
    const witnessFile = join(dir, 'early-witness.jsonl');
    writeFileSync(witnessFile, `${JSON.stringify({ checkpoint: { jws: kept.jws } })}\n`);

    const copy = copyData('resigned');
    const db = new DatabaseSync(join(copy, 'broker.db'));
    db.prepare('DELETE FROM audit WHERE seq <= ?').run(kept.seq + 2);
    db.prepare('DELETE FROM audit_checkpoints').run();
    db.close();
    // The broker runs on it (a checkpoint at start, every 2 records, and at shutdown) ...
    const tampered = await serveBroker(['--dev', '--policies', pol, '--data', copy], { BROKER_AUDIT_CHECKPOINT_RECORDS: '2' });
    try {
      const web = { repository: 'acme/web', repository_id: '42', ref: 'refs/heads/main', event_name: 'push' };
      for (let i = 0; i < 3; i++) expect(await exchange(web, 'deploy', tampered.url)).toBe(200);
    } finally {
      await tampered.stop();
    }
    // ... and signs nothing, saying why.
    const after = new DatabaseSync(join(copy, 'broker.db'));
    expect(after.prepare('SELECT COUNT(*) AS n FROM audit_checkpoints').get()!.n).toBe(0);
    after.close();
    expect(tampered.logs()).toMatch(/"event":"audit\.checkpoint_refused","reason":"start_unanchored"/);

    const r = await cliOn(copy, ['verify', '--checkpoint', witnessFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(
        `^audit chain BROKEN in .*early-witness\\.jsonl at line 1 \\(checkpoint for seq ${kept.seq}\\): the store starts at seq ${kept.seq + 3} after the checkpoint .* at seq ${kept.seq}.*records were removed`,
      ),
    );
  }, 60_000);

  it('prune refuses a store that does not verify', async () => {
    const copy = copyData('broken-prune');
    const db = new DatabaseSync(join(copy, 'broker.db'));
    db.prepare(`UPDATE audit SET record = replace(record, '"decision":"deny"', '"decision":"allow"') WHERE seq = 2`).run();
    db.close();
    const r = await cliOn(copy, ['prune', '--before', new Date().toISOString()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/audit prune refused[\s\S]*record seq 2/);
  });
});
