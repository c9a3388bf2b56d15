// Alerts to a webhook (BROKER_ALERT_WEBHOOK: a JSON POST whose `text` Slack shows as it is): a burst of
// denials for one identity, an identity using a role for the first time, an audit write that failed, a
// checkpoint that could not be signed. An alert names what happened and where to look (role, identity,
// counts, reason, request id): never a credential, a token or its hash, a jti, a user agent. Alerts are
// rate-limited per subject of the alert and in total, and each alert sent (or failed to send) is itself an
// audit record (action `alert`), so the log shows who was told what and when.
import type { AuditObserver } from '../audit/auditor.ts';
import type { AuditEntry, AuditStore } from '../store/ports.ts';
import { reviewDecision, type Reason } from '../audit/reasons.ts';
import { identityName } from '../audit/query.ts';
import type { AuditRecord } from '../audit/record.ts';
import { newRequestId } from '../util/ids.ts';

export type AlertKind = 'denial_burst' | 'first_use' | 'audit_failure' | 'checkpoint_failure';

export interface AlertOptions {
  webhook: string;
  fetch: (input: string, init: RequestInit) => Promise<Response>;
  now: () => number;
  log?: (line: Record<string, unknown>) => void;
  policyHash: () => string;
  /** Denials for one identity within `windowMs` that make a burst (default 20 in 5 minutes). */
  burst?: number;
  windowMs?: number;
  /** After an alert, the same alert (same kind and subject) stays quiet this long (default 1 hour). */
  cooldownMs?: number;
  /** Alerts per hour at most, whatever their subject (default 30). */
  maxPerHour?: number;
  timeoutMs?: number;
}

/** What an alert is allowed to say: names, counts, codes. Nothing else from a record goes out. */
export interface AlertDetails {
  kind: AlertKind;
  role?: string | null;
  identity?: string | null;
  count?: number;
  window_s?: number;
  reason?: string;
  request_id?: string;
}

/** Writes the alert's own audit record (set once the auditor exists: it is built with this observer). */
type AppendFn = (record: AuditRecord) => Promise<unknown>;

const MAX_TRACKED = 10_000;
const SEED_RECORDS = 20_000;

/**
 * Slack's escaping (&, <, >): `<!channel>`, `<https://x|text>` and user mentions in claim text stay text.
 * Line breaks become spaces, so a value cannot forge a second line of the message.
 */
export function slackText(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\r\n\u2028\u2029]+/g, ' ');
}

const short = (v: string | null | undefined, max = 200) => (v ? (v.length > max ? `${v.slice(0, max - 1)}\u2026` : v) : '-');

export class Alerter implements Required<Pick<AuditObserver, 'appended' | 'failed'>> {
  private readonly opts: Required<Omit<AlertOptions, 'log'>> & Pick<AlertOptions, 'log'>;
  private append: AppendFn | undefined;
  private store: AuditStore | undefined;
  /** Denial times per identity, oldest first. */
  private readonly denials = new Map<string, number[]>();
  /** When each (kind, subject) may alert again. */
  private readonly quietUntil = new Map<string, number>();
  private sentTimes: number[] = [];
  /** (role, identity) pairs seen allowed; seeded from the log before the first decision. */
  private readonly seen = new Set<string>();
  private seeding: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<void>>();

  constructor(opts: AlertOptions) {
    this.opts = {
      burst: 20,
      windowMs: 5 * 60_000,
      cooldownMs: 3_600_000,
      maxPerHour: 30,
      timeoutMs: 5000,
      ...opts,
    };
  }

  /** The auditor that records each alert, and the store the first-use check reads its history from. */
  attach(append: AppendFn, store: AuditStore): void {
    this.append = append;
    this.store = store;
  }

  /** Resolves when every alert in flight has been sent and recorded (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  /** A log that also alerts on the checkpointer's failures. */
  watchLog(log: (line: Record<string, unknown>) => void): (line: Record<string, unknown>) => void {
    return (line) => {
      log(line);
      if (line.event === 'audit.checkpoint_failed' || line.event === 'audit.checkpoint_refused')
        this.raise(
          'checkpoint',
          { kind: 'checkpoint_failure', reason: String(line.event) },
          'audit checkpoints are failing: run `audit verify` and see the broker log',
        );
    };
  }

  appended(record: AuditRecord, entry: AuditEntry): void {
    if (record.action !== 'exchange') return;
    const decision = reviewDecision(record);
    const identity = identityName(record) ?? (record.client_ip ? `ip:${record.client_ip}` : null);
    if (decision === 'deny' && identity) this.countDenial(record, identity);
    if (decision === 'allow' && identity && record.role) this.track(this.firstUse(record, identity, entry.seq));
  }

  failed(record: AuditRecord, _error: unknown): void {
    this.raise(
      'audit',
      { kind: 'audit_failure', reason: 'audit.write_failed', request_id: record.request_id },
      'an audit record could not be written: the broker is failing closed',
    );
  }

