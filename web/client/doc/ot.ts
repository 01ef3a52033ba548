/**
 * The rich-text OT type for sharedb's client, over the quill-delta that Quill itself uses.
 *
 * The server runs the `rich-text` package (name `rich-text`, URI
 * `http://sharejs.org/types/rich-text/v1`); this is the same type under the same name and URI,
 * defined with quill-delta 5 so the browser bundle carries one Delta implementation instead of
 * two (rich-text pins quill-delta 4 and its lodash copies). Both sides must transform alike, so
 * test/unit/web/pad-ot.test.ts checks this module against rich-text on the same inputs.
 */
import { Delta, type Op } from './delta.ts';

type DeltaLike = Delta | Op[] | { ops: Op[] } | undefined;

const delta = (value: DeltaLike): Delta => new Delta(value as Op[] | { ops: Op[] } | undefined);

export const RICH_TEXT_URI = 'http://sharejs.org/types/rich-text/v1';

export const richTextType = {
  name: 'rich-text',
  uri: RICH_TEXT_URI,

  create(initial?: DeltaLike): Delta {
    return delta(initial);
  },

  apply(snapshot: DeltaLike, op: DeltaLike): Delta {
    return delta(snapshot).compose(delta(op));
  },

  compose(first: DeltaLike, second: DeltaLike): Delta {
    return delta(first).compose(delta(second));
  },

  /**
   * `op` transformed so it applies after `other`. With side `left`, `other` is taken to have come
   * first where both insert at one place (quill-delta's `priority`), as rich-text does.
   */
  transform(op: DeltaLike, other: DeltaLike, side: 'left' | 'right'): Delta {
    return delta(other).transform(delta(op), side === 'left');
  },

  transformCursor(cursor: number, op: DeltaLike, isOwnOp: boolean): number {
    return delta(op).transformPosition(cursor, !isOwnOp);
  },

  /** quill-delta is already canonical. */
  normalize(op: DeltaLike): DeltaLike {
    return op;
  },

  serialize(snapshot: Delta): Op[] {
    return snapshot.ops;
  },

  deserialize(ops: Op[] | { ops: Op[] }): Delta {
    return delta(ops);
  },
};
