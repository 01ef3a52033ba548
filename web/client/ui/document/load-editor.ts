/**
 * The one place the shared-document editor is loaded: a dynamic import, so its code (Quill, the
 * OT client) is fetched only when someone first opens the document panel.
 */

export interface EditorHandle {
  downloadHtml(): Blob;
  downloadText(): Blob;
  close(): void;
}

export interface EditorOptions {
  readonly url: string;
  readonly token: string;
  readonly lang: string;
  /** Title of the downloaded HTML file. */
  readonly title: string;
  /** A fresh address and token for each reconnection (the document's tokens are short-lived). */
  readonly renew: () => Promise<{ readonly url: string; readonly token: string }>;
}

export type OpenEditor = (container: HTMLElement, options: EditorOptions) => Promise<EditorHandle>;

export async function loadEditor(): Promise<OpenEditor> {
  const module = await import('../../doc/editor.ts');
  return module.openEditor;
}
