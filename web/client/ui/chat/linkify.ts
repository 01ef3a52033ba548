/**
 * Splits chat text into plain text and http(s) links, so the view renders text nodes and `<a>`
 * elements only: nothing from a message is ever parsed as HTML. A link starts at "http://" or
 * "https://" (not inside a word) and runs to the next space or `<`, `>`, `"` (as GFM autolinks
 * do); trailing punctuation is left out. Anything `new URL` rejects, or whose scheme is not
 * http(s), stays text.
 */

export type Segment =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'link'; readonly text: string; readonly href: string };

const START = /https?:\/\//giu;
const STOP = /[\s<>"]/u;
const TRAILING = /[.,;:!?'’)\]]+$/u;

function safeHref(candidate: string): string | undefined {
  try {
    const url = new URL(candidate);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '') return url.href;
  } catch {
    // not a URL: the caller keeps it as text
  }
  return undefined;
}

export function linkify(text: string): Segment[] {
  const segments: Segment[] = [];
  let plainFrom = 0;
  let scanFrom = 0;
  START.lastIndex = 0;
  for (let match = START.exec(text); match !== null; match = START.exec(text)) {
    const start = match.index;
    if (start < scanFrom) continue;
    const before = start > 0 ? text[start - 1] ?? '' : '';
    if (/[\p{L}\p{N}]/u.test(before)) continue; // "xhttp://" is not a link
    let end = start;
    while (end < text.length && !STOP.test(text[end] ?? ' ')) end++;
    let candidate = text.slice(start, end);
    const trimmed = candidate.replace(TRAILING, '');
    // Keep a closing parenthesis that closes one opened inside the URL (Wikipedia-style links).
    candidate = trimmed + (candidate.slice(trimmed.length).startsWith(')') && trimmed.includes('(') ? ')' : '');
    const href = safeHref(candidate);
    scanFrom = start + Math.max(candidate.length, match[0].length);
    if (href === undefined) continue;
    if (start > plainFrom) segments.push({ kind: 'text', text: text.slice(plainFrom, start) });
    segments.push({ kind: 'link', text: candidate, href });
    plainFrom = start + candidate.length;
    START.lastIndex = plainFrom;
  }
  if (plainFrom < text.length) segments.push({ kind: 'text', text: text.slice(plainFrom) });
  return segments;
}
