/**
 * The shared document editor: Quill 2 (snow theme, a small toolbar with names in the user's
 * language) bound to ./sync.ts. Loaded on demand (the app's document panel and the standalone
 * document page import it dynamically), so Quill and sharedb stay out of the conference page's
 * first download.
 *
 * Only the user's own edits (Quill source `user`) are sent; the server's content and other
 * participants' changes are applied with source `api`, so they are never echoed back. Quill's
 * `formats` allow-list keeps anything else out of the document, pasted HTML included: without an
 * image format registered a pasted `<img>` is dropped, and a `<script>` with it. Quill parses a
 * paste with DOMParser, yet Chromium still attempts a pasted `<img onerror>` handler there
 * (test/browser/pad-editor.test.ts sees the attempt): what stops it is the page's CSP
 * `script-src 'self'`, which refuses inline handlers, so that policy must never be loosened (no
 * 'unsafe-inline', no 'unsafe-hashes'). Quill's link format rewrites any URL whose scheme is not
 * http(s), mailto, tel or sms to `about:blank` before it reaches the page.
 */
import Quill from 'quill/core.js';
import Toolbar from 'quill/modules/toolbar.js';
import SnowTheme from 'quill/themes/snow.js';
import Bold from 'quill/formats/bold.js';
import Header from 'quill/formats/header.js';
import Indent from 'quill/formats/indent.js';
import Italic from 'quill/formats/italic.js';
import Link from 'quill/formats/link.js';
import List from 'quill/formats/list.js';
import Underline from 'quill/formats/underline.js';
import 'quill/dist/quill.snow.css';
import './editor.css';
import { Delta, type Op } from './delta.ts';
import { htmlFile, textFile } from './download.ts';
import { isAllowedLink } from './link-policy.ts';
import { pickLang, strings, type StringKey } from './strings.ts';
import { DocumentSync, type DocumentAddress, type SyncStatus } from './sync.ts';
import { buildToolbar, EDITOR_FORMATS } from './toolbar.ts';
import { PadErrorCode } from './wire.ts';

Quill.register({
  'modules/toolbar': Toolbar,
  'themes/snow': SnowTheme,
  'formats/bold': Bold,
  'formats/header': Header,
  'formats/indent': Indent,
  'formats/italic': Italic,
  'formats/link': Link,
  'formats/list': List,
  'formats/underline': Underline,
}, true);

export type EditorStatus = SyncStatus;

export interface EditorOptions {
  /** The document's WebSocket URL (the focus's `path` on this origin, or `/pad/<name>` of the standalone page). */
  readonly url: string;
  /** The focus's token; absent on the standalone page, whose URL carries the capability. */
  readonly token?: string | undefined;
  /** The user's language tag; French for `fr…`, English otherwise. */
  readonly lang: string;
  /** Show the document without letting the user change it. Default false. */
  readonly readOnly?: boolean;
  /** Title of the downloaded HTML file. Default "Shared document" in the user's language. */
  readonly title?: string;
  /**
   * A fresh address and token for each reconnection after a network drop (the app passes its
   * `openDocument`). Without it the editor reconnects with the token it has, which the server
   * refuses once it is a minute old.
   */
  readonly renew?: () => Promise<DocumentAddress>;
}

export interface EditorHandle {
  readonly status: EditorStatus;
  /** Calls `listener` with the current status now and at each change; returns the unsubscribe. */
  onStatus(listener: (status: EditorStatus) => void): () => void;
  /** The document as a standalone HTML file. */
  downloadHtml(): Blob;
  /** The document as plain text. */
  downloadText(): Blob;
  /** Stops syncing and removes the editor from its container. Idempotent. */
  close(): void;
}

const STATUS_TEXT: Record<EditorStatus, StringKey> = {
  connecting: 'status.connecting',
  synced: 'status.synced',
  offline: 'status.offline',
  ended: 'status.ended',
  refused: 'status.refused',
};

/**
 * Pasted HTML, after Quill's own conversion: a link whose target the server would refuse keeps
 * its text but loses the link (otherwise the whole paste would be refused), and the text inside
 * `<script>` or `<style>` is not content.
 */
