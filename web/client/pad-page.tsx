/**
 * The shared document's own page, `/etherpad/p/<name>`: what jitsi-meet shows in its iframe when
 * someone opens the shared document (it appends `?showChat=…&userName=…`, protocol doc §9). The
 * name in the path is the document's capability; the page opens the editor full-window on
 * `/pad/<name>`, in French or English (`?lang=` if given, else the browser's language), and says
 * plainly when the document no longer exists or access is refused.
 */
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { padSocketUrl } from './doc/address.ts';
import { downloadBlob } from './ui/document/download.ts';
import type { EditorHandle, EditorStatus } from './doc/editor.ts';
import { pickLang, strings, type Lang } from './doc/strings.ts';
import './doc/pad-page.css';

function PadPage({ lang, url }: { lang: Lang; url: string | undefined }) {
  const t = strings(lang);
  const host = useRef<HTMLDivElement>(null);
  const [editor, setEditor] = useState<EditorHandle | undefined>(undefined);
  const [status, setStatus] = useState<EditorStatus>('connecting');
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    const el = host.current;
    if (!el || !url) return;
    let handle: EditorHandle | undefined;
    let cancelled = false;
    import('./doc/editor.ts')
      .then(({ openEditor }) => openEditor(el, { url, lang, title: t.title }))
      .then((opened) => {
        if (cancelled) return opened.close();
        handle = opened;
        setEditor(opened);
        opened.onStatus(setStatus);
      })
      .catch((err: unknown) => {
        console.error('the editor could not start', err);
        setFailed(true);
      });
    return () => {
      cancelled = true;
      handle?.close();
    };
  }, [url]);

  const stamp = new Date().toISOString().slice(0, 10);
  const problem = !url ? t.pageBadAddress
    : failed ? t.pageFailed
      : status === 'ended' ? t.pageGone
        : status === 'refused' ? t.pageRefused
          : undefined;
  return (
    <main class="pad-page">
      <header class="pad-page-header">
        <h1>{t.title}</h1>
        <p class="pad-page-warning">{t.pageWarning}</p>
        <div class="pad-page-actions">
          <button type="button" disabled={!editor} onClick={() => editor && downloadBlob(editor.downloadHtml(), `document-${stamp}.html`)}>
            {t.downloadHtml}
          </button>
          <button type="button" disabled={!editor} onClick={() => editor && downloadBlob(editor.downloadText(), `document-${stamp}.txt`)}>
            {t.downloadText}
          </button>
        </div>
      </header>
      {problem && <p class="pad-page-problem" role="alert">{problem}</p>}
      <div class="pad-page-editor" ref={host} />
    </main>
  );
}

const query = new URLSearchParams(location.search);
const lang = pickLang(query.get('lang') ?? navigator.language);
document.documentElement.lang = lang;
document.title = strings(lang).title;
render(<PadPage lang={lang} url={padSocketUrl(location)} />, document.body);
