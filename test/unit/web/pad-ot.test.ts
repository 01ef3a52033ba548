import assert from 'node:assert/strict';
import richText from 'rich-text';
import { richTextType } from '../../../web/client/doc/ot.ts';
import { Delta, type Op } from '../../../web/client/doc/delta.ts';
import { seededRandom } from '../seeded-random.ts';

const server = richText.type;


const ATTRIBUTES = [undefined, { bold: true }, { italic: true }, { bold: null }, { header: 1 }, { link: 'https://example.org/' }];

function randomText(rand: () => number): string {
  const words = ['a', 'é', 'long ', '\n', 'xyz', '😀'];
  return words[Math.floor(rand() * words.length)]!;
}

/** A document: inserts only, ending with a newline as Quill's do. */
function randomDocument(rand: () => number): Op[] {
  const ops: Op[] = [];
  for (let i = Math.floor(rand() * 5); i > 0; i--) {
    const attributes = ATTRIBUTES[Math.floor(rand() * 3)];
    ops.push(attributes ? { insert: randomText(rand), attributes } : { insert: randomText(rand) });
  }
  ops.push({ insert: '\n' });
  return ops;
}

const lengthOf = (ops: Op[]): number => ops.reduce((n, op) => n + (typeof op.insert === 'string' ? op.insert.length : 1), 0);

/** A change that applies to a document of `length`: retains, inserts, deletes, formats. */
function randomChange(rand: () => number, length: number): Op[] {
  const ops: Op[] = [];
  let left = length;
  while (left > 0 && rand() < 0.8) {
    const n = 1 + Math.floor(rand() * Math.min(left, 4));
    const pick = rand();
    if (pick < 0.35) ops.push({ retain: n });
    else if (pick < 0.55) ops.push({ delete: n });
    else if (pick < 0.7) ops.push({ retain: n, attributes: ATTRIBUTES[1 + Math.floor(rand() * (ATTRIBUTES.length - 1))]! });
    else {
      ops.push({ insert: randomText(rand) });
      continue;
    }
    left -= n;
  }
  if (rand() < 0.5) ops.push({ insert: randomText(rand) });
  return ops;
}

const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
/** The same content in canonical form (adjacent runs with equal attributes merged). */
const canonical = (value: unknown): unknown => {
  const merged = new Delta();
  for (const op of opsOf(value) as Op[]) merged.push(op);
  return merged.ops;
};
const opsOf = (value: unknown): unknown => {
  const plain = json(value) as { ops?: unknown } | unknown[];
  return Array.isArray(plain) ? plain : plain.ops;
};

describe('web/client/doc/ot (the rich-text OT type over quill-delta 5)', () => {
  it('has the name and URI of the server\'s rich-text type', () => {
    assert.equal(richTextType.name, server.name);
    assert.equal(richTextType.uri, server.uri);
  });

  it('transforms two concurrent inserts at one place by side, as rich-text does', () => {
    const a = [{ insert: 'A' }];
    const b = [{ insert: 'B' }];
    assert.deepEqual(opsOf(richTextType.transform(a, b, 'left')), [{ retain: 1 }, { insert: 'A' }]);
    assert.deepEqual(opsOf(richTextType.transform(a, b, 'right')), [{ insert: 'A' }]);
    assert.deepEqual(opsOf(richTextType.transform(a, b, 'left')), opsOf(server.transform(a, b, 'left')));
    assert.deepEqual(opsOf(richTextType.transform(a, b, 'right')), opsOf(server.transform(a, b, 'right')));
  });

  it('agrees with rich-text on apply, compose and transform for 2000 random pairs, and converges', () => {
    const rand = seededRandom(20251217);
    for (let i = 0; i < 2000; i++) {
      const doc = randomDocument(rand);
      const a = randomChange(rand, lengthOf(doc));
      const b = randomChange(rand, lengthOf(doc));
      const context = `case ${i}: doc=${JSON.stringify(doc)} a=${JSON.stringify(a)} b=${JSON.stringify(b)}`;
      assert.deepEqual(opsOf(richTextType.apply(doc, a)), opsOf(server.apply(doc, a)), `apply, ${context}`);
      assert.deepEqual(opsOf(richTextType.compose(a, b)), opsOf(server.compose(a, b)), `compose, ${context}`);
      for (const side of ['left', 'right'] as const) {
        assert.deepEqual(opsOf(richTextType.transform(a, b, side)), opsOf(server.transform(a, b, side)), `transform ${side}, ${context}`);
      }
      // Both orders reach the same document (TP1), which is what the server relies on.
      const ab = richTextType.apply(richTextType.apply(doc, a), richTextType.transform(b, a, 'right'));
      const ba = richTextType.apply(richTextType.apply(doc, b), richTextType.transform(a, b, 'left'));
      assert.deepEqual(canonical(ab), canonical(ba), `convergence, ${context}`);
    }
  });

  it('moves a cursor past text inserted before it, and past text inserted at it by its own op only', () => {
    assert.equal(richTextType.transformCursor(3, [{ insert: 'xy' }], false), 5);
    assert.equal(richTextType.transformCursor(2, [{ retain: 2 }, { insert: 'z' }], true), 3);
    assert.equal(richTextType.transformCursor(2, [{ retain: 2 }, { insert: 'z' }], false), 2);
  });

  it('serializes to the ops array and deserializes arrays and {ops} objects alike', () => {
    const doc = richTextType.create([{ insert: 'hi\n' }]);
    assert.deepEqual(richTextType.serialize(doc), [{ insert: 'hi\n' }]);
    assert.deepEqual(opsOf(richTextType.deserialize({ ops: [{ insert: 'hi\n' }] })), [{ insert: 'hi\n' }]);
    assert.deepEqual(opsOf(richTextType.deserialize([{ insert: 'hi\n' }])), [{ insert: 'hi\n' }]);
  });
});
