// Policy patterns on a linear-time engine. Claims are chosen by whoever can push a branch, so a pattern must
// never backtrack: every regex and every glob is translated to RE2 syntax and run by re2js (RE2's semantics:
// time linear in the claim, no backreferences, no lookarounds). Translation keeps JavaScript's meaning of
// the policy regex (`.`, `\s`, `\uXXXX`), and globs are compiled here (no lookaheads) with the semantics the
// README documents. Node and the Worker run the same code on the same engine, so they decide alike.
import { RE2JS } from 're2js';

/** Longer claims never match a pattern (an exact string condition still compares them whole). */
export const PATTERN_CLAIM_MAX = 1024;
/** RE2 instructions one pattern may compile to: matching costs at most (claim length x this) steps. */
export const PATTERN_PROGRAM_MAX = 256;
/** RE2 instructions all the patterns of one role may compile to together: bounds one exchange. */
export const ROLE_PROGRAM_MAX = 1024;

export interface Pattern {
  /** The RE2 source (unanchored; matching is always of the whole claim). Readable by regex-scan.ts. */
  source: string;
  /** RE2 instructions: the per-character cost bound. */
  size: number;
  test(value: string): boolean;
}

export type Translated = { ok: true; source: string } | { ok: false; error: string };

// JavaScript's \s (u mode), spelled for RE2, whose own \s is ASCII-only.
const JS_SPACE = '\\t\\n\\x{b}\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}';
const JS_NON_SPACE =
  '\\x{0}-\\x{8}\\x{e}-\\x{1f}\\x{21}-\\x{9f}\\x{a1}-\\x{167f}\\x{1681}-\\x{1fff}\\x{200b}-\\x{2027}\\x{202a}-\\x{202e}\\x{2030}-\\x{205e}\\x{2060}-\\x{2fff}\\x{3001}-\\x{fefe}\\x{ff00}-\\x{10ffff}';
const JS_DOT = '[^\\n\\r\\x{2028}\\x{2029}]';
const ANY = '\\x{0}-\\x{10ffff}';
const CONTROL: Record<string, number> = { t: 9, n: 10, v: 11, f: 12, r: 13 };

const hex = (cp: number) => `\\x{${cp.toString(16)}}`;

/**
 * A policy regex (JavaScript u-mode syntax, already known to be valid there) as RE2 source with the same
 * meaning, or why it cannot be one: backreferences, lookarounds and the multiline modifier have no
 * linear-time equivalent.
 */
