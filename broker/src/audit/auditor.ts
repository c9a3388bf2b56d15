// Appends records to the chain. Within one isolate appends are serialised (no wasted retries); across
// isolates or processes the store's insert-if-absent on seq resolves races and the loser retries.
import { BrokerError } from '../errors.ts';
import type { AuditEntry, AuditStore } from '../store/ports.ts';
import { buildEntry, GENESIS_HASH } from './chain.ts';
import type { AuditRecord } from './record.ts';

const MAX_ATTEMPTS = 50;

export class Auditor {
  readonly store: AuditStore;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(store: AuditStore) {
    this.store = store;
  }

  /** Resolves once the record is durably stored; throws ERR_UNAVAILABLE when it cannot be. */
  append(record: AuditRecord): Promise<AuditEntry> {
    const run = this.tail.then(() => this.appendNow(record));
    this.tail = run.catch(() => {});
    return run;
  }

  private async appendNow(record: AuditRecord): Promise<AuditEntry> {
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const head = await this.store.head();
        const entry = await buildEntry((head?.seq ?? 0) + 1, head?.hash ?? GENESIS_HASH, record);
        if (await this.store.insert(entry)) return entry;
      }
    } catch (err) {
      throw new BrokerError('ERR_UNAVAILABLE', 'audit.write_failed', { cause: err });
    }
    throw new BrokerError('ERR_UNAVAILABLE', 'audit.contention');
  }
}
