// A store wrapper with D1-like round trips, for races that only show when statements are far apart in time.
import type { RevocationStore } from '../../broker/src/store/ports.ts';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * D1-like round trips: every store call waits `ms` before it reaches the store and `ms` before its answer
 * comes back. `executed` resolves once the first call of `method` has run in the store.
 */
export function withLatency(store: RevocationStore, ms: number, method: keyof RevocationStore = 'take') {
  let ran: () => void = () => {};
  const executed = new Promise<void>((resolve) => (ran = resolve));
  const wrapped = new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await sleep(ms);
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          if (key === method) ran();
          await sleep(ms);
        }
      };
    },
  });
  return { store: wrapped, executed };
}
