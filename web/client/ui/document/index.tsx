/**
 * The shared-document panel: asks the conference for the document's address, loads the editor
 * into it, offers downloads, and says the document dies with the meeting. It stays mounted once
 * opened so switching panels keeps the editor; the handle is reported up for the leave dialog.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { useI18n } from '../../i18n/index.tsx';
import { DownloadIcon } from '../icons/index.tsx';
import { downloadBlob } from './download.ts';
import { loadEditor, type EditorHandle } from './load-editor.ts';

export interface DocumentPanelProps {
  readonly room: string;
  readonly openDocument: () => Promise<{ readonly url: string; readonly token: string }>;
  readonly onEditor: (editor: EditorHandle | undefined) => void;
}

type Status = 'loading' | 'ready' | 'failed';

export function DocumentPanel({ room, openDocument, onEditor }: DocumentPanelProps) {
  const { t, lang } = useI18n();
  const container = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<Status>('loading');
  const [editor, setEditor] = useState<EditorHandle | undefined>(undefined);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const el = container.current;
    if (!el) return;
    let cancelled = false;
    let handle: EditorHandle | undefined;
    setStatus('loading');
    (async () => {
      const [address, openEditor] = await Promise.all([openDocument(), loadEditor()]);
      if (cancelled) return;
      const opened = await openEditor(el, {
        url: address.url, token: address.token, lang, title: `${t('doc.title')} – ${room}`, renew: openDocument,
      });
      if (cancelled) {
        opened.close();
        return;
      }
      handle = opened;
      setEditor(opened);
      onEditor(opened);
      setStatus('ready');
    })().catch((err: unknown) => {
      console.error('the shared document could not be opened', err);
      if (!cancelled) setStatus('failed');
    });
    return () => {
      cancelled = true;
      handle?.close();
      onEditor(undefined);
    };
    // Opened once per attempt: a language change or a new callback must not reload the editor.
  }, [attempt]);

  return (
    <div class="document">
      <p class="notice-line">{t('doc.warning')}</p>
      <div class="document-actions">
        <button type="button" class="button button--small" disabled={!editor}
          onClick={() => editor && downloadBlob(editor.downloadHtml(), `${room}.html`)}>
          <DownloadIcon /><span>{t('doc.downloadHtml')}</span>
        </button>
        <button type="button" class="button button--small" disabled={!editor}
          onClick={() => editor && downloadBlob(editor.downloadText(), `${room}.txt`)}>
          <DownloadIcon /><span>{t('doc.downloadText')}</span>
        </button>
      </div>
      <p role="status" class="hint">{status === 'loading' ? t('doc.loading') : status === 'failed' ? t('doc.failed') : ''}</p>
      {status === 'failed' && (
        <button type="button" class="button" onClick={() => setAttempt((n) => n + 1)}>{t('doc.retry')}</button>
      )}
      <div class="document-editor" ref={container} role="region" aria-label={t('doc.editor')} />
    </div>
  );
}