export function translateRegex(source: string): Translated {
  const chars = [...source];
  let out = '';
  let pos = 0;
  // one entry per open group: whether `.` matches line terminators inside it ((?s:...))
  const dotAll: boolean[] = [false];
  const fail = (error: string): Translated => ({ ok: false, error });

  /** An escape after the backslash at `pos`; returns the RE2 text, inside a class or not. */
  function readEscape(inClass: boolean): string | { error: string } {
    const c = chars[pos + 1];
    if (c === undefined) return { error: 'a trailing backslash' };
    pos += 2;
    if ('dDwW'.includes(c)) return `\\${c}`;
    if (c === 's') return inClass ? JS_SPACE : `[${JS_SPACE}]`;
    if (c === 'S') return inClass ? JS_NON_SPACE : `[${JS_NON_SPACE}]`;
    if (c === 'b') return inClass ? hex(8) : '\\b';
    if (c === 'B') return '\\B';
    if (/[1-9]/.test(c) || c === 'k') return { error: `a backreference (\\${c}); match the value itself instead` };
    if (c === 'p' || c === 'P') {
      const end = chars.indexOf('}', pos);
      const body = chars.slice(pos, end + 1).join('');
      pos = end + 1;
      return `\\${c}${body}`;
    }
    if (c === '0') return hex(0);
    if (c === 'c') return hex(chars[pos++]!.codePointAt(0)! % 32);
    if (c === 'x') {
      const h = chars.slice(pos, pos + 2).join('');
      pos += 2;
      return hex(parseInt(h, 16));
    }
    if (c === 'u') {
      if (chars[pos] === '{') {
        const end = chars.indexOf('}', pos);
        const cp = parseInt(chars.slice(pos + 1, end).join(''), 16);
        pos = end + 1;
        return hex(cp);
      }
      let cp = parseInt(chars.slice(pos, pos + 4).join(''), 16);
      pos += 4;
      // u mode reads an escaped surrogate pair as one code point
      if (cp >= 0xd800 && cp <= 0xdbff && chars[pos] === '\\' && chars[pos + 1] === 'u' && chars[pos + 2] !== '{') {
        const low = parseInt(chars.slice(pos + 2, pos + 6).join(''), 16);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          pos += 6;
        }
      }
      return hex(cp);
    }
    const control = CONTROL[c];
    if (control !== undefined) return hex(control);
    return `\\${c}`; // an identity escape: u mode allows only syntax characters, "/" and (in a class) "-"
  }

  while (pos < chars.length) {
    const c = chars[pos]!;
    if (c === '\\') {
      const e = readEscape(false);
      if (typeof e !== 'string') return fail(e.error);
      out += e;
    } else if (c === '.') {
      out += dotAll[dotAll.length - 1] ? `[${ANY}]` : JS_DOT;
      pos++;
    } else if (c === '[') {
      pos++;
      const negated = chars[pos] === '^';
      if (negated) pos++;
      let body = '';
      while (pos < chars.length && chars[pos] !== ']') {
        const d = chars[pos]!;
        if (d === '\\') {
          const e = readEscape(true);
          if (typeof e !== 'string') return fail(e.error);
          body += e;
        } else {
          // "[" is literal in a u-mode class; RE2 would read "[:" as a POSIX class
          body += d === '[' ? '\\[' : d;
          pos++;
        }
      }
      pos++; // ]
      // JavaScript's [] never matches and [^] matches anything; RE2 has no empty class
      if (body === '') out += negated ? `[${ANY}]` : `[^${ANY}]`;
      else out += `[${negated ? '^' : ''}${body}]`;
    } else if (c === '(') {
      const rest = chars.slice(pos, pos + 4).join('');
      if (/^\(\?(?:[=!]|<[=!])/.test(rest))
        return fail('a lookahead or lookbehind ((?=, (?!, (?<=, (?<!); spell out the values it should admit');
      if (rest.startsWith('(?<')) {
        out += '(?P<';
        pos += 3;
        dotAll.push(dotAll[dotAll.length - 1]!);
      } else if (rest.startsWith('(?')) {
        const m = /^\(\?([a-z]*)(?:-([a-z]*))?:/.exec(chars.slice(pos, pos + 16).join(''));
        if (!m) return fail('an unknown group syntax');
        const on = m[1] ?? '';
        const off = m[2] ?? '';
        if (on.includes('m') || off.includes('m')) return fail('the multiline modifier (?m:...); a claim is one line, match it whole');
        const dot = on.includes('s') ? true : off.includes('s') ? false : dotAll[dotAll.length - 1]!;
        dotAll.push(dot);
        // `s` is applied by the translation of "."; RE2 gets only `i`
        const keep = (flags: string) => flags.replace(/[^i]/g, '');
        const flags = keep(on) + (keep(off) ? `-${keep(off)}` : '');
        out += flags ? `(?${flags}:` : '(?:';
        pos += [...m[0]].length;
      } else {
        out += '(';
        pos++;
        dotAll.push(dotAll[dotAll.length - 1]!);
      }
    } else if (c === ')') {
      dotAll.pop();
      out += ')';
      pos++;
    } else {
      out += c;
      pos++;
    }
  }
  return { ok: true, source: out };
}

// ---------------------------------------------------------------------------------------------------------
// Globs

const REGEX_SYNTAX = /[\\^$.*+?()[\]{}|/]/;
const lit = (c: string) => (REGEX_SYNTAX.test(c) ? `\\${c}` : c);
/** A segment that is not "." or "..", and not empty: what a wildcard-led segment may match. */
const NAMED_SEGMENT = '(?:[^/.][^/]*|\\.[^/.][^/]*|\\.\\.[^/]+)';
const POSIX: Record<string, string> = {
  alnum: 'a-zA-Z0-9',
  alpha: 'a-zA-Z',
  digit: '0-9',
  lower: 'a-z',
  upper: 'A-Z',
  xdigit: '0-9a-fA-F',
  word: '\\w',
  space: ' \\t\\n\\r\\f\\v',
};

type GlobNode =
  | { kind: 'text'; source: string; fixed: boolean }
  | { kind: 'star' }
  | { kind: 'globstar' }
  | { kind: 'alt'; options: GlobNode[][] };

/**
 * A glob as RE2 source. `*` is any run of characters other than "/", `?` one such character, `[...]` one
 * character of a set (`[^...]` one character outside it and never "/"; `!` is literal), `{a,b}` either
 * spelling (nested, `{1..9}`/`{a..f}` ranges), `**` as a whole segment any number of segments, `\` escapes;
 * every other character (`(`, `|`, `!`, `+`, `@`) is literal. A segment that starts with `*` or `**` is never
 * empty, "." or ".."; a leading "./" is literal. Matching is of the whole claim, case-sensitively.
 */
export function globToRegex(glob: string): Translated {
  const chars = [...glob];
  let pos = 0;

  function parseSeq(inBrace: boolean): GlobNode[] | string {
    const seq: GlobNode[] = [];
    while (pos < chars.length) {
      const c = chars[pos]!;
      if (inBrace && (c === ',' || c === '}')) return seq;
      if (c === '\\') {
        const next = chars[pos + 1];
        if (next === undefined) return 'a trailing backslash';
        seq.push({ kind: 'text', source: lit(next), fixed: next !== '.' });
        pos += 2;
      } else if (c === '*') {
        let n = 0;
        while (chars[pos] === '*') {
          pos++;
          n++;
        }
        const prev = chars[pos - n - 1];
        const wholeSegment = n >= 2 && (prev === undefined || prev === '/') && (chars[pos] === undefined || chars[pos] === '/');
        seq.push(wholeSegment ? { kind: 'globstar' } : { kind: 'star' });
      } else if (c === '?') {
        seq.push({ kind: 'text', source: '[^/]', fixed: false });
        pos++;
      } else if (c === '[') {
        const cls = parseClass();
        if (cls === undefined) {
          seq.push({ kind: 'text', source: '\\[', fixed: true });
          pos++;
        } else seq.push({ kind: 'text', source: cls, fixed: false });
      } else if (c === '{') {
        const alt = parseBrace();
        if (typeof alt === 'string') return alt;
        seq.push(alt);
      } else {
        seq.push({ kind: 'text', source: lit(c), fixed: c !== '.' });
        pos++;
      }
    }
    if (inBrace) return 'an unclosed "{"';
    return seq;
  }

  /** `[...]` at pos, or undefined when there is no closing "]" (then "[" is literal). */
  function parseClass(): string | undefined {
    let i = pos + 1;
    const negated = chars[i] === '^';
    if (negated) i++;
    let body = '';
    let first = true;
    while (i < chars.length && (chars[i] !== ']' || first)) {
      const d = chars[i]!;
      first = false;
      if (d === '[' && chars[i + 1] === ':') {
        const end = chars.indexOf(']', i + 2);
        const name = chars.slice(i + 2, end - 1).join('');
        const range = chars[end - 1] === ':' ? POSIX[name] : undefined;
        if (range === undefined) return undefined;
        body += range;
        i = end + 1;
        continue;
      }
      if (d === '\\' && chars[i + 1] !== undefined) {
        const e = chars[i + 1]!;
        body += /[\\^$.*+?()[\]{}|/-]/.test(e) ? `\\${e}` : e;
        i += 2;
        continue;
      }
      body += /[\\\]^[]/.test(d) ? `\\${d}` : d === '-' && (chars[i + 1] === ']' || body === '') ? '\\-' : d;
      i++;
    }
    if (i >= chars.length) return undefined;
    pos = i + 1;
    return `[${negated ? '^/' : ''}${body}]`;
  }

  function parseBrace(): GlobNode | string {
    const close = matchingBrace(pos);
    const inner = close === undefined ? undefined : chars.slice(pos + 1, close).join('');
    const range = inner === undefined ? null : /^(?:(-?[1-9]\d*|0)\.\.(-?[1-9]\d*|0)|([A-Za-z])\.\.([A-Za-z]))$/.exec(inner);
    if (close !== undefined && range) {
      pos = close + 1;
      const [a, b] = range[1] !== undefined ? [Number(range[1]), Number(range[2])] : [range[3]!.codePointAt(0)!, range[4]!.codePointAt(0)!];
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      if (hi - lo > 255) return `a brace range ${inner} with more than 256 values`;
      const values = Array.from({ length: hi - lo + 1 }, (_, k) =>
        range[1] !== undefined ? String(lo + k) : String.fromCodePoint(lo + k),
      );
      return { kind: 'alt', options: values.map((v) => [{ kind: 'text', source: [...v].map(lit).join(''), fixed: true }]) };
    }
    if (close === undefined) return 'an unclosed "{"';
    if (!hasTopLevelComma(pos, close)) {
      // `{a}` and a lone "}" mean themselves
      pos++;
      return { kind: 'text', source: '\\{', fixed: true };
    }
    pos++;
    const options: GlobNode[][] = [];
    for (;;) {
      const seq = parseSeq(true);
      if (typeof seq === 'string') return seq;
      options.push(seq);
      if (chars[pos++] === '}') break;
    }
    return { kind: 'alt', options };
  }

  function matchingBrace(open: number): number | undefined {
    let depth = 0;
    for (let i = open; i < chars.length; i++) {
      if (chars[i] === '\\') i++;
      else if (chars[i] === '{') depth++;
      else if (chars[i] === '}' && --depth === 0) return i;
    }
    return undefined;
  }

  function hasTopLevelComma(open: number, close: number): boolean {
    let depth = 0;
    for (let i = open + 1; i < close; i++) {
      if (chars[i] === '\\') i++;
      else if (chars[i] === '{') depth++;
      else if (chars[i] === '}') depth--;
      else if (chars[i] === ',' && depth === 0) return true;
    }
    return false;
  }

  const seq = parseSeq(false);
  if (typeof seq === 'string') return { ok: false, error: seq };
  if (pos < chars.length) return { ok: false, error: 'an unexpected "}"' };
  return { ok: true, source: emit(seq, true) };
}

/** Whether what follows a leading `*` in its segment must contain a character other than "." (so the segment is never "." or ".."). */
function restIsNamed(seq: GlobNode[], from: number): boolean {
  for (let i = from; i < seq.length; i++) {
    const n = seq[i]!;
    if (n.kind === 'text' && n.source === '\\/') return false;
    if (n.kind === 'text' && n.fixed) return true;
    if (n.kind === 'alt') return n.options.every((o) => restIsNamed([...o, ...seq.slice(i + 1)], 0));
  }
  return false;
}

function emit(seq: GlobNode[], segmentStart: boolean): string {
  let out = '';
  let atStart = segmentStart;
  for (let i = 0; i < seq.length; i++) {
    const n = seq[i]!;
    const next = seq[i + 1];
    if (n.kind === 'text') {
      out += n.source;
      atStart = n.source === '\\/';
    } else if (n.kind === 'alt') {
      out += `(?:${n.options.map((o) => emit(o, atStart)).join('|')})`;
      atStart = false;
    } else if (n.kind === 'star') {
      // a segment led by `*` is never empty, "." or ".."; elsewhere `*` is any run without "/"
      out += atStart && !restIsNamed(seq, i + 1) ? NAMED_SEGMENT : '[^/]*';
      atStart = false;
    } else {
      // `**` as a whole segment: any number of named segments ("a/**" also matches "a", "**/b" also "b")
      const followedBySlash = next?.kind === 'text' && next.source === '\\/';
      const precededBySlash = out.endsWith('\\/');
      if (followedBySlash) {
        out += `(?:${NAMED_SEGMENT}\\/)*`;
        i++; // the "/" is part of the repetition
        atStart = true;
      } else if (precededBySlash) {
        out = `${out.slice(0, -2)}(?:\\/${NAMED_SEGMENT})*`;
        atStart = false;
      } else {
        out += `${NAMED_SEGMENT}(?:\\/${NAMED_SEGMENT})*`;
        atStart = false;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------

/** Compiles RE2 source, anchored to the whole claim and bounded in size; throws with the reason. */
export function compileRe2(source: string): Pattern {
  const re = RE2JS.compile(`^(?:${source})$`);
  const size = re.programSize();
  if (size > PATTERN_PROGRAM_MAX) {
    throw new Error(
      `compiles to ${size} RE2 instructions, more than ${PATTERN_PROGRAM_MAX}; split it into a list of simpler patterns or spell the values out`,
    );
  }
  return {
    source,
    size,
    test: (value) => value.length <= PATTERN_CLAIM_MAX && re.testExact(value),
  };
}

/** Why a policy regex cannot be used (for the schema), or undefined. */
export function regexProblem(source: string): string | undefined {
  try {
    new RegExp(source, 'u');
  } catch {
    return 'not a valid regular expression';
  }
  const t = translateRegex(source);
  if (!t.ok) return `not supported by the linear-time matcher: ${t.error}`;
  try {
    compileRe2(t.source);
    return undefined;
  } catch (e) {
    return `not supported by the linear-time matcher: ${(e as Error).message}`;
  }
}

/** Why a glob cannot be used (for the schema), or undefined. */
export function globProblem(glob: string): string | undefined {
  const t = globToRegex(glob);
  if (!t.ok) return `not a valid glob: ${t.error}`;
  try {
    compileRe2(t.source);
    return undefined;
  } catch (e) {
    return `too complex a glob: ${(e as Error).message}`;
  }
}

export function compileRegexPattern(source: string): Pattern {
  const t = translateRegex(source);
  if (!t.ok) throw new Error(`regex ${JSON.stringify(source)}: ${t.error}`);
  return compileRe2(t.source);
}

export function compileGlobPattern(glob: string): Pattern {
  const t = globToRegex(glob);
  if (!t.ok) throw new Error(`glob ${JSON.stringify(glob)}: ${t.error}`);
  return compileRe2(t.source);
}

/** RE2 instructions of the patterns in one condition (0 for exact values and for patterns the schema refuses). */
export function patternCost(condition: unknown): number {
  const singles = Array.isArray(condition) ? condition : [condition];
  let sum = 0;
  for (const s of singles) {
    if (typeof s !== 'object' || s === null) continue;
    try {
      if ('glob' in s && typeof s.glob === 'string') sum += compileGlobPattern(s.glob).size;
      else if ('regex' in s && typeof s.regex === 'string') sum += compileRegexPattern(s.regex).size;
    } catch {
      // refused on its own by the condition's schema
    }
  }
  return sum;
}
