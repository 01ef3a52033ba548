/**
 * quill-delta's Delta class, for the editor's own modules. The package is CommonJS with an
 * `exports.default` beside `module.exports`: under Node's ESM interop (tests) and esbuild alike,
 * the default import is the module object, whose `default` is the class.
 */
import QuillDelta from 'quill-delta';

export const Delta = QuillDelta.default;
export type Delta = InstanceType<typeof QuillDelta.default>;
export type { Op } from 'quill-delta';
