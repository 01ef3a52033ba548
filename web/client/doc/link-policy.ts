/**
 * Which link targets a shared document may hold, one rule for both sides: the server refuses an
 * op carrying any other (web/server/pad/delta-policy.ts), and the editor drops such links from
 * pasted HTML before they become an op the server would refuse.
 */

const MAX_LINK_LENGTH = 2048;
const LINK_SCHEMES = new Set(['http', 'https', 'mailto']);

/**
 * An absolute http(s) or mailto URL, or a scheme-less one (Quill keeps a link as typed; the
 * browser resolves it against the page). Whitespace and control characters are refused outright:
 * browsers drop them inside a scheme (`java\tscript:`), so they could hide one.
 */
export function isAllowedLink(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LINK_LENGTH) return false;
  if (/[\u0000-\u0020\u007f-\u009f]/.test(value)) return false;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1];
  return scheme === undefined || LINK_SCHEMES.has(scheme.toLowerCase());
}