function guardPaste(quill: Quill): void {
  quill.clipboard.addMatcher('A', (_node, delta) => new Delta(delta.ops.map((op: Op) => {
    if (!op.attributes || !('link' in op.attributes) || isAllowedLink(op.attributes.link)) return op;
    const { link: _dropped, ...attributes } = op.attributes;
    return Object.keys(attributes).length ? { ...op, attributes } : { insert: op.insert! };
  })));
  for (const tag of ['SCRIPT', 'STYLE', 'TEMPLATE', 'NOSCRIPT']) quill.clipboard.addMatcher(tag, () => new Delta());
}

/** The snow tooltip's words come from CSS `content`; these custom properties carry ours (editor.css). */
function localizeTooltip(root: HTMLElement, t: Readonly<Record<StringKey, string>>): void {
  const words: [string, StringKey][] = [
    ['--salon-link-visit', 'linkVisit'], ['--salon-link-prompt', 'linkPrompt'], ['--salon-link-edit', 'linkEdit'],
    ['--salon-link-save', 'linkSave'], ['--salon-link-remove', 'linkRemove'],
  ];
  // CSSOM, not a style attribute: allowed under a CSP without 'unsafe-inline'.
  for (const [property, key] of words) root.style.setProperty(property, JSON.stringify(t[key]));
  const input = root.querySelector<HTMLInputElement>('.ql-tooltip input[type=text]');
  input?.setAttribute('data-link', 'https://');
  input?.setAttribute('aria-label', t.linkInput);
}

export async function openEditor(container: HTMLElement, options: EditorOptions): Promise<EditorHandle> {
  const lang = pickLang(options.lang);
  const t = strings(lang);
  const root = document.createElement('div');
  root.className = 'salon-editor';
  root.lang = lang;
  const toolbar = buildToolbar(t);
  const host = document.createElement('div');
  const statusLine = document.createElement('p');
  statusLine.className = 'salon-editor-status';
  statusLine.setAttribute('role', 'status');
  root.append(toolbar, host, statusLine);
  container.append(root);

  const quill = new Quill(host, {
    theme: 'snow',
    formats: [...EDITOR_FORMATS],
    placeholder: t.placeholder,
    readOnly: true,
    modules: {
      toolbar: { container: toolbar },
      // Undo undoes one's own changes, not another participant's.
      history: { userOnly: true },
      // Dropped or pasted files would become data: images, which the document does not carry.
      uploader: { mimetypes: [] },
    },
  });
  quill.root.setAttribute('role', 'textbox');
  quill.root.setAttribute('aria-multiline', 'true');
  quill.root.setAttribute('aria-label', t.editor);
  localizeTooltip(root, t);
  guardPaste(quill);

  const listeners = new Set<(status: EditorStatus) => void>();
  let closed = false;
  const showStatus = (status: EditorStatus): void => {
    statusLine.textContent = t[STATUS_TEXT[status]];
    root.dataset.status = status;
    if (status === 'ended' || status === 'refused') quill.disable();
    for (const listener of listeners) listener(status);
  };

  const sync = new DocumentSync({ url: options.url, token: options.token, renew: options.renew }, {
    load(content) {
      const selection = quill.getSelection();
      quill.setContents(content, 'api');
      if (selection) quill.setSelection(Math.min(selection.index, quill.getLength() - 1), 0, 'silent');
      if (!options.readOnly && sync.status !== 'ended' && sync.status !== 'refused') quill.enable();
    },
    remoteChange(change) {
      quill.updateContents(change, 'api');
    },
    status: showStatus,
    refused(code) {
      statusLine.textContent = t[code === PadErrorCode.tooLarge ? 'refused.tooLarge' : 'refused.other'];
    },
  });
  quill.on('text-change', (change: Delta, _old: Delta, source: string) => {
    if (source === 'user') sync.submit(change);
  });
  showStatus(sync.status);

  return {
    get status() {
      return sync.status;
    },
    onStatus(listener) {
      listeners.add(listener);
      listener(sync.status);
      return () => listeners.delete(listener);
    },
    downloadHtml: () => htmlFile(quill.getSemanticHTML(), options.title ?? t.title, lang),
    downloadText: () => textFile(quill.getText()),
    close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      sync.close();
      root.remove();
    },
  };
}
