import { monotonicFactory } from 'ulid';

const next = monotonicFactory();

/** Request ids are ULIDs: sortable by time, unique, and safe to show to callers. */
export function newRequestId(nowMs: number = Date.now()): string {
  return next(nowMs);
}
