// A small reader for the regexes in policies (and for the regexes globs compile to, pattern.ts), enough to
// answer what the lint and the diff ask: can a wildcard part match "/"? Is the owner (the text before the
// first "/") spelled literally? Which strings does a pattern admit (witnesses for "now also matches ...")?
// It is not a full regex engine: every question about one character class is answered by the platform's
// own RegExp, and anything it does not understand makes the answer the cautious one.

export type RegexNode =
  /** One character: a literal (`a`, `\/`, `\x2f`) or a set (`.`, `[^/]`, `\S`, `\p{L}`). */
  | { kind: 'char'; source: string; literal: string | undefined; min: number; max: number }
  | { kind: 'group'; lookaround: boolean; alternatives: RegexNode[][]; modifiers: string | undefined; min: number; max: number }
  /** `^`, `$`, `\b`, `\B`: consume nothing. */
  | { kind: 'assertion'; source: string }
  | { kind: 'backref'; source: string; min: number; max: number };

export type Alternatives = RegexNode[][];

const CONTROL: Record<string, string> = { t: '\t', n: '\n', r: '\r', v: '\v', f: '\f', '0': '\0' };

/** Parses a regex source (u-mode syntax); undefined when it cannot (callers then assume the worst). */
export function parseRegex(source: string): Alternatives | undefined {
  const chars = [...source];
  let pos = 0;

  const peek = (offset = 0): string | undefined => chars[pos + offset];

  function parseAlternatives(inGroup: boolean): Alternatives {
    const alternatives: Alternatives = [[]];
    while (pos < chars.length) {
      const c = chars[pos]!;
      if (c === ')') {
        if (!inGroup) throw new Error('unbalanced )');
        return alternatives;
      }
      if (c === '|') {
        pos++;
        alternatives.push([]);
        continue;
      }
      const node = parseAtom();
      const current = alternatives[alternatives.length - 1]!;
      if (node.kind !== 'assertion') applyQuantifier(node);
      current.push(node);
    }
    if (inGroup) throw new Error('unterminated group');
    return alternatives;
  }

  function applyQuantifier(node: Exclude<RegexNode, { kind: 'assertion' }>): void {
    const c = peek();
    let q: [number, number] | undefined;
    if (c === '*') q = [0, Infinity];
    else if (c === '+') q = [1, Infinity];
    else if (c === '?') q = [0, 1];
    if (q) {
      pos++;
    } else if (c === '{') {
      const rest = chars.slice(pos).join('');
      const m = /^\{(\d+)(,(\d*))?\}/.exec(rest);
      if (!m) return;
      pos += [...m[0]].length;
      const min = Number(m[1]);
      q = [min, m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3])];
    }
    if (!q) return;
    if (peek() === '?') pos++; // lazy: same language
    node.min *= q[0];
    node.max = node.max * q[1];
    if (Number.isNaN(node.max)) node.max = 0;
  }

  function parseAtom(): RegexNode {
    const c = chars[pos]!;
    if (c === '^' || c === '$') {
      pos++;
      return { kind: 'assertion', source: c };
    }
    if (c === '.') {
      pos++;
      return { kind: 'char', source: '.', literal: undefined, min: 1, max: 1 };
    }
    if (c === '[') return parseClass();
    if (c === '(') return parseGroup();
    if (c === '\\') return parseEscape();
    pos++;
    return { kind: 'char', source: escapeLiteral(c), literal: c, min: 1, max: 1 };
  }

  function parseClass(): RegexNode {
    const start = pos;
    pos++; // [
    if (peek() === '^') pos++; // in JS a ] right after [ or [^ closes the class: [] and [^] are sets too
    while (pos < chars.length && chars[pos] !== ']') {
      if (chars[pos] === '\\') pos++;
      pos++;
    }
    if (pos >= chars.length) throw new Error('unterminated class');
    pos++; // ]
    return { kind: 'char', source: chars.slice(start, pos).join(''), literal: undefined, min: 1, max: 1 };
  }

  function parseGroup(): RegexNode {
    pos++; // (
    let lookaround = false;
    let modifiers: string | undefined;
    if (peek() === '?') {
      const rest = chars.slice(pos).join('');
      if (rest.startsWith('?:')) pos += 2;
      else if (rest.startsWith('?=') || rest.startsWith('?!')) {
        pos += 2;
        lookaround = true;
      } else if (rest.startsWith('?<=') || rest.startsWith('?<!')) {
        pos += 3;
        lookaround = true;
      } else if (rest.startsWith('?<')) {
        const end = rest.indexOf('>');
        if (end < 0) throw new Error('bad group name');
        pos += [...rest.slice(0, end + 1)].length;
      } else {
        const m = /^\?([a-z]*(?:-[a-z]*)?):/.exec(rest);
        if (!m) throw new Error('unknown group');
        modifiers = m[1];
        pos += [...m[0]].length;
      }
    }
    const alternatives = parseAlternatives(true);
    pos++; // )
    return { kind: 'group', lookaround, alternatives, modifiers, min: 1, max: 1 };
  }

  function parseEscape(): RegexNode {
    const start = pos;
    pos++; // backslash
    const c = chars[pos];
    if (c === undefined) throw new Error('trailing backslash');
    pos++;
    const source = () => chars.slice(start, pos).join('');
    if ('dDwWsS'.includes(c)) return { kind: 'char', source: source(), literal: undefined, min: 1, max: 1 };
    if (c === 'b' || c === 'B') return { kind: 'assertion', source: source() };
    if (c === 'p' || c === 'P') {
      while (pos < chars.length && chars[pos] !== '}') pos++;
      pos++;
      return { kind: 'char', source: source(), literal: undefined, min: 1, max: 1 };
    }
    if (/[1-9]/.test(c)) {
      while (pos < chars.length && /[0-9]/.test(chars[pos]!)) pos++;
      return { kind: 'backref', source: source(), min: 1, max: 1 };
    }
    if (c === 'k') {
      while (pos < chars.length && chars[pos] !== '>') pos++;
      pos++;
      return { kind: 'backref', source: source(), min: 1, max: 1 };
    }
    if (c === 'x') {
      const hex = chars.slice(pos, pos + 2).join('');
      pos += 2;
      return literalNode(source(), String.fromCodePoint(parseInt(hex, 16)));
    }
    if (c === 'u') {
      if (peek() === '{') {
        const rest = chars.slice(pos).join('');
        const end = rest.indexOf('}');
        const hex = rest.slice(1, end);
        pos += end + 1;
        return literalNode(source(), String.fromCodePoint(parseInt(hex, 16)));
      }
      const hex = chars.slice(pos, pos + 4).join('');
      pos += 4;
      return literalNode(source(), String.fromCharCode(parseInt(hex, 16)));
    }
    if (c === 'c') {
      const letter = chars[pos] ?? 'A';
      pos++;
      return literalNode(source(), String.fromCharCode(letter.charCodeAt(0) % 32));
    }
    const control = CONTROL[c];
    return literalNode(source(), control ?? c);
  }

  try {
    const result = parseAlternatives(false);
    return result;
  } catch {
    return undefined;
  }
}

