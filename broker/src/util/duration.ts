// Durations in policy files and flags: "90s", "15m", "1h", "1h30m", "2d". Returns seconds.
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const DURATION = /^(?:\d+[smhd])+$/;

export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhd])/g)) {
    total += Number(n) * (UNIT_SECONDS[unit as string] ?? 0);
  }
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}

export function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
