// The strict XML reader the aws minter parses STS answers with: what it accepts, and every kind of markup it
// refuses rather than guessing at.
import { describe, expect, it } from 'vitest';
import { parseXml, selectOne, selectText } from '../../../broker/src/mint/xml.ts';

describe('parseXml', () => {
  it('reads a real STS answer: declaration, namespace attribute, nesting, entities', () => {
    const doc = parseXml(
      '\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<R xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n  <A>\n    <B>x &lt;&gt;&amp;&quot;&apos; &#65;&#x42; y</B>\n    <C/>\n  </A>\n</R>\n',
    );
    expect(doc.ok).toBe(true);
    if (!doc.ok) return;
    expect(doc.value.name).toBe('R');
    expect(doc.value.attributes.xmlns).toBe('https://sts.amazonaws.com/doc/2011-06-15/');
    expect(selectText(doc.value, ['A', 'B'])).toEqual({ ok: true, value: 'x <>&"\' AB y' });
    expect(selectText(doc.value, ['A', 'C'])).toEqual({ ok: true, value: '' });
  });

  it.each([
    ['a DTD with entities (billion laughs)', '<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>', 'dtd_refused'],
    ['an undeclared entity', '<r>&a;</r>', 'unknown_entity'],
    ['an external-looking entity', '<r>&xxe;</r>', 'unknown_entity'],
    ['a bare ampersand', '<r>a & b</r>', 'bad_entity'],
    ['a character reference to NUL', '<r>&#0;</r>', 'bad_character_reference'],
    ['a raw control character', '<r>\u0001</r>', 'bad_character'],
    ['a comment', '<r><!-- x --><a>1</a></r>', 'comment_refused'],
    ['CDATA', '<r><![CDATA[<a>]]></r>', 'cdata_refused'],
    ['a processing instruction', '<r><?php x ?></r>', 'processing_instruction_refused'],
    ['a second declaration-like PI', '<?xml version="1.0"?><?xml-stylesheet href="x"?><r/>', 'processing_instruction_refused'],
    ['an encoding other than UTF-8', '<?xml version="1.0" encoding="ISO-8859-1"?><r/>', 'bad_declaration'],
    ['mismatched tags', '<r><a></b></r>', 'mismatched_a'],
    ['an unclosed element', '<r><a>1</a>', 'unclosed_r'],
    ['text after the root', '<r/>junk', 'content_after_root'],
    ['a second root', '<r/><r/>', 'content_after_root'],
    ['text before the root', 'junk<r/>', 'expected_element_at_0'],
    ['mixed content', '<r>text<a/></r>', 'mixed_content_r'],
    ['a duplicated attribute', '<r a="1" a="2"/>', 'duplicate_attribute'],
    ['an unquoted attribute', '<r a=1/>', 'bad_attribute'],
    ['attributes without whitespace', '<r a="1"b="2"/>', 'bad_attribute'],
    ['an empty document', '', 'expected_element_at_0'],
    ['JSON', '{"Credentials":{}}', 'expected_element_at_0'],
  ])('refuses %s', (_name, text, reason) => {
    expect(parseXml(text)).toEqual({ ok: false, reason });
  });

  it('bounds depth and element count', () => {
    expect(parseXml('<a>'.repeat(17) + '</a>'.repeat(17))).toEqual({ ok: false, reason: 'too_deep' });
    expect(parseXml(`<r>${'<a/>'.repeat(600)}</r>`)).toEqual({ ok: false, reason: 'too_many_elements' });
    expect(parseXml('<a>'.repeat(16) + '</a>'.repeat(16)).ok).toBe(true);
  });

  it('keeps prototype-like names as plain data', () => {
    const doc = parseXml('<r __proto__="x" constructor="y"><a>&toString;</a></r>');
    expect(doc).toEqual({ ok: false, reason: 'unknown_entity' });
    const ok = parseXml('<r __proto__="x"/>');
    expect(ok.ok && Object.hasOwn(ok.value.attributes, '__proto__')).toBe(true);
  });
});

describe('selectOne / selectText', () => {
  const doc = parseXml('<R><A><K>1</K><K>2</K><p:S>3</p:S><N><x/></N></A></R>');
  const root = doc.ok ? doc.value : (undefined as never);

  it('demands exactly one element at every step', () => {
    expect(selectText(root, ['A', 'K'])).toEqual({ ok: false, reason: 'duplicate:A/K' });
    expect(selectText(root, ['A', 'Missing'])).toEqual({ ok: false, reason: 'missing:A/Missing' });
    expect(selectText(root, ['B', 'K'])).toEqual({ ok: false, reason: 'missing:B' });
  });

  it('matches qualified names exactly: a prefixed element is not the unprefixed one', () => {
    expect(selectText(root, ['A', 'S'])).toEqual({ ok: false, reason: 'missing:A/S' });
    expect(selectText(root, ['A', 'p:S'])).toEqual({ ok: true, value: '3' });
  });

  it('refuses an element with children where text is expected', () => {
    expect(selectText(root, ['A', 'N'])).toEqual({ ok: false, reason: 'not_text:A/N' });
    expect(selectOne(root, ['A', 'N']).ok).toBe(true);
  });
});
