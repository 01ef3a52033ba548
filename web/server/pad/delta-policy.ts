/**
 * What an operation on a shared document may contain, checked on the server before it is applied
 * (security.md §6: incoming Deltas are sanitised server-side). Only what Salon's editor produces
 * passes: text inserts, retains and deletes, and the toolbar's formats with their own values. No
 * embeds (images, video: a remote embed would leak every reader's address), no link scheme but
 * http, https and mailto. Every client applies the result, so one bad op must not reach them.
 */
import { isAllowedLink } from '../../client/doc/link-policy.ts';

/**
 * Parts (Delta ops) of one operation, and of a document, at most. Applying an op costs in
 * proportion to the document's parts, not its characters (the rich-text type composes the whole
 * document, and the store copies it): a document of a few characters in 500,000 differently
 * formatted pieces made each keystroke block the server for a second or more. A long meeting's
 * notes, formatted, hold a few thousand; a large formatted paste, a few hundred.
 */
export const MAX_OP_COMPONENTS = 2_000;
export const MAX_DOCUMENT_COMPONENTS = 10_000;

/** Format name → check of its value (`null` removes a format and is always allowed). */
const FORMATS: Record<string, (value: unknown) => boolean> = {
  bold: (v) => v === true,
  italic: (v) => v === true,
  underline: (v) => v === true,
  // The toolbar makes levels 1 and 2; a pasted <h3>…<h6> keeps its level.
  header: (v) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 6,
  // Quill's list autofill also makes checklists from `[ ] ` and `[x] ` typed at a line's start.
  list: (v) => v === 'ordered' || v === 'bullet' || v === 'checked' || v === 'unchecked',
  indent: (v) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 8,
  link: isAllowedLink,
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function checkAttributes(value: unknown): string | undefined {
  if (!isPlainObject(value)) return 'attributes must be an object';
  for (const [name, v] of Object.entries(value)) {
    const check = Object.hasOwn(FORMATS, name) ? FORMATS[name] : undefined;
    if (!check) return `format '${name.slice(0, 32)}' is not allowed`;
    if (v !== null && !check(v)) return `bad value for format '${name}'`;
  }
  return undefined;
}

/**
 * Why `op` is refused, or undefined when it may be applied. `op` is a rich-text Delta: its ops
 * array, or the Delta as JSON (`{"ops": [...]}`), which is how sharedb's client sends the ops it
 * composed or transformed locally.
 */
export function checkRichTextOp(op: unknown): string | undefined {
  const ops = isPlainObject(op) && Object.keys(op).length === 1 ? op.ops : op;
  if (!Array.isArray(ops)) return 'an operation is a Delta or its array of ops';
  if (ops.length > MAX_OP_COMPONENTS) return `an operation has at most ${MAX_OP_COMPONENTS} parts`;
  for (const component of ops) {
    if (!isPlainObject(component)) return 'each Delta op is an object';
    const { insert, retain, delete: del, attributes, ...rest } = component;
    if (Object.keys(rest).length > 0) return 'unknown Delta op field';
    const kinds = [insert, retain, del].filter((v) => v !== undefined).length;
    if (kinds !== 1) return 'each Delta op is exactly one of insert, retain, delete';
    if (insert !== undefined && (typeof insert !== 'string' || insert.length === 0)) return 'only text may be inserted';
    if (retain !== undefined && !isCount(retain)) return 'retain must be a positive integer';
    if (del !== undefined && (!isCount(del) || attributes !== undefined)) return 'delete must be a positive integer without attributes';
    if (attributes !== undefined) {
      const problem = checkAttributes(attributes);
      if (problem) return problem;
    }
  }
  return undefined;
}

/**
 * Why a document (a snapshot after an op) is refused, or undefined when it is sound: inserts
 * only (a retain or delete left over means the op ran past the end), ending with the newline
 * every Quill document ends with, and no longer than `maxChars` (characters of text, one per
 * embed, as Quill counts).
 */
export function checkDocument(data: unknown, maxChars: number): { problem: 'too-large' | 'malformed'; text: string } | undefined {
  const ops = Array.isArray(data) ? data : (data as { ops?: unknown } | null | undefined)?.ops;
  if (!Array.isArray(ops)) return { problem: 'malformed', text: 'a document is a list of inserts' };
  let length = 0;
  let last: unknown;
  for (const op of ops as { insert?: unknown }[]) {
    if (op.insert === undefined) return { problem: 'malformed', text: 'the change reaches past the end of the document' };
    length += typeof op.insert === 'string' ? op.insert.length : 1;
    last = op.insert;
  }
  if (length > maxChars) return { problem: 'too-large', text: `the document is limited to ${maxChars} characters` };
  if (ops.length > MAX_DOCUMENT_COMPONENTS) return { problem: 'too-large', text: `the document is limited to ${MAX_DOCUMENT_COMPONENTS} differently formatted parts` };
  if (typeof last !== 'string' || !last.endsWith('\n')) return { problem: 'malformed', text: 'a document ends with a newline' };
  return undefined;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Refuses keys that could reach an object's prototype if some code merges the message
 * (security.md §6: prototype pollution), and nesting deeper than any sharedb message needs.
 */
export function hasForbiddenShape(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth > 12) return true;
  if (Array.isArray(value)) return value.some((v) => hasForbiddenShape(v, depth + 1));
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return true;
    if (hasForbiddenShape((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}