  private countDenial(record: AuditRecord, identity: string): void {
    const now = this.opts.now();
    const times = (this.denials.get(identity) ?? []).filter((t) => t > now - this.opts.windowMs);
    times.push(now);
    this.denials.delete(identity);
    // Oldest identity out first: a flood of identities cannot grow this without bound.
    if (this.denials.size >= MAX_TRACKED) this.denials.delete(this.denials.keys().next().value!);
    this.denials.set(identity, times);
    if (times.length < this.opts.burst) return;
    this.denials.delete(identity);
    this.raise(
      `burst\u0000${identity}`,
      {
        kind: 'denial_burst',
        role: record.role,
        identity,
        count: times.length,
        window_s: Math.round(this.opts.windowMs / 1000),
        reason: record.reason,
        request_id: record.request_id,
      },
      `${times.length} denials in ${Math.round(this.opts.windowMs / 60_000)} min for ${short(identity)} (role ${short(record.role)}, last reason ${short(record.reason)})`,
    );
  }

  private async firstUse(record: AuditRecord, identity: string, seq: number): Promise<void> {
    this.seeding ??= this.seed(seq);
    await this.seeding;
    const key = `${record.role}\u0000${identity}`;
    if (this.seen.has(key)) return;
    if (this.seen.size >= MAX_TRACKED * 10) this.seen.clear();
    this.seen.add(key);
    this.raise(
      `first\u0000${key}`,
      { kind: 'first_use', role: record.role, identity, request_id: record.request_id },
      `${short(identity)} used role ${short(record.role)} for the first time`,
    );
  }

  /** The allowed (role, identity) pairs of the recent log, before the first record this alerter saw. */
  private async seed(beforeSeq: number): Promise<void> {
    if (!this.store) return;
    let before = beforeSeq;
    try {
      for (let read = 0; read < SEED_RECORDS; ) {
        const batch = await this.store.list({ beforeSeq: before, limit: 500, descending: true });
        if (!batch.length) return;
        for (const e of batch) {
          read++;
          before = e.seq;
          const r = JSON.parse(e.record) as AuditRecord;
          const who = identityName(r);
          if (r.action === 'exchange' && r.role && who && reviewDecision(r) === 'allow') this.seen.add(`${r.role}\u0000${who}`);
        }
      }
    } catch (err) {
      this.opts.log?.({ level: 'warn', event: 'alert.seed_failed', detail: String(err) });
    }
  }

  /** Sends unless the same alert is in its quiet period or the hourly budget is spent. */
  private raise(key: string, details: AlertDetails, text: string): void {
    const now = this.opts.now();
    if ((this.quietUntil.get(key) ?? 0) > now) return;
    this.sentTimes = this.sentTimes.filter((t) => t > now - 3_600_000);
    if (this.sentTimes.length >= this.opts.maxPerHour) {
      this.opts.log?.({ level: 'warn', event: 'alert.suppressed', kind: details.kind });
      return;
    }
    this.sentTimes.push(now);
    if (this.quietUntil.size >= MAX_TRACKED) this.quietUntil.clear();
    this.quietUntil.set(key, now + this.opts.cooldownMs);
    this.track(this.send(details, `secret-broker: ${slackText(text)}`));
  }

  private track(p: Promise<void>): void {
    const done = p
      .catch((err) => this.opts.log?.({ level: 'error', event: 'alert.failed', detail: String(err) }))
      .finally(() => this.inflight.delete(done));
    this.inflight.add(done);
  }

  private async send(details: AlertDetails, text: string): Promise<void> {
    let status = 0;
    let reason: Reason = 'alert.sent';
    try {
      const res = await this.opts.fetch(this.opts.webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text, alert: details }),
        redirect: 'error',
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      status = res.status;
      await res.body?.cancel();
      if (!res.ok) reason = 'alert.failed';
    } catch {
      reason = 'alert.failed';
    }
    const nowMs = this.opts.now();
    const query: Record<string, string> = { kind: details.kind, webhook_status: String(status) };
    for (const k of ['identity', 'count', 'reason', 'request_id'] as const)
      if (details[k] !== undefined && details[k] !== null) query[k] = String(details[k]);
    await this.append?.({
      time: new Date(nowMs).toISOString(),
      request_id: newRequestId(nowMs),
      action: 'alert',
      decision: reason === 'alert.sent' ? 'allow' : 'error',
      code: reason === 'alert.sent' ? 'OK' : 'ERR_UPSTREAM',
      reason,
      status: reason === 'alert.sent' ? 200 : 502,
      role: details.role ?? null,
      issuer: null,
      subject: null,
      identity: {},
      jti: null,
      token_sha256: null,
      client_ip: null,
      user_agent: null,
      credentials: [],
      policy_hash: this.opts.policyHash(),
      query,
    });
  }
}
