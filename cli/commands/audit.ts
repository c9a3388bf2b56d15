import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { readAll, toExported, verifyChain, GENESIS_HASH, type ExportedEntry } from '../../broker/src/audit/chain.ts';
import type { AuditRecord } from '../../broker/src/audit/record.ts';
import type { AuditEntry } from '../../broker/src/store/ports.ts';
import { openAuditStore } from '../lib/stores.ts';
import { parseSince, str, UsageError, type Command, type CommandContext } from '../context.ts';

interface Filters {
  since?: number;
  until?: number;
  role?: string;
  decision?: string;
}

function filtersOf(ctx: CommandContext, defaultSince?: string): Filters {
  const now = Date.now();
  const since = str(ctx, 'since') ?? defaultSince;
  const until = str(ctx, 'until');
  const decision = str(ctx, 'decision');
  if (decision && !['allow', 'deny', 'error'].includes(decision)) throw new UsageError('--decision must be allow, deny or error');
  const role = str(ctx, 'role');
  return {
    ...(since ? { since: parseSince(since, now) } : {}),
    ...(until ? { until: parseSince(until, now) } : {}),
    ...(role ? { role } : {}),
    ...(decision ? { decision } : {}),
  };
}

function matches(record: AuditRecord, f: Filters): boolean {
  const t = Date.parse(record.time);
  if (f.since !== undefined && t < f.since) return false;
  if (f.until !== undefined && t > f.until) return false;
  if (f.role !== undefined && record.role !== f.role) return false;
  if (f.decision !== undefined && record.decision !== f.decision) return false;
  return true;
}

async function* filtered(entries: AsyncIterable<AuditEntry>, f: Filters): AsyncGenerator<AuditEntry & { parsed: AuditRecord }> {
  for await (const e of entries) {
    const parsed = JSON.parse(e.record) as AuditRecord;
    if (matches(parsed, f)) yield { ...e, parsed };
  }
}

const FILTER_OPTIONS = {
  since: { type: 'string' },
  until: { type: 'string' },
  role: { type: 'string' },
  decision: { type: 'string' },
} as const;

const list: Command = {
  usage: 'audit list [--since 24h] [--role R] [--decision allow|deny] [--json]',
  summary: 'Show audit records as a table (or JSON lines).',
  options: { ...FILTER_OPTIONS, json: { type: 'boolean' } },
  async run(ctx) {
    const f = filtersOf(ctx, '24h');
    const { store, close } = openAuditStore(ctx);
    try {
      let n = 0;
      if (!ctx.values.json) {
        ctx.out(`${'SEQ'.padEnd(7)} ${'TIME'.padEnd(20)} ${'DECISION'.padEnd(8)} ${'CODE'.padEnd(22)} ${'ROLE'.padEnd(24)} ${'IDENTITY'.padEnd(36)} REQUEST`);
      }
      for await (const e of filtered(readAll(store), f)) {
        n++;
        const r = e.parsed;
        if (ctx.values.json) {
          ctx.out(JSON.stringify(toExported(e)));
          continue;
        }
        const who = String(r.identity.repository ?? r.identity.project_path ?? r.subject ?? '-');
        ctx.out(
          `${String(e.seq).padEnd(7)} ${r.time.slice(0, 19).padEnd(20)} ${r.decision.padEnd(8)} ${r.code.padEnd(22)} ` +
            `${(r.role ?? '-').padEnd(24)} ${who.slice(0, 36).padEnd(36)} ${r.request_id}`,
        );
      }
      if (!ctx.values.json) ctx.err(`${n} record(s)`);
      return 0;
    } finally {
      close();
    }
  },
};

const exportCmd: Command = {
  usage: 'audit export [--since T] [--out FILE]',
  summary: 'Write the chain as JSON lines (for a SIEM); verify it later with audit verify --file.',
  options: { since: { type: 'string' }, out: { type: 'string' } },
  async run(ctx) {
    const f = filtersOf(ctx);
    const outFile = str(ctx, 'out');
    const out: NodeJS.WritableStream = outFile ? createWriteStream(outFile, { mode: 0o600 }) : process.stdout;
    const { store, close } = openAuditStore(ctx);
    let n = 0;
    try {
      // An export is a contiguous slice of the chain (from the first record at or after --since), so it verifies.
      let started = f.since === undefined;
      for await (const e of readAll(store)) {
        if (!started) started = Date.parse((JSON.parse(e.record) as AuditRecord).time) >= (f.since ?? 0);
        if (!started) continue;
        if (!out.write(`${JSON.stringify(toExported(e))}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
        n++;
      }
    } finally {
      close();
    }
    if (outFile) await new Promise<void>((resolve) => out.end(() => resolve()));
    ctx.err(`exported ${n} record(s)${outFile ? ` to ${outFile}` : ''}`);
    return 0;
  },
};

async function* readExport(file: string): AsyncGenerator<ExportedEntry & { line: number }> {
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text.trim() === '') continue;
    let parsed: ExportedEntry;
    try {
      parsed = JSON.parse(text) as ExportedEntry;
    } catch {
      parsed = { seq: Number.NaN, prev_hash: '', hash: '', record: {} };
    }
    yield { ...parsed, line };
  }
}

const verify: Command = {
  usage: 'audit verify [--file FILE]',
  summary: 'Verify the hash chain of the store or of an export; exit 1 at the first broken link.',
  options: { file: { type: 'string' } },
  async run(ctx) {
    const file = str(ctx, 'file');
    if (file) {
      // An export may start mid-chain (audit export --since): its first link is then taken as given.
      const lines: (ExportedEntry & { line: number })[] = [];
      for await (const e of readExport(file)) lines.push(e);
      const first = lines[0];
      const start = first && first.seq > 1 && typeof first.prev_hash === 'string' ? { seq: first.seq - 1, hash: first.prev_hash } : { seq: 0, hash: GENESIS_HASH };
      const result = await verifyChain(lines, start);
      if (!result.ok) {
        const at = lines[result.index];
        ctx.out(`audit chain BROKEN in ${file} at line ${at?.line ?? '?'} (record seq ${result.seq ?? '?'}): ${result.reason}`);
        return 1;
      }
      const from = start.seq > 0 ? ` (from seq ${start.seq + 1}; earlier records are not in the file)` : '';
      ctx.out(`audit chain OK: ${result.count} record(s) in ${file}${from}, head seq ${result.head?.seq ?? 0} ${result.head?.hash ?? GENESIS_HASH}`);
      return 0;
    }
    const { store, close } = openAuditStore(ctx);
    try {
      const result = await verifyChain(readAll(store));
      if (!result.ok) {
        ctx.out(`audit chain BROKEN in the store at record seq ${result.seq ?? '?'} (position ${result.index + 1}): ${result.reason}`);
        return 1;
      }
      ctx.out(`audit chain OK: ${result.count} record(s), head seq ${result.head?.seq ?? 0} ${result.head?.hash ?? GENESIS_HASH}`);
      return 0;
    } finally {
      close();
    }
  },
};

export const auditCommands: Record<string, Command> = {
  'audit list': list,
  'audit export': exportCmd,
  'audit verify': verify,
};