function literalNode(source: string, literal: string): RegexNode {
  return { kind: 'char', source, literal, min: 1, max: 1 };
}

function escapeLiteral(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

/** Whether one character node can match `ch`; the platform's RegExp decides for sets. */
export function charAdmits(node: Extract<RegexNode, { kind: 'char' }>, ch: string): boolean {
  if (node.literal !== undefined) return node.literal === ch;
  try {
    return new RegExp(`^(?:${node.source})$`, 'u').test(ch);
  } catch {
    try {
      return new RegExp(`^(?:${node.source})$`).test(ch);
    } catch {
      return true;
    }
  }
}

/**
 * The parts through which the pattern can match "/" more than a fixed number of times: a set that admits "/"
 * (`.`, `[^x]`, `\S`, `[/]`), a "/" (however spelled: `\/`, `\x2f`, `\u002f`) under a quantifier, a
 * repeated group that can match "/" (`(x|/)+`, `(?:a/)*`), a backreference (it repeats a group). Lookarounds
 * count as their contents (the matcher refuses them anyway). Returns their sources; undefined when the
 * regex could not be read.
 */
export function slashWildcards(alternatives: Alternatives | undefined): string[] | undefined {
  if (!alternatives) return undefined;
  const found: string[] = [];
  const canMatchSlash = (alts: Alternatives): boolean =>
    alts.some((seq) =>
      seq.some((n) =>
        n.kind === 'char'
          ? n.max > 0 && charAdmits(n, '/')
          : n.kind === 'group'
            ? n.max > 0 && canMatchSlash(n.alternatives)
            : n.kind === 'backref',
      ),
    );
  const walk = (alts: Alternatives) => {
    for (const seq of alts) {
      for (const node of seq) {
        if (node.kind === 'backref') found.push(node.source);
        if (node.kind === 'char' && node.max > 0 && charAdmits(node, '/') && (node.literal === undefined || node.max > 1))
          found.push(node.source);
        if (node.kind === 'group' && node.max > 0) {
          if (node.max > 1 && canMatchSlash(node.alternatives))
            found.push(`(${groupSource(node.alternatives)})${node.max === Infinity ? '*' : `{,${node.max}}`}`);
          else walk(node.alternatives);
        }
      }
    }
  };
  walk(alternatives);
  return found;
}

function groupSource(alts: Alternatives): string {
  const text = alts.map((seq) => seq.map((n) => (n.kind === 'group' ? `(${groupSource(n.alternatives)})` : n.source)).join('')).join('|');
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

/**
 * Inline modifiers (`(?i:`, `(?i)`, `(?-i:`) in a regex source, found by reading it: escapes and classes are
 * skipped as the regex engine skips them, so `\\(?i:x)` (an escaped backslash, then a group) is found and
 * `\(?i:x)` (an escaped parenthesis) is not. Works on sources that do not parse too.
 */
export function inlineModifiers(source: string): string[] {
  const chars = [...source];
  const found: string[] = [];
  let inClass = false;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      if (chars[i + 1] === '^') i++;
      continue;
    }
    if (c === '(' && chars[i + 1] === '?') {
      const m = /^\(\?(?:[a-zA-Z]+(?:-[a-zA-Z]*)?|-[a-zA-Z]+)[:)]/.exec(chars.slice(i, i + 24).join(''));
      if (m) found.push(m[0]);
    }
  }
  return found;
}

