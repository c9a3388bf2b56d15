import { createReadStream, createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { JWK } from 'jose';
import { Auditor } from '../../broker/src/audit/auditor.ts';
import { readAll, toExported, type ExportedEntry } from '../../broker/src/audit/chain.ts';
import { signCheckpoint } from '../../broker/src/audit/checkpoint-format.ts';
import { Checkpointer } from '../../broker/src/audit/checkpointer.ts';
import {
  verifyAudit,
  type AuditProblem,
  type AuditVerification,
  type LocatedCheckpoint,
  type VerifiableEntry,
} from '../../broker/src/audit/verify-audit.ts';
import {
  ACTIONS,
  CREDENTIAL_TYPES,
  DECISIONS,
  matchesFilters,
  parseClaimFilter,
  type AuditFilters,
  type CredentialType,
} from '../../broker/src/audit/query.ts';
import type { AuditDecision, AuditRecord } from '../../broker/src/audit/record.ts';
import { reviewDecision } from '../../broker/src/audit/reasons.ts';
import { listAll, pruneAudit } from '../../broker/src/audit/retention.ts';
import type { BrokerIssuer } from '../../broker/src/issuer/issuer.ts';
import type { AuditCheckpoint, AuditEntry } from '../../broker/src/store/ports.ts';
import { DATABASE_FILE } from '../../broker/entry/node/database-file.ts';
import type { KeyStore } from '../../broker/src/store/ports.ts';
import { roleNameProblem } from '../../client/inputs.ts';
import { parseSince, str, UsageError, type Command, type CommandContext } from '../context.ts';
import { nodeSqliteAvailable } from '../lib/runtime.ts';
import { buildAuditReport, renderHtml, renderMarkdown } from '../lib/audit-report.ts';
import { BROKER_OPTION, remoteOf, type AdminClient } from '../lib/remote.ts';
import { brokerEndpoint } from '../../client/exchange.ts';

// The stores load node:sqlite or the PostgreSQL driver: imported when a command runs, so `audit verify --file`
// also runs on Node 20.
const stores = () => import('../lib/stores.ts');

interface CliFilters extends AuditFilters {
  /** --role a,b: any of these roles (AuditFilters.role holds one). */
  roles?: string[];
}

function filtersOf(ctx: CommandContext, defaultSince?: string): CliFilters {
  const now = Date.now();
  const since = str(ctx, 'since') ?? defaultSince;
  const until = str(ctx, 'until');
  const decision = str(ctx, 'decision');
  if (decision && !(DECISIONS as readonly string[]).includes(decision)) throw new UsageError('--decision must be allow, deny or error');
  const action = str(ctx, 'action');
  const actions = action?.split(',');
  if (actions && !actions.every((a) => (ACTIONS as readonly string[]).includes(a)))
    throw new UsageError(`--action must be one or more of ${ACTIONS.join(', ')}`);
  const type = str(ctx, 'type');
  if (type && !(CREDENTIAL_TYPES as readonly string[]).includes(type))
    throw new UsageError(`--type must be one of ${CREDENTIAL_TYPES.join(', ')}`);
  const text: Partial<Record<'role' | 'repository' | 'target' | 'actor' | 'workflow' | 'environment', string>> = {};
  for (const name of ['repository', 'target', 'actor', 'workflow', 'environment'] as const) {
    const v = str(ctx, name);
    if (v) text[name] = v;
  }
  // --role a,b means either role; one value may be a glob (deploy-*), matched as /v1/audit matches it. Each
  // name must be a role name, so "a,,b" or "a, b" is refused rather than matching nothing.
  const roleList = str(ctx, 'role')?.split(',');
  for (const r of roleList ?? []) {
    const glob = roleList!.length === 1 && r.includes('*');
    const problem = roleNameProblem(glob ? r.replaceAll('*', 'x') : r);
    if (problem) throw new UsageError(`--role "${r}" ${problem} (give one role or glob, or several roles separated by commas)`);
  }
  const roles = roleList && roleList.length > 1 ? roleList : undefined;
  if (roleList?.length === 1) text.role = roleList[0]!;
  const reason = str(ctx, 'reason');
  const claimText = str(ctx, 'claim');
  const claim = claimText === undefined ? undefined : parseClaimFilter(claimText);
  if (claimText !== undefined && !claim)
    throw new UsageError(
      '--claim must be KEY=PATTERN with KEY a key the audit identity records: a claim name (ref, environment, ...) or a JSON Pointer such as /kubernetes.io/namespace',
    );
  return {
    ...(claim ? { claim } : {}),
    ...text,
    ...(type ? { type: type as CredentialType } : {}),
    ...(since ? { since: parseSince(since, now) } : {}),
    ...(until ? { until: parseSince(until, now) } : {}),
    ...(roles ? { roles } : {}),
    ...(decision ? { decision: decision as AuditDecision } : {}),
    ...(reason ? { reason } : {}),
    ...(actions ? { actions: actions as AuditRecord['action'][] } : {}),
  };
}

async function* filtered(entries: AsyncIterable<AuditEntry>, f: CliFilters): AsyncGenerator<AuditEntry & { parsed: AuditRecord }> {
  for await (const e of entries) {
    const parsed = JSON.parse(e.record) as AuditRecord;
    if (f.roles && !(typeof parsed.role === 'string' && f.roles.includes(parsed.role))) continue;
    if (matchesFilters(parsed, f)) yield { ...e, parsed };
  }
}

/** The audit stores (data folder or --database); never creates a database where there is none (verifying a file elsewhere). */
async function openAudit(ctx: CommandContext, opts: { mustExist: boolean }) {
  const { databaseOf, openStores } = await stores();
  const database = databaseOf(ctx);
  if (!opts.mustExist && database.url === undefined && !existsSync(join(ctx.dataDir, DATABASE_FILE))) return null;
  if (!opts.mustExist && database.url === undefined && !(await nodeSqliteAvailable())) {
    ctx.err(
      `WARNING: Node ${process.versions.node} has no node:sqlite: the data folder's signing keys are not read; pass --jwks with the broker's JWKS`,
    );
    return null;
  }
  const opened = await openStores(ctx);
  return { store: opened.audit, checkpoints: opened.checkpoints, keys: opened.keys, secrets: opened.secrets, close: () => opened.close() };
}

/** The broker's signing key, for checkpoints made here (export, prune, checkpoint): needs the KEK. */
async function openSigner(ctx: CommandContext, keys: KeyStore): Promise<BrokerIssuer> {
  const { issuer } = await (await stores()).openIssuer(ctx, { keys });
  await issuer.ensureKey();
  return issuer;
}

/**
 * The store's verification keys, through the issuer's trusted loader: only keys whose private half opens
 * under the KEK. The public_jwk column alone is not evidence (anyone who can write the database could plant
 * a key and sign checkpoints with it). Without the KEK, no store key is trusted: pass --jwks instead.
 */
async function trustedStoreKeys(ctx: CommandContext, keys: KeyStore): Promise<JWK[]> {
  // Not a fresh development KEK: no stored key would open under it.
  const opened = await (await stores()).openIssuer(ctx, { keys, existingKek: true });
  if (!opened) {
    ctx.err(
      "WARNING: no KEK (BROKER_KEK is not set and there is no development KEK): no stored signing key can be trusted; pass --jwks with the broker's JWKS",
    );
    return [];
  }
  const { issuer } = opened;
  const health = await issuer.keyHealth();
  for (const p of health.problems) ctx.err(`WARNING: signing key ${p.kid} in the store is refused (${p.reason}): it verifies nothing`);
  return issuer.verificationKeys();
}

const FILTER_OPTIONS = {
  since: { type: 'string' },
  until: { type: 'string' },
  role: { type: 'string' },
  decision: { type: 'string' },
  repository: { type: 'string' },
  type: { type: 'string' },
  target: { type: 'string' },
  actor: { type: 'string' },
  workflow: { type: 'string' },
  environment: { type: 'string' },
  reason: { type: 'string' },
  claim: { type: 'string' },
  action: { type: 'string' },
} as const;

const cell = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width));

