// A small, strict XML reader for the cloud APIs that still answer in XML (AWS STS's Query protocol). workerd
// has no DOMParser, and a regex over the body could be fooled by an element name inside a message, so this
// parses the whole document into a tree and refuses anything a well-behaved API never sends: DTDs and
// entities beyond the five predefined ones (no entity expansion at all), comments, CDATA, processing
// instructions other than the XML declaration, mixed content, text outside the root, unbalanced tags,
// repeated attributes. Element lookups demand exactly one match, so a duplicated element is an error
// rather than a silent first-wins.

export interface XmlElement {
  /** The qualified name as written (`Credentials`, or `p:Credentials` with a prefix). */
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Decoded character data (only for elements without children). */
  text: string;
}

export type XmlResult<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface XmlLimits {
  maxDepth: number;
  maxElements: number;
}

const DEFAULT_LIMITS: XmlLimits = { maxDepth: 16, maxElements: 512 };
const NAME = /[A-Za-z_][A-Za-z0-9_.-]*(?::[A-Za-z_][A-Za-z0-9_.-]*)?/y;
const WHITESPACE = /[ \t\r\n]*/y;
const DECLARATION =
  /<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(["'])1\.[0-9]\1(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(["'])[Uu][Tt][Ff]-8\2)?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(["'])(?:yes|no)\3)?[ \t\r\n]*\?>/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

class XmlError extends Error {}

/** Parses a complete document; any deviation from the strict subset is a failure with a short reason. */
export function parseXml(text: string, limits: XmlLimits = DEFAULT_LIMITS): XmlResult<XmlElement> {
  try {
    return { ok: true, value: new Reader(text, limits).document() };
  } catch (err) {
    if (err instanceof XmlError) return { ok: false, reason: err.message };
    throw err;
  }
}

class Reader {
  private pos = 0;
  private elements = 0;
  private readonly src: string;
  private readonly limits: XmlLimits;

  constructor(src: string, limits: XmlLimits) {
    // A UTF-8 byte order mark decodes to U+FEFF; it is allowed only as the very first character.
    this.src = src.startsWith('\uFEFF') ? src.slice(1) : src;
    this.limits = limits;
  }

