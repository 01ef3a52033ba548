/**
 * The screen a guest sees while no organiser has started the meeting: the client keeps asking on
 * its own and moves on to the meeting when one arrives; the guest may leave meanwhile.
 */
import { useEffect, useRef } from 'preact/hooks';
import { useI18n } from '../../i18n/index.tsx';
import { useDocumentTitle } from '../hooks/use-document-title.ts';

export interface WaitingForHostProps {
  readonly room: string;
  readonly onLeave: () => void;
}

export function WaitingForHost({ room, onLeave }: WaitingForHostProps) {
  const { t } = useI18n();
  const heading = useRef<HTMLHeadingElement>(null);
  useDocumentTitle(`${t('wait.title')} – ${t('conf.title', { room })} – ${t('app.name')}`);
  // The page changed under the user (from "joining"): the heading takes the focus so it is read.
  useEffect(() => heading.current?.focus(), []);
  return (
    <div class="page page--light">
      <main class="page-main page--center" id="main">
        <div class="card card--narrow" aria-live="polite">
          <h1 ref={heading} tabIndex={-1}>{t('wait.title')}</h1>
          <p>{t('wait.body')}</p>
          <p>{t('conf.title', { room })}</p>
          <div class="actions">
            <button type="button" class="button" onClick={onLeave}>{t('wait.leave')}</button>
          </div>
        </div>
      </main>
    </div>
  );
}