const COLUMNS: { title: string; max: number; value: (seq: number, r: AuditRecord) => string }[] = [
  { title: 'SEQ', max: 8, value: (seq) => String(seq) },
  { title: 'TIME (UTC)', max: 19, value: (_, r) => r.time.slice(0, 19).replace('T', ' ') },
  { title: 'DECISION', max: 8, value: (_, r) => reviewDecision(r) },
  { title: 'ROLE', max: 26, value: (_, r) => (r.action === 'exchange' ? (r.role ?? '-') : r.action) },
  { title: 'REPOSITORY', max: 32, value: (_, r) => String(r.identity?.repository ?? r.identity?.project_path ?? r.subject ?? '-') },
  { title: 'REF', max: 28, value: (_, r) => String(r.identity?.ref ?? '-') },
  { title: 'CODE', max: 22, value: (_, r) => r.code },
  { title: 'REASON', max: 34, value: (_, r) => r.reason },
  { title: 'REQUEST', max: 26, value: (_, r) => r.request_id },
];

const list: Command = {
  usage:
    'audit list [--since 24h] [--until T] [--role R] [--decision allow|deny|error] [--repository R] [--type T] [--target T] [--actor A] [--workflow W] [--environment E] [--reason CODE] [--claim KEY=PATTERN] [--action A] [--limit N] [--json]',
  summary: 'Show audit records as a table (or JSON lines), oldest first; --limit keeps the newest N.',
  options: { ...FILTER_OPTIONS, limit: { type: 'string' }, json: { type: 'boolean' } },
  sqlite: true,
  async run(ctx) {
    const f = filtersOf(ctx, '24h');
    const limitText = str(ctx, 'limit');
    const limit = limitText === undefined ? undefined : Number(limitText);
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) throw new UsageError('--limit must be a positive integer');
    const audit = (await openAudit(ctx, { mustExist: true }))!;
    const rows: (AuditEntry & { parsed: AuditRecord })[] = [];
    try {
      for await (const e of filtered(readAll(audit.store), f)) {
        rows.push(e);
        if (limit !== undefined && rows.length > limit) rows.shift();
      }
    } finally {
      await audit.close();
    }
    if (ctx.values.json) {
      for (const e of rows) ctx.out(JSON.stringify(toExported(e)));
      return 0;
    }
    // Columns as wide as their content (up to a cap), so the table reads in a terminal.
    const values = rows.map((e) => COLUMNS.map((c) => c.value(e.seq, e.parsed)));
    const widths = COLUMNS.map((c, i) => Math.min(c.max, Math.max(c.title.length, ...values.map((v) => v[i]!.length))));
    const line = (cells: string[]) =>
      cells
        .map((v, i) => (i === cells.length - 1 ? v : cell(v, widths[i]!)))
        .join('  ')
        .trimEnd();
    ctx.out(line(COLUMNS.map((c) => c.title)));
    for (const v of values) ctx.out(line(v));
    const counts = new Map<string, number>();
    for (const e of rows) counts.set(reviewDecision(e.parsed), (counts.get(reviewDecision(e.parsed)) ?? 0) + 1);
    ctx.err(`${rows.length} record(s): ${DECISIONS.map((d) => `${counts.get(d) ?? 0} ${d}`).join(', ')}`);
    return 0;
  },
};

