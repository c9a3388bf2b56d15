// A stand-in for the GitHub Actions runner around a JavaScript action: INPUT_* variables, the file commands
// (GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STATE, GITHUB_STEP_SUMMARY), STATE_* for the post step, and the OIDC
// token service behind ACTIONS_ID_TOKEN_REQUEST_URL, issuing tokens from a loopback test issuer.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { signTestToken, type IssuerKey } from '../../cli/lib/test-issuer.ts';
import { ROOT, type RunResult } from './processes.ts';

/**
 * Parses a file-command file as the runner does: `name=value` lines and `name<<DELIMITER` heredocs (what
 * @actions/core writes). Returns the entries in order; a later entry for a name wins when read as a map.
 */
export function parseFileCommands(text: string): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
      if (i >= lines.length) throw new Error(`unterminated heredoc for ${name}`);
      entries.push([name!, value.join('\n')]);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`malformed file command line: ${line}`);
    entries.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return entries;
}

export const asMap = (entries: Array<[string, string]>) => Object.fromEntries(entries) as Record<string, string>;

export interface StepFiles {
  dir: string;
  env: string;
  output: string;
  state: string;
  summary: string;
  read(file: 'env' | 'output' | 'state' | 'summary'): string;
}

/** Fresh, empty file-command files for one step (the runner gives every step its own). */
export function stepFiles(dir: string): StepFiles {
  mkdirSync(dir, { recursive: true });
  const files = { env: join(dir, 'env'), output: join(dir, 'output'), state: join(dir, 'state'), summary: join(dir, 'summary') };
  for (const f of Object.values(files)) writeFileSync(f, '');
  return { dir, ...files, read: (file) => readFileSync(files[file], 'utf8') };
}

/** The runner's name for an input's variable: upper case, spaces to underscores, hyphens kept. */
export const inputVar = (name: string) => `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;

export interface ActionRun extends RunResult {
  files: StepFiles;
}

/** Runs action/dist/<step>.js as the runner would, with a clean environment (no host proxies or tokens). */
export function runActionStep(
  step: 'main' | 'post',
  opts: { inputs: Record<string, string>; files: StepFiles; env?: Record<string, string>; state?: Record<string, string> },
): Promise<ActionRun> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    GITHUB_ACTIONS: 'true',
    RUNNER_TEMP: opts.files.dir,
    GITHUB_ENV: opts.files.env,
    GITHUB_OUTPUT: opts.files.output,
    GITHUB_STATE: opts.files.state,
    GITHUB_STEP_SUMMARY: opts.files.summary,
    ...opts.env,
  };
  for (const [name, value] of Object.entries(opts.inputs)) env[inputVar(name)] = value;
  for (const [name, value] of Object.entries(opts.state ?? {})) env[`STATE_${name}`] = value;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'action/dist', `${step}.js`)], { cwd: opts.files.dir, env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, files: opts.files }));
    child.stdin.end();
  });
}

export interface FakeTokenService {
  /** Value for ACTIONS_ID_TOKEN_REQUEST_URL (with its api-version query, as on a real runner). */
  url: string;
  /** Value for ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  requestToken: string;
  /** Audiences asked for, in order. */
  audiences: string[];
  env(): Record<string, string>;
  close(): Promise<void>;
}

/**
 * The runner's OIDC token service: GET <url>&audience=<aud> with `Authorization: Bearer <request token>`
 * answers {"value": "<jwt>"} (what core.getIDToken expects), signed by the loopback issuer for that audience.
 */
export async function serveTokenService(key: IssuerKey, issuerUrl: string, claims: Record<string, unknown>): Promise<FakeTokenService> {
  const requestToken = `runtime-${randomUUID()}`;
  const audiences: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' || url.pathname !== '/idtoken' || url.searchParams.get('api-version') !== '2.0')
      return send(404, { message: 'not found' });
    if (req.headers.authorization !== `Bearer ${requestToken}`) return send(401, { message: 'bad runtime token' });
    const audience = url.searchParams.get('audience');
    if (!audience) return send(400, { message: 'audience required' });
    audiences.push(audience);
    signTestToken(key, { iss: issuerUrl, aud: audience, ...claims }).then(
      (value) => send(200, { count: 1, value }),
      (err: unknown) => send(500, { message: String(err) }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/idtoken?api-version=2.0`;
  return {
    url,
    requestToken,
    audiences,
    env: () => ({ ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken }),
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** How core.setSecret writes a value into the `::add-mask::` command (escapeData in @actions/core). */
export const escapeCommandData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

/**
 * The masking rule, checked on a step's stdout: each value (and each line of a multi-line value) has its
 * `::add-mask::` line, no line before that one mentions it, and no line but an `::add-mask::` line ever does.
 * Returns the violations (empty when the rule holds).
 */
export function maskingViolations(stdout: string, values: string[]): string[] {
  const lines = stdout.split('\n');
  const problems: string[] = [];
  const pieces = new Set<string>();
  for (const v of values) {
    if (v === '') continue;
    pieces.add(v);
    // Lines of bare JSON punctuation ("{", "}") are deliberately not masked (client/mask.ts).
    for (const l of v.split('\n')) if (!/^[\s{}[\],:]*$/.test(l)) pieces.add(l.trim());
  }
  for (const piece of pieces) {
    const maskAt = lines.indexOf(`::add-mask::${escapeCommandData(piece)}`);
    if (maskAt < 0) problems.push(`no ::add-mask:: for ${JSON.stringify(piece.slice(0, 12))}...`);
    lines.forEach((line, i) => {
      if (line.startsWith('::add-mask::')) return;
      if (line.includes(piece)) problems.push(`line ${i + 1} shows ${JSON.stringify(piece.slice(0, 12))}... in clear`);
    });
    // Another value's ::add-mask:: line may contain this one (a whole multi-line value before its lines);
    // the runner never prints those lines, so only the others count.
    const firstMention = lines.findIndex(
      (line) => !line.startsWith('::add-mask::') && (line.includes(escapeCommandData(piece)) || line.includes(piece)),
    );
    if (maskAt >= 0 && firstMention >= 0 && firstMention < maskAt)
      problems.push(`line ${firstMention + 1} mentions ${JSON.stringify(piece.slice(0, 12))}... before its mask`);
  }
  return problems;
}
