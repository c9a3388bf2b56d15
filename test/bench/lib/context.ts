// What every bench section gets: the mode, a progress line on stderr, and a clock.
export interface BenchContext {
  quick: boolean;
  progress(message: string): void;
  /** Seconds since the bench started. */
  elapsed(): number;
}

export function createContext(quick: boolean): BenchContext {
  const start = performance.now();
  return {
    quick,
    progress: (message) => process.stderr.write(`[bench ${((performance.now() - start) / 1000).toFixed(1).padStart(5)} s] ${message}\n`),
    elapsed: () => (performance.now() - start) / 1000,
  };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
