// What a log masker must know before anything is printed: every secret string in an exchange response, in
// every form it could appear in a log. Pure; the action feeds the result to core.setSecret.
import { PUBLIC_FIELDS } from './credentials.ts';

/** Lines made only of JSON punctuation ("{", "},", "]") are structure, not secret; masking them would star out every brace in the job log. */
const STRUCTURE_ONLY = /^[\s{}[\],:]*$/;

/**
 * The strings to mask for a raw 200 body (before it is validated, so that nothing can be printed first):
 * for every credential, every string field that is not a public descriptor (see PUBLIC_FIELDS), recursively.
 * Each value is expanded into the forms a log could show it in: the whole value, each of its lines, and for
 * a JSON value every string inside it (and their lines). Empty strings are never returned: masking "" is
 * meaningless, and the runner would ignore it at best.
 */
export function valuesToMask(body: unknown): string[] {
  const out = new Set<string>();
  const credentials = (body as { credentials?: unknown } | null)?.credentials;
  if (!Array.isArray(credentials)) return [];
  for (const credential of credentials) {
    if (typeof credential !== 'object' || credential === null) continue;
    for (const [field, value] of Object.entries(credential)) {
      if (PUBLIC_FIELDS.has(field)) continue;
      for (const s of stringsIn(value)) addForms(out, s);
    }
  }
  return [...out];
}

/** Every string leaf of a JSON-like value (object keys are structure, not secrets). */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringsIn);
  // Numbers and booleans are not treated as secret: masking "3" would garble every log line.
  return [];
}

function addForms(out: Set<string>, value: string, depth = 0): void {
  add(out, value);
  if (/[\r\n]/.test(value)) {
    for (const line of value.split(/\r\n|\r|\n/)) {
      // Trimmed: the masker matches substrings, so the trimmed line covers the indented one as well.
      const trimmed = line.trim();
      if (!STRUCTURE_ONLY.test(trimmed)) add(out, trimmed);
    }
  }
  // A JSON secret (a service account key, say) is printed field by field by tools that read it.
  const json = depth < 2 ? parseJsonContainer(value) : undefined;
  if (json !== undefined) {
    for (const s of stringsIn(json)) {
      addForms(out, s, depth + 1);
      // The escaped form is what appears in the raw value ("a\nb" with a backslash).
      const escaped = JSON.stringify(s).slice(1, -1);
      if (escaped !== s) add(out, escaped);
    }
  }
}

function add(out: Set<string>, s: string): void {
  if (s !== '') out.add(s);
}

function parseJsonContainer(value: string): unknown {
  const t = value.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return undefined;
  try {
    const parsed: unknown = JSON.parse(t);
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}