  document(): XmlElement {
    // Characters XML 1.0 forbids outright (C0 controls other than tab, LF, CR; U+FFFE, U+FFFF).
    if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(this.src)) throw new XmlError('bad_character');
    DECLARATION.lastIndex = 0;
    if (DECLARATION.test(this.src)) this.pos = DECLARATION.lastIndex;
    else if (this.src.startsWith('<?xml')) throw new XmlError('bad_declaration');
    this.skipWhitespace();
    const root = this.element(1);
    this.skipWhitespace();
    if (this.pos !== this.src.length) throw new XmlError('content_after_root');
    return root;
  }

  private element(depth: number): XmlElement {
    if (depth > this.limits.maxDepth) throw new XmlError('too_deep');
    if (++this.elements > this.limits.maxElements) throw new XmlError('too_many_elements');
    if (this.src[this.pos] !== '<') throw new XmlError(`expected_element_at_${this.pos}`);
    this.checkMarkup();
    this.pos++;
    const name = this.name();
    const attributes: Record<string, string> = Object.create(null) as Record<string, string>;
    for (;;) {
      const before = this.pos;
      this.skipWhitespace();
      const c = this.src[this.pos];
      if (c === '/') {
        if (this.src[this.pos + 1] !== '>') throw new XmlError('bad_empty_tag');
        this.pos += 2;
        return { name, attributes, children: [], text: '' };
      }
      if (c === '>') {
        this.pos++;
        break;
      }
      if (this.pos === before) throw new XmlError('bad_attribute');
      const attr = this.name();
      this.skipWhitespace();
      if (this.src[this.pos] !== '=') throw new XmlError('bad_attribute');
      this.pos++;
      this.skipWhitespace();
      const quote = this.src[this.pos];
      if (quote !== '"' && quote !== "'") throw new XmlError('bad_attribute');
      const end = this.src.indexOf(quote, this.pos + 1);
      if (end < 0) throw new XmlError('unterminated_attribute');
      const raw = this.src.slice(this.pos + 1, end);
      if (raw.includes('<')) throw new XmlError('bad_attribute');
      if (Object.hasOwn(attributes, attr)) throw new XmlError('duplicate_attribute');
      attributes[attr] = decodeText(raw);
      this.pos = end + 1;
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      const next = this.src.indexOf('<', this.pos);
      if (next < 0) throw new XmlError(`unclosed_${name}`);
      text += this.src.slice(this.pos, next);
      this.pos = next;
      if (this.src.startsWith('</', this.pos)) {
        this.pos += 2;
        const closing = this.name();
        this.skipWhitespace();
        if (closing !== name || this.src[this.pos] !== '>') throw new XmlError(`mismatched_${name}`);
        this.pos++;
        break;
      }
      children.push(this.element(depth + 1));
    }
    if (children.length > 0) {
      if (!/^[ \t\r\n]*$/.test(text)) throw new XmlError(`mixed_content_${name}`);
      return { name, attributes, children, text: '' };
    }
    return { name, attributes, children, text: decodeText(text) };
  }

  /** Refuses the markup this reader does not support, with a reason that names it. */
  private checkMarkup(): void {
    const rest = this.src.slice(this.pos, this.pos + 9);
    if (rest.startsWith('<!DOCTYPE') || rest.startsWith('<!ENTITY')) throw new XmlError('dtd_refused');
    if (rest.startsWith('<!--')) throw new XmlError('comment_refused');
    if (rest.startsWith('<![CDATA[')) throw new XmlError('cdata_refused');
    if (rest.startsWith('<?')) throw new XmlError('processing_instruction_refused');
    if (rest.startsWith('<!')) throw new XmlError('markup_refused');
  }

  private name(): string {
    NAME.lastIndex = this.pos;
    const m = NAME.exec(this.src);
    if (!m) throw new XmlError(`bad_name_at_${this.pos}`);
    this.pos = NAME.lastIndex;
    return m[0];
  }

  private skipWhitespace(): void {
    WHITESPACE.lastIndex = this.pos;
    WHITESPACE.exec(this.src);
    this.pos = WHITESPACE.lastIndex;
  }
}

function decodeText(raw: string): string {
  return raw.replace(/&([^;&<]{0,10});|&/g, (_whole, ref: string | undefined) => {
    if (ref === undefined) throw new XmlError('bad_entity');
    if (Object.hasOwn(PREDEFINED, ref)) return PREDEFINED[ref] as string;
    const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(ref);
    if (!m) throw new XmlError('unknown_entity');
    const code = m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2]);
    const allowed =
      code === 0x9 ||
      code === 0xa ||
      code === 0xd ||
      (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) ||
      (code >= 0x10000 && code <= 0x10ffff);
    if (!allowed) throw new XmlError('bad_character_reference');
    return String.fromCodePoint(code);
  });
}

/**
 * Follows `path` (child element names) from `root`, demanding exactly one element at every step, and
 * returns the last one. Reasons name the path: `missing:A/B`, `duplicate:A/B`.
 */
export function selectOne(root: XmlElement, path: readonly string[]): XmlResult<XmlElement> {
  let current = root;
  for (let i = 0; i < path.length; i++) {
    const name = path[i];
    const found = current.children.filter((c) => c.name === name);
    const where = path.slice(0, i + 1).join('/');
    if (found.length === 0) return { ok: false, reason: `missing:${where}` };
    if (found.length > 1) return { ok: false, reason: `duplicate:${where}` };
    current = found[0] as XmlElement;
  }
  return { ok: true, value: current };
}

/** The text of the single leaf element at `path` (see selectOne); an element with children is refused. */
export function selectText(root: XmlElement, path: readonly string[]): XmlResult<string> {
  const el = selectOne(root, path);
  if (!el.ok) return el;
  if (el.value.children.length > 0) return { ok: false, reason: `not_text:${path.join('/')}` };
  return { ok: true, value: el.value.text };
}
