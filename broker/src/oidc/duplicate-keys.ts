// Finds a repeated member name in any object of a JSON text. JSON.parse (and so jose) keeps the last of
// two equal names, which RFC 7519 allows but lets a token say two things at once (one `sub` to a checker
// that keeps the first, another to us); a token with repeated names is refused instead.
//
// Run only on text that JSON.parse has accepted: then its structure is unambiguous and this single pass
// only has to follow it. Names are compared after unescaping exactly as JSON.parse does ("a" and "\u0061"
// are one name), per object, at every depth. Linear in the text: each character is looked at once, each
// name hashed once.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** The first repeated member name, or undefined when every object's names are distinct. */
export function findDuplicateKey(json: string): string | undefined {
  // One entry per open container: the names seen so far for an object, null for an array.
  const open: (Set<string> | null)[] = [];
  let expectName = false;
  let i = 0;
  while (i < json.length) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      const top = open.at(-1);
      if (expectName && top) {
        const [name, end] = readString(json, i, true);
        if (top.has(name)) return name;
        top.add(name);
        expectName = false;
        i = end;
      } else {
        i = readString(json, i, false)[1];
      }
      continue;
    }
    switch (c) {
      case 0x7b: // {
        open.push(new Set());
        expectName = true;
        break;
      case 0x5b: // [
        open.push(null);
        expectName = false;
        break;
      case 0x7d: // }
      case 0x5d: // ]
        open.pop();
        expectName = false;
        break;
      case 0x2c: // , : in an object, a name follows
        expectName = Boolean(open.at(-1));
        break;
      case 0x3a: // :
        expectName = false;
        break;
    }
    i++;
  }
  return undefined;
}

/** Reads the string starting at the quote `start`; returns its value (when asked) and the index after it. */
function readString(json: string, start: number, decode: boolean): [string, number] {
  let value = '';
  let from = start + 1;
  let i = from;
  while (i < json.length) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) return [decode ? value + json.slice(from, i) : '', i + 1];
    if (c === BACKSLASH) {
      const e = json[i + 1] ?? '';
      let width = 2;
      let ch: string;
      if (e === 'u') {
        // One UTF-16 code unit per \u escape, as JSON.parse: a surrogate pair written as two escapes joins up.
        ch = String.fromCharCode(Number.parseInt(json.slice(i + 2, i + 6), 16));
        width = 6;
      } else {
        ch = SIMPLE_ESCAPES[e] ?? e;
      }
      if (decode) value += json.slice(from, i) + ch;
      i += width;
      from = i;
      continue;
    }
    i++;
  }
  return [decode ? value + json.slice(from) : '', json.length];
}