/** Inline modifier groups such as `(?i:...)`, anywhere in the regex. */
export function modifierGroups(alternatives: Alternatives | undefined): string[] {
  if (!alternatives) return [];
  const found: string[] = [];
  const walk = (alts: Alternatives) => {
    for (const seq of alts) {
      for (const node of seq) {
        if (node.kind === 'group') {
          if (node.modifiers !== undefined) found.push(`(?${node.modifiers}:`);
          walk(node.alternatives);
        }
      }
    }
  };
  walk(alternatives);
  return found;
}

const MAX_PATHS = 256;

/**
 * Whether every string the regex admits starts with a literally spelled prefix up to the `(skip + 1)`-th "/"
 * (or is entirely literal): i.e. the owner segment cannot vary beyond a finite list of spellings. Groups of
 * literal alternatives (`(acme|other)/`) count as spelled out. Cautious: anything else is "not fixed".
 */
export function prefixIsLiteral(alternatives: Alternatives | undefined, skip = 0): boolean {
  if (!alternatives) return false;
  let budget = MAX_PATHS;
  const check = (seq: RegexNode[], slashes: number): boolean => {
    if (--budget < 0) return false;
    for (let i = 0; i < seq.length; i++) {
      const node = seq[i]!;
      if (node.kind === 'assertion') continue;
      if (node.kind === 'group' && node.lookaround) continue;
      if (node.kind === 'backref') return false;
      if (node.kind === 'char') {
        if (node.literal === undefined || node.min !== node.max) return false;
        if (node.literal === '/' && node.max > 0) {
          slashes += node.max;
          if (slashes > skip) return true;
        }
        continue;
      }
      // a group: each alternative followed by the rest of this sequence must be literal up to the slash
      if (node.min !== 1 || node.max !== 1 || node.modifiers !== undefined) return false;
      const rest = seq.slice(i + 1);
      return node.alternatives.every((alt) => check([...alt, ...rest], slashes));
    }
    return true;
  };
  return alternatives.every((seq) => check(seq, 0));
}

