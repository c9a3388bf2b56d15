// Masking comes first: every secret string of the response is registered with the runner before the action
// prints anything else, so no later line (ours, a tool's, an output's) can show it in clear.
import { valuesToMask } from '../../client/mask.ts';

/** Registers every value of a raw 200 body with `setSecret` (core.setSecret). Returns how many. */
export function maskResponse(body: unknown, setSecret: (value: string) => void): number {
  const values = valuesToMask(body);
  for (const v of values) setSecret(v);
  return values.length;
}
