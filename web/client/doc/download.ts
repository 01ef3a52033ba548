/**
 * The document as files to keep after the meeting: HTML (Quill's semantic HTML in a minimal
 * document with its charset and title) and plain text (saved by ../ui/document/download.ts).
 */
import type { Lang } from './strings.ts';

/**
 * A standalone HTML file around `bodyHtml`. Built in an inert document (no script runs, nothing
 * loads), from HTML Quill produced out of its own formats (no script, no embed, links sanitised).
 */
export function htmlFile(bodyHtml: string, title: string, lang: Lang): Blob {
  const doc = document.implementation.createHTMLDocument(title);
  doc.documentElement.lang = lang;
  const charset = doc.createElement('meta');
  charset.setAttribute('charset', 'utf-8');
  doc.head.prepend(charset);
  doc.body.innerHTML = bodyHtml;
  plainSpaces(doc);
  return new Blob([`<!DOCTYPE html>\n${doc.documentElement.outerHTML}\n`], { type: 'text/html;charset=utf-8' });
}

/**
 * Quill's semantic HTML writes every space as a no-break space (to keep runs of spaces), which
 * would stop a saved file's lines from wrapping: a lone one between two words becomes a plain
 * space again; runs stay as written.
 */
function plainSpaces(doc: Document): void {
  const walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    node.nodeValue = (node.nodeValue ?? '').replace(/(?<=[^\s\u00a0])\u00a0(?=[^\s\u00a0])/g, ' ');
  }
}

export function textFile(text: string): Blob {
  return new Blob([text], { type: 'text/plain;charset=utf-8' });
}
