// The agent's schedule and file rendering, without processes or waiting: renewals only ever come earlier than
// --refresh-at asks, backoff grows to a cap and never waits past the expiry, and each format writes what its
// reader expects, or refuses with names only.
import { lstatSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExchangeResponse } from '../../../client/credentials.ts';
import { renderAgentFiles } from '../../../cli/commands/agent.ts';
import { AgentFiles, outDirProblem } from '../../../cli/lib/agent-files.ts';
import { BACKOFF_CAP_MS, failureDelayMs, parseRefreshAt, RENEW_JITTER, renewDelayMs } from '../../../cli/lib/agent-schedule.ts';
import { formatAwsCredentialProcess } from '../../../cli/lib/client-formats.ts';
import { allTypesResponse } from '../../helpers/fake-broker.ts';

describe('agent schedule', () => {
  it('--refresh-at takes a fraction strictly between 0 and 1, 0.66 by default', () => {
    expect(parseRefreshAt(undefined)).toEqual({ ok: true, value: 0.66 });
    for (const ok of ['0.5', '.9', '0.01', '0.999']) expect(parseRefreshAt(ok).ok, ok).toBe(true);
    for (const bad of ['0', '1', '1.0', '-0.5', '2', 'NaN', 'Infinity', '0x1', '1e-1', '', ' ', '0.5s'])
      expect(parseRefreshAt(bad).ok, bad).toBe(false);
  });

  it('a renewal comes at refresh-at of the lifetime, made earlier by at most the jitter, never later', () => {
    const lifetime = 3_600_000;
    for (const r of [0, 0.25, 0.5, 0.999]) {
      const d = renewDelayMs(0, lifetime, 0.66, () => r);
      expect(d).toBeLessThanOrEqual(lifetime * 0.66);
      expect(d).toBeGreaterThanOrEqual(lifetime * 0.66 * (1 - RENEW_JITTER));
    }
    expect(renewDelayMs(1000, 500, 0.5, () => 0)).toBe(0);
  });

  it('failure backoff doubles to a cap, with jitter, and never waits past the expiry', () => {
    const at = (n: number, r: number) => failureDelayMs(n, () => r, 0, Number.MAX_SAFE_INTEGER);
    expect([1, 2, 3, 4].map((n) => at(n, 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(at(1, 0)).toBe(500);
    expect(at(50, 1)).toBe(BACKOFF_CAP_MS);
    expect(failureDelayMs(10, () => 1, 10_000, 12_000)).toBe(2000);
    expect(failureDelayMs(10, () => 1, 13_000, 12_000)).toBe(0);
  });
});

describe('agent files', () => {
  const parsed = parseExchangeResponse(allTypesResponse());
  if (!parsed.ok) throw new Error(parsed.reason);
  const response = parsed.response;
  const env = { prefix: '', awsRegion: '' };

  it('files: one file per variable, named by the variable, holding the value exactly (no newline added)', () => {
    const r = renderAgentFiles('files', response, {}, env);
    if (!r.ok) throw new Error(r.problem);
    expect(r.files.get('AWS_SECRET_ACCESS_KEY')).toBe('fake/aws+secret/access/key/0000000001');
    expect(r.files.get('TLS_KEY')).toMatch(/^-----BEGIN FAKE KEY-----\n[\s\S]*-----END FAKE KEY-----$/);
    // Every name is a checked variable name: no "/" or "..", so nothing is written outside --out.
    for (const name of r.files.keys()) expect(name).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
    expect(r.files.has('EMPTY')).toBe(false);
  });

  it('a format that cannot carry the response refuses it naming variables, never values', () => {
    const dotenv = renderAgentFiles('dotenv', response, {}, env);
    expect(dotenv.ok).toBe(false);
    if (!dotenv.ok) {
      expect(dotenv.problem).toMatch(/"TLS_KEY": the value spans lines/);
      expect(dotenv.problem).not.toContain('MIIfake');
    }
    const noAws = { ...response, credentials: response.credentials.filter((c) => c.type !== 'aws') };
    expect(renderAgentFiles('aws-credentials', noAws, {}, env)).toEqual({
      ok: false,
      problem: expect.stringMatching(/holds no aws credential/),
    });
    const badName = { ...response, credentials: [{ type: 'secret' as const, name: 'x', env: 'LD_PRELOAD', value: 'v' }] };
    expect(renderAgentFiles('files', badName, {}, env)).toEqual({
      ok: false,
      problem: expect.stringMatching(/"LD_PRELOAD": the name is reserved/),
    });
  });

  it('aws-credentials is an INI [default] profile; aws-credential-process is Version 1 with an ISO-8601 Expiration', () => {
    const r = renderAgentFiles('aws-credentials', response, {}, env);
    expect(r.ok && r.files.get('credentials')).toBe(
      '[default]\naws_access_key_id = ASIAFAKEACCESSKEY0001\naws_secret_access_key = fake/aws+secret/access/key/0000000001\naws_session_token = FwoGZXIvYXdzEFAKESESSIONTOKEN0001==\n',
    );
    const aws = response.credentials.find((c) => c.type === 'aws')!;
    if (aws.type !== 'aws') throw new Error('aws');
    const out = JSON.parse(formatAwsCredentialProcess(aws)) as Record<string, unknown>;
    expect(out).toEqual({
      Version: 1,
      AccessKeyId: aws.access_key_id,
      SecretAccessKey: aws.secret_access_key,
      SessionToken: aws.session_token,
      Expiration: new Date(aws.expires_at!).toISOString(),
    });
    const split = renderAgentFiles(
      'aws-credentials',
      { ...response, credentials: [{ ...aws, session_token: 'a\n[evil]\nx = y' }] },
      {},
      env,
    );
    expect(split.ok).toBe(false);
  });
});

describe('agent file writes', () => {
  it('a new set replaces the old file by file, then drops the names it no longer has; removeAll removes only what it wrote', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-agent-files-'));
    writeFileSync(join(dir, 'APP_CONFIG'), "not the agent's");
    const files = new AgentFiles(dir);
    await files.replace(
      new Map([
        ['A', '1'],
        ['B', '2'],
      ]),
    );
    await files.replace(
      new Map([
        ['B', '3'],
        ['C', '4'],
      ]),
    );
    expect(readdirSync(dir).sort()).toEqual(['APP_CONFIG', 'B', 'C']);
    expect(readFileSync(join(dir, 'B'), 'utf8')).toBe('3');
    for (const name of ['B', 'C']) expect(lstatSync(join(dir, name)).mode & 0o777).toBe(0o400);
    await files.removeAll();
    expect(readdirSync(dir)).toEqual(['APP_CONFIG']);
  });

  it('a symlink planted at DIR/NAME is replaced by the file, and its target is never written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-agent-link-'));
    const target = join(mkdtempSync(join(tmpdir(), 'sb-agent-target-')), 'victim');
    writeFileSync(target, 'untouched');
    symlinkSync(target, join(dir, 'API_KEY'));
    const files = new AgentFiles(dir);
    await files.replace(new Map([['API_KEY', 'value']]));
    expect(lstatSync(join(dir, 'API_KEY')).isSymbolicLink()).toBe(false);
    expect(readFileSync(target, 'utf8')).toBe('untouched');
    await files.removeAll();
    expect(readFileSync(target, 'utf8')).toBe('untouched');
  });

  it('--out must be an existing, writable directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-agent-out-'));
    expect(await outDirProblem(dir)).toBeUndefined();
    expect(await outDirProblem(join(dir, 'missing'))).toMatch(/does not exist: create it, or mount a volume there/);
    writeFileSync(join(dir, 'file'), '');
    expect(await outDirProblem(join(dir, 'file'))).toMatch(/is not a directory/);
  });
});