/** Characters tried for a set when making witnesses: ordinary first, then the separators that matter. */
const POOL = ['a', 'x', '0', '7', 'Z', '-', '_', '.', '/', '@', ':', ' ', '*'];

/**
 * Strings the pattern may admit, made by walking it: the shortest spelling, then variants that each change
 * one part (a longer repetition, another character of a set, another alternative). Callers keep only those
 * the compiled pattern really matches. Used as witnesses: "now also matches refs/heads/x/y".
 */
export function sampleStrings(alternatives: Alternatives | undefined, limit = 64): string[] {
  if (!alternatives) return [];
  const out = new Set<string>();
  for (const seq of alternatives) {
    for (const s of expandSeq(seq)) {
      out.add(s);
      if (out.size >= limit) return [...out];
    }
  }
  return [...out];
}

/** Options for one node: the first is the minimal spelling. */
function nodeOptions(node: RegexNode): string[] {
  if (node.kind === 'assertion' || node.kind === 'backref') return [''];
  if (node.kind === 'group' && node.lookaround) return [''];
  let unit: string[];
  if (node.kind === 'char') {
    unit = node.literal !== undefined ? [node.literal] : POOL.filter((ch) => charAdmits(node, ch)).slice(0, 4);
    if (node.literal === undefined && charAdmits(node, '/') && !unit.includes('/')) unit.push('/');
    if (unit.length === 0) return [''];
  } else {
    unit = [];
    for (const alt of node.alternatives) unit.push(...expandSeq(alt).slice(0, 8));
    if (unit.length === 0) unit = [''];
  }
  const first = unit[0]!;
  const min = node.min;
  // The typical spelling first: an optional or repeated part once (a glob's `*` as "x", not as nothing),
  // so that a sample with several wildcards has them all filled; the empty spelling is a variant.
  const typical = node.max >= 1 ? Math.max(min, 1) : 0;
  const options = [first.repeat(typical)];
  if (min === 0 && typical > 0) options.push('');
  for (const u of unit.slice(1)) options.push(first.repeat(Math.max(0, typical - 1)) + u);
  if (node.max > min) {
    options.push(first.repeat(min + 1));
    if (node.max > min + 1) {
      options.push(first.repeat(min) + (unit[1] ?? first) + first);
      // a slash between two ordinary characters: the witness for "crosses a path segment"
      const slashy = unit.find((u) => u.includes('/'));
      if (slashy !== undefined && node.max > min + 2) options.push(first.repeat(Math.max(1, min)) + slashy + first);
    }
  }
  return [...new Set(options)];
}

function expandSeq(seq: RegexNode[]): string[] {
  const options = seq.map(nodeOptions);
  const base = options.map((o) => o[0]!);
  const out = [base.join('')];
  options.forEach((opts, i) => {
    for (const alt of opts.slice(1)) {
      const parts = [...base];
      parts[i] = alt;
      out.push(parts.join(''));
    }
  });
  return out;
}

/** How odd a sample looks to a reviewer (0 is ordinary): empty, an empty path segment, a leading or trailing "/". */
export function oddness(s: string): number {
  return (s === '' ? 4 : 0) + (s.includes('//') ? 2 : 0) + (/^\/|\/$/.test(s) ? 1 : 0);
}