const exportCmd: Command = {
  usage: 'audit export [--since T] [--out FILE] [--broker URL]',
  summary: 'Write the chain as JSON lines (for a SIEM), ending with a signed checkpoint; verify it with audit verify --file.',
  options: { since: { type: 'string' }, out: { type: 'string' }, ...BROKER_OPTION },
  sqlite: (ctx) => str(ctx, 'broker') === undefined,
  async run(ctx) {
    const f = filtersOf(ctx);
    const outFile = str(ctx, 'out');
    const remote = remoteOf(ctx);
    if (remote) {
      // The broker verifies its store and signs the checkpoint; check the file with audit verify --jwks.
      const query = f.since === undefined ? '' : `?since=${encodeURIComponent(new Date(f.since).toISOString())}`;
      const text = await (await remote.call('GET', `v1/admin/audit/export${query}`)).text();
      if (outFile) writeFileSync(outFile, text, { mode: 0o600 });
      else process.stdout.write(text);
      const lines = text.split('\n').filter(Boolean);
      const signed = lines.at(-1)?.startsWith('{"checkpoint"') === true;
      ctx.err(
        `exported ${signed ? lines.length - 1 : lines.length} record(s) from ${remote.url}${signed ? ', signed checkpoint at the end' : ''}`,
      );
      return 0;
    }
    const out: NodeJS.WritableStream = outFile ? createWriteStream(outFile, { mode: 0o600 }) : process.stdout;
    const write = async (line: unknown) => {
      if (!out.write(`${JSON.stringify(line)}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
    };
    const audit = (await openAudit(ctx, { mustExist: true }))!;
    let n = 0;
    let last: AuditEntry | undefined;
    let verification: AuditVerification;
    let checkpoint: AuditCheckpoint | undefined;
    try {
      // An export is a contiguous slice of the chain (from the first record at or after --since), so it
      // verifies. The store is verified on the way; only an intact chain gets a signed checkpoint at the end.
      let started = f.since === undefined;
      const exportOne = async (e: AuditEntry) => {
        if (!started) started = Date.parse((JSON.parse(e.record) as AuditRecord).time) >= (f.since ?? 0);
        if (!started) return;
        await write(toExported(e));
        last = e;
        n++;
      };
      const source = readAll(audit.store)[Symbol.asyncIterator]();
      async function* exporting(): AsyncGenerator<AuditEntry> {
        for (let step = await source.next(); !step.done; step = await source.next()) {
          await exportOne(step.value);
          yield step.value;
        }
      }
      const keys = await trustedStoreKeys(ctx, audit.keys);
      const located = (await listAll(audit.checkpoints)).map((c) => ({ jws: c.jws, source: 'the store' }));
      verification = await verifyAudit({ entries: exporting(), checkpoints: located, keys, mode: 'store' });
      // Past a break, the rest is exported all the same (it is evidence), just not signed.
      for (let step = await source.next(); !step.done; step = await source.next()) await exportOne(step.value);
      if (verification.ok && last) {
        const signer = await openSigner(ctx, audit.keys);
        checkpoint = await signCheckpoint(signer, { seq: last.seq, hash: last.hash }, verification.start, Date.now());
        await audit.checkpoints.insert(checkpoint);
        await write({ checkpoint });
      }
    } finally {
      await audit.close();
      if (outFile) await new Promise<void>((resolve) => out.end(() => resolve()));
    }
    if (!verification.ok) {
      ctx.err(`exported ${n} record(s) WITHOUT a checkpoint: the store does not verify`);
      ctx.err(describe(verification.problems[0]!, {}));
      return 1;
    }
    ctx.err(
      `exported ${n} record(s)${outFile ? ` to ${outFile}` : ''}${checkpoint ? `, ending with a checkpoint of seq ${checkpoint.seq} signed by key ${checkpoint.kid}` : ''}`,
    );
    return 0;
  },
};

type ExportLine = (ExportedEntry & { line: number }) | { checkpoint: LocatedCheckpoint };

/** One line of an export (a record, or a signed checkpoint); line numbers are 1-based. */
function parseExportLine(text: string, line: number, source: string): ExportLine {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  const cp = (parsed as { checkpoint?: { jws?: unknown } } | null)?.checkpoint;
  if (cp && typeof cp === 'object' && typeof cp.jws === 'string') return { checkpoint: { jws: cp.jws, line, source } };
  const entry = parsed && typeof parsed === 'object' ? (parsed as ExportedEntry) : { seq: Number.NaN, prev_hash: '', hash: '', record: {} };
  return { ...entry, line };
}

async function* readLines(file: string): AsyncGenerator<ExportLine> {
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text.trim() !== '') yield parseExportLine(text, line, file);
  }
}

/** --jwks: a JWKS file or URL (the broker's /.well-known/jwks.json, or a saved copy): the only keys trusted. */
async function loadJwks(source: string): Promise<JWK[]> {
  let text: string;
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source, { signal: AbortSignal.timeout(10_000), redirect: 'error' });
    if (!res.ok) throw new Error(`--jwks ${source}: HTTP ${res.status}`);
    text = await res.text();
  } else text = readFileSync(source, 'utf8');
  const keys = (JSON.parse(text) as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) throw new Error(`--jwks ${source}: not a JWKS (no "keys" array)`);
  return keys as JWK[];
}

function describe(p: AuditProblem, where: { file?: string }): string {
  const fromWitness = p.source !== undefined && p.source !== where.file && p.source !== 'the store';
  let place: string;
  if (p.kind === 'chain' || p.kind === 'start') {
    place = where.file
      ? `in ${where.file} at line ${p.line ?? '?'} (record seq ${p.seq ?? '?'})`
      : `in the store at record seq ${p.seq ?? '?'} (position ${(p.index ?? 0) + 1})`;
  } else if (p.kind === 'uncovered') {
    place = `in ${where.file ?? 'the store'} from record seq ${p.seq ?? '?'}`;
  } else if (fromWitness) {
    place = `in ${p.source} at line ${p.line ?? '?'} (checkpoint for seq ${p.seq ?? '?'})`;
  } else if (where.file) {
    place = `in ${where.file} at line ${p.line ?? '?'} (checkpoint for seq ${p.seq ?? '?'})`;
  } else {
    place = `in the store at the checkpoint for seq ${p.seq ?? '?'}`;
  }
  return `audit chain BROKEN ${place}: ${p.reason}`;
}

function report(ctx: CommandContext, result: AuditVerification, where: { file?: string }): number {
  if (!result.ok) {
    const [first, ...rest] = result.problems;
    ctx.out(describe(first!, where));
    for (const p of rest) ctx.out(`  also: ${describe(p, where).replace(/^audit chain BROKEN /, '')}`);
    return 1;
  }
  const head = result.head ? `head seq ${result.head.seq} ${result.head.hash}` : 'empty';
  const from =
    result.start.seq > 0
      ? where.file
        ? ` (from seq ${result.start.seq + 1}; earlier records are not in the file)`
        : ` (from seq ${result.start.seq + 1}, after the signed prune point)`
      : '';
  ctx.out(`audit chain OK: ${result.count} record(s)${where.file ? ` in ${where.file}` : ''}${from}, ${head}`);
  const cp = result.checkpoints.latest;
  if (cp) {
    const since = result.uncovered > 0 ? `; ${result.uncovered} newer record(s) covered by the chain only` : '';
    ctx.out(
      `checkpoints OK: ${result.checkpoints.verified} verified${result.checkpoints.skipped ? `, ${result.checkpoints.skipped} older ones signed by retired keys skipped` : ''}; latest seq ${cp.seq} signed ${cp.time} by key ${cp.kid}${since}`,
    );
  } else if (result.head) {
    ctx.err(
      'WARNING: no signed checkpoint: a cut-off tail would go unnoticed (the broker signs one every N records or M minutes; audit checkpoint signs one now)',
    );
  }
  return 0;
}

const verify: Command = {
  usage: 'audit verify [--file FILE] [--jwks FILE|URL] [--checkpoint FILE]',
  summary: 'Verify the hash chain and its signed checkpoints (store or export); exit 1 at the first broken link.',
  options: { file: { type: 'string' }, jwks: { type: 'string' }, checkpoint: { type: 'string', multiple: true } },
  // A file verifies on any Node; the store needs node:sqlite.
  sqlite: (ctx) => str(ctx, 'file') === undefined,
  async run(ctx) {
    const file = str(ctx, 'file');
    const jwks = str(ctx, 'jwks');
    const witnesses = (ctx.values.checkpoint as string[] | undefined) ?? [];
    // Checkpoints kept elsewhere (an earlier export, `audit checkpoint` output): they catch a store or file
    // cut back together with its own checkpoints.
    const witnessed: LocatedCheckpoint[] = [];
    for (const w of witnesses) for await (const l of readLines(w)) if ('checkpoint' in l) witnessed.push(l.checkpoint);
    const audit = await openAudit(ctx, { mustExist: !file });
    try {
      // --jwks is the caller's own trust anchor; otherwise only store keys that open under the KEK.
      const keys = jwks ? await loadJwks(jwks) : audit ? await trustedStoreKeys(ctx, audit.keys) : [];
      if (file) {
        const entries: VerifiableEntry[] = [];
        const checkpoints: LocatedCheckpoint[] = [...witnessed];
        for await (const l of readLines(file)) {
          if ('checkpoint' in l) checkpoints.push(l.checkpoint);
          else entries.push(l);
        }
        return report(ctx, await verifyAudit({ entries, checkpoints, keys, mode: 'file' }), { file });
      }
      const stored = (await listAll(audit!.checkpoints)).map((c) => ({ jws: c.jws, source: 'the store' }));
      return report(
        ctx,
        await verifyAudit({ entries: readAll(audit!.store), checkpoints: [...stored, ...witnessed], keys, mode: 'store' }),
        {},
      );
    } finally {
      await audit?.close();
    }
  },
};

async function policyHash(ctx: CommandContext): Promise<string> {
  try {
    const { loadCompiledPolicy } = await import('../../broker/entry/node.ts');
    return (await loadCompiledPolicy(ctx.policiesDir)).hash;
  } catch {
    return '';
  }
}

const prune: Command = {
  usage: 'audit prune --before 90d [--dry-run]',
  summary: 'Delete records older than --before up to a signed prune point; the rest still verifies.',
  options: { before: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  sqlite: true,
  async run(ctx) {
    const beforeText = str(ctx, 'before');
    if (!beforeText) throw new UsageError('--before is required (a duration such as 90d, or an ISO time)');
    const before = parseSince(beforeText, Date.now());
    const audit = (await openAudit(ctx, { mustExist: true }))!;
    try {
      const signer = await openSigner(ctx, audit.keys);
      const auditor = new Auditor(audit.store);
      const checkpointer = new Checkpointer({ audit: audit.store, checkpoints: audit.checkpoints, signer, now: Date.now });
      const result = await pruneAudit({
        auditor,
        checkpoints: audit.checkpoints,
        checkpointer,
        signer,
        before,
        now: Date.now,
        policyHash: await policyHash(ctx),
        by: 'cli',
        dryRun: ctx.values['dry-run'] === true,
      });
      if (!result.ok) {
        ctx.out(`audit prune refused: the store does not verify, and a broken chain is evidence`);
        ctx.out(describe(result.problem, {}));
        return 1;
      }
      const when = new Date(before).toISOString();
      if (!result.through) ctx.out(`nothing to prune: no records older than ${when} before the current start of the chain`);
      else if (ctx.values['dry-run'])
        ctx.out(`would prune ${result.records} record(s), through seq ${result.through.seq} (older than ${when})`);
      else
        ctx.out(
          `pruned ${result.records} record(s) through seq ${result.through.seq} (older than ${when}); the chain now starts after the signed prune point`,
        );
      return 0;
    } finally {
      await audit.close();
    }
  },
};

const checkpointCmd: Command = {
  usage: 'audit checkpoint [--broker URL]',
  summary: 'Verify the store and sign its head now; prints the checkpoint line to keep elsewhere (audit verify --checkpoint).',
  options: { ...BROKER_OPTION },
  sqlite: (ctx) => str(ctx, 'broker') === undefined,
  async run(ctx) {
    const remote = remoteOf(ctx);
    if (remote) {
      const { checkpoint } = await remote.json<{ checkpoint: AuditCheckpoint }>('POST', 'v1/admin/audit/checkpoint');
      ctx.out(JSON.stringify({ checkpoint }));
      ctx.err(`signed seq ${checkpoint.seq} with key ${checkpoint.kid}: keep this line where the broker cannot write it`);
      return 0;
    }
    const audit = (await openAudit(ctx, { mustExist: true }))!;
    try {
      const keys = await trustedStoreKeys(ctx, audit.keys);
      const located = (await listAll(audit.checkpoints)).map((c) => ({ jws: c.jws, source: 'the store' }));
      const result = await verifyAudit({ entries: readAll(audit.store), checkpoints: located, keys, mode: 'store' });
      if (!result.ok) {
        ctx.err('audit checkpoint refused: the store does not verify');
        ctx.out(describe(result.problems[0]!, {}));
        return 1;
      }
      if (!result.head) {
        ctx.err('the audit log is empty: nothing to sign');
        return 1;
      }
      const signer = await openSigner(ctx, audit.keys);
      const checkpoint = await signCheckpoint(signer, result.head, result.start, Date.now());
      await audit.checkpoints.insert(checkpoint);
      ctx.out(JSON.stringify({ checkpoint }));
      ctx.err(`signed seq ${checkpoint.seq} with key ${checkpoint.kid}: keep this line where the broker cannot write it`);
      return 0;
    } finally {
      await audit.close();
    }
  },
};

const REPORT_FORMATS = ['md', 'html', 'json'] as const;

type ReportInput = Parameters<typeof buildAuditReport>[0];

/** The policy's roles (to find unused ones) from the policies folder; none, with a warning, when it does not load. */
async function localRoles(ctx: CommandContext): Promise<{ roles: string[]; hash: string }> {
  try {
    const { loadCompiledPolicy } = await import('../../broker/entry/node.ts');
    const policy = await loadCompiledPolicy(ctx.policiesDir);
    return { roles: [...policy.roles.keys()], hash: policy.hash };
  } catch (err) {
    ctx.err(`WARNING: the policy in ${ctx.policiesDir} does not load (${String(err)}): no roles to review against`);
    return { roles: [], hash: '' };
  }
}

/**
 * `audit report --broker URL`: the same inputs as the local report, from the admin API. The whole chain comes
 * from /v1/admin/audit/export (the broker refuses to sign a store that does not verify) and is verified here
 * again, against the broker's published JWKS: a chain or checkpoint altered in transit or by a proxy fails.
 * Secrets and signing keys are metadata only (names, versions, times, KEK ids), never a value.
 */
async function remoteReportInput(ctx: CommandContext, remote: AdminClient, since: number, now: number): Promise<ReportInput> {
  const [text, secrets, keys, health, jwks] = await Promise.all([
    remote.call('GET', 'v1/admin/audit/export').then((r) => r.text()),
    remote.json<{ versions: ReportInput['secretVersions']; current_kek_id: string }>('GET', 'v1/admin/secrets?history=1'),
    remote.json<{ keys: ReportInput['signingKeys'] }>('GET', 'v1/admin/keys'),
    remote.json<{ policy_hash?: string }>('GET', 'healthz'),
    loadJwks(brokerEndpoint(remote.url, '.well-known/jwks.json')),
  ]);
  const entries: VerifiableEntry[] = [];
  const checkpoints: LocatedCheckpoint[] = [];
  const records: AuditRecord[] = [];
  const source = `${remote.url} (audit export)`;
  for (const [i, lineText] of text.split('\n').entries()) {
    if (lineText.trim() === '') continue;
    const l = parseExportLine(lineText, i + 1, source);
    if ('checkpoint' in l) {
      checkpoints.push(l.checkpoint);
      continue;
    }
    entries.push(l);
    const r = l.record as unknown as AuditRecord;
    const t = Date.parse(r?.time);
    if (t >= since && t <= now) records.push(r);
  }
  const verification = await verifyAudit({ entries, checkpoints, keys: jwks, mode: 'file' });
  const local = await localRoles(ctx);
  const current = health.policy_hash ?? '';
  if (local.hash && current && local.hash !== current)
    ctx.err(
      `WARNING: the policy in ${ctx.policiesDir} (${local.hash}) is not the one the broker runs (${current}): unused roles are of the local one`,
    );
  return {
    since,
    now,
    records,
    roles: local.roles,
    policyHash: current,
    secretVersions: secrets.versions,
    signingKeys: keys.keys.map(({ kid, created_at, activates_at, kek_id }) => ({ kid, created_at, activates_at, kek_id })),
    currentKekId: secrets.current_kek_id,
    verification,
  };
}

const reportCmd: Command = {
  usage: 'audit report [--since 90d] [--format md|html|json] [--out FILE] [--broker URL]',
  summary:
    'Compliance evidence for the window: access review per role, unused roles, secret ages and rotations, signing keys, KEKs, chain and checkpoints, policy hashes.',
  options: { since: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, ...BROKER_OPTION },
  sqlite: (ctx) => str(ctx, 'broker') === undefined,
  async run(ctx) {
    const now = Date.now();
    const since = parseSince(str(ctx, 'since') ?? '90d', now);
    const format = str(ctx, 'format') ?? 'md';
    if (!(REPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError('--format must be md, html or json');
    const remote = remoteOf(ctx);
    let report: ReturnType<typeof buildAuditReport>;
    if (remote) report = buildAuditReport(await remoteReportInput(ctx, remote, since, now));
    else report = await localReport(ctx, since, now);
    const text =
      format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : format === 'html' ? renderHtml(report) : renderMarkdown(report);
    const outFile = str(ctx, 'out');
    if (outFile) writeFileSync(outFile, text, { mode: 0o600 });
    else ctx.out(text.replace(/\n$/, ''));
    const integrity = report.sections.audit_integrity;
    if (!integrity.chain_ok) ctx.err('the audit chain does NOT verify: the report says where');
    return integrity.chain_ok ? 0 : 1;
  },
};

async function localReport(ctx: CommandContext, since: number, now: number): Promise<ReturnType<typeof buildAuditReport>> {
  const audit = (await openAudit(ctx, { mustExist: true }))!;
  try {
    const records: AuditRecord[] = [];
    for await (const e of readAll(audit.store)) {
      const r = JSON.parse(e.record) as AuditRecord;
      const t = Date.parse(r.time);
      if (t >= since && t <= now) records.push(r);
    }
    const opened = await (await stores()).openIssuer(ctx, { keys: audit.keys, existingKek: true });
    if (!opened) ctx.err('WARNING: no KEK: no stored signing key can be trusted, so no checkpoint verifies');
    const keys = opened ? await opened.issuer.verificationKeys() : [];
    const located = (await listAll(audit.checkpoints)).map((c) => ({ jws: c.jws, source: 'the store' }));
    const verification = await verifyAudit({ entries: readAll(audit.store), checkpoints: located, keys, mode: 'store' });
    const { roles, hash } = await localRoles(ctx);
    const secretVersions = (await audit.secrets.all()).map(({ name, version, created_at, kek_id, max_age }) => ({
      name,
      version,
      created_at,
      kek_id,
      ...(max_age === undefined ? {} : { max_age }),
    }));
    const signingKeys = (await audit.keys.list()).map(({ kid, created_at, activates_at, kek_id }) => ({
      kid,
      created_at,
      activates_at,
      kek_id,
    }));
    return buildAuditReport({
      since,
      now,
      records,
      roles,
      policyHash: hash,
      secretVersions,
      signingKeys,
      currentKekId: opened?.kek.id ?? 'none',
      verification,
    });
  } finally {
    audit.close();
  }
}

export const auditCommands: Record<string, Command> = {
  'audit report': reportCmd,
  'audit list': list,
  'audit export': exportCmd,
  'audit verify': verify,
  'audit prune': prune,
  'audit checkpoint': checkpointCmd,
};
