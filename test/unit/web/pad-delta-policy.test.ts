import assert from 'node:assert/strict';
import { checkDocument, checkRichTextOp, hasForbiddenShape, MAX_DOCUMENT_COMPONENTS, MAX_OP_COMPONENTS } from '../../../web/server/pad/delta-policy.ts';

describe('web/server/pad/delta-policy (what an edit may contain)', () => {
  const accepted: [string, unknown][] = [
    ['typing', [{ retain: 4 }, { insert: 'hello' }]],
    ['deleting', [{ retain: 2 }, { delete: 3 }]],
    ['bold, italic, underline on', [{ retain: 1 }, { retain: 3, attributes: { bold: true, italic: true, underline: true } }]],
    ['a format removed', [{ retain: 3, attributes: { bold: null, link: null } }]],
    ['a heading line', [{ retain: 5 }, { retain: 1, attributes: { header: 2 } }]],
    ['a pasted level-6 heading', [{ insert: 'x' }, { insert: '\n', attributes: { header: 6 } }]],
    ['lists, checklists and indents', [{ retain: 1, attributes: { list: 'bullet', indent: 2 } }, { retain: 1, attributes: { list: 'unchecked' } }]],
    ['an https link', [{ insert: 'site', attributes: { link: 'https://example.org/a?b=c#d' } }]],
    ['a mailto link', [{ insert: 'me', attributes: { link: 'mailto:someone@example.org' } }]],
    ['a link without a scheme (Quill keeps what was typed)', [{ insert: 'x', attributes: { link: 'example.org/page' } }]],
    ['an empty change', []],
    ['a Delta as JSON (how sharedb sends composed ops)', { ops: [{ retain: 1 }, { insert: 'x' }] }],
  ];
  for (const [what, op] of accepted) {
    it(`accepts ${what}`, () => assert.equal(checkRichTextOp(op), undefined));
  }

  const refused: [string, unknown, string][] = [
    ['an object that is not a Delta', { ops: [{ insert: 'x' }], extra: true }, 'array'],
    ['a Delta with refused content', { ops: [{ insert: { image: 'x' } }] }, 'only text'],
    ['an image embed', [{ insert: { image: 'https://tracker.example/pixel.gif' } }], 'only text'],
    ['a video embed retained', [{ retain: { video: 'x' } }], 'retain'],
    ['a javascript: link', [{ insert: 'x', attributes: { link: 'javascript:alert(1)' } }], "format 'link'"],
    ['a JavaScript: link in other case', [{ insert: 'x', attributes: { link: 'JavaScript:alert(1)' } }], "format 'link'"],
    ['a scheme hidden by a tab', [{ insert: 'x', attributes: { link: 'java\tscript:alert(1)' } }], "format 'link'"],
    ['a data: link', [{ insert: 'x', attributes: { link: 'data:text/html,<script>alert(1)</script>' } }], "format 'link'"],
    ['an overlong link', [{ insert: 'x', attributes: { link: `https://e.org/${'a'.repeat(3000)}` } }], "format 'link'"],
    ['a colour (not in the toolbar)', [{ retain: 1, attributes: { color: 'red' } }], "'color' is not allowed"],
    ['a bold that is not true', [{ retain: 1, attributes: { bold: 'yes' } }], "format 'bold'"],
    ['a heading level out of range', [{ retain: 1, attributes: { header: 9 } }], "format 'header'"],
    ['a __proto__ attribute', JSON.parse('[{"retain":1,"attributes":{"__proto__":{"polluted":true}}}]'), 'not allowed'],
    ['two kinds in one op', [{ insert: 'x', delete: 1 }], 'exactly one'],
    ['an unknown field', [{ insert: 'x', extra: 1 }], 'unknown'],
    ['a zero retain', [{ retain: 0 }], 'positive'],
    ['a fractional delete', [{ delete: 1.5 }], 'positive'],
    ['an empty insert', [{ insert: '' }], 'only text'],
    ['a delete with attributes', [{ delete: 1, attributes: { bold: true } }], 'delete'],
  ];
  for (const [what, op, mention] of refused) {
    it(`refuses ${what}`, () => {
      const problem = checkRichTextOp(op);
      assert.ok(problem?.includes(mention), `expected a problem mentioning "${mention}", got ${String(problem)}`);
    });
  }

  it('accepts a sound document and refuses one too long, without its final newline, or with a leftover retain', () => {
    assert.equal(checkDocument({ ops: [{ insert: 'abc\n' }] }, 10), undefined);
    assert.equal(checkDocument([{ insert: 'abc' }, { insert: '\n', attributes: { header: 1 } }], 10), undefined);
    assert.equal(checkDocument({ ops: [{ insert: 'a'.repeat(10) }, { insert: '\n' }] }, 10)?.problem, 'too-large');
    assert.equal(checkDocument({ ops: [{ insert: 'abc' }] }, 10)?.problem, 'malformed');
    assert.equal(checkDocument({ ops: [{ insert: 'abc\n' }, { retain: 4 }] }, 10)?.problem, 'malformed');
    assert.equal(checkDocument(undefined, 10)?.problem, 'malformed');
  });

  it('bounds the parts of an operation and of a document, whose count (not characters) each change costs', () => {
    const parts = (n: number) => Array.from({ length: n }, (_, i) => ({ insert: 'a', ...(i % 2 ? { attributes: { bold: true } } : {}) }));
    assert.equal(checkRichTextOp(parts(MAX_OP_COMPONENTS)), undefined);
    assert.match(checkRichTextOp(parts(MAX_OP_COMPONENTS + 1)) ?? '', /at most/);
    const document = (n: number) => [...parts(n - 1), { insert: '\n' }];
    assert.equal(checkDocument(document(MAX_DOCUMENT_COMPONENTS), 1024 * 1024), undefined);
    assert.equal(checkDocument(document(MAX_DOCUMENT_COMPONENTS + 1), 1024 * 1024)?.problem, 'too-large', 'a few thousand characters, too many parts');
  });

  it('finds prototype keys and absurd nesting anywhere in a message', () => {
    assert.equal(hasForbiddenShape({ a: 'op', op: [{ insert: 'x', attributes: { bold: true } }] }), false);
    assert.equal(hasForbiddenShape(JSON.parse('{"a":"op","x":{"__proto__":{"admin":true}}}')), true);
    assert.equal(hasForbiddenShape({ a: 'op', op: [{ retain: 1, attributes: { constructor: 1 } }] }), true);
    let deep: unknown = 'x';
    for (let i = 0; i < 20; i++) deep = [deep];
    assert.equal(hasForbiddenShape({ a: 'op', op: deep }), true);
  });
});
