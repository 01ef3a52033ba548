/** Shown when the conference is over for us: left, removed, ended or failed; rejoin or go home. */
import { useEffect, useRef } from 'preact/hooks';
import type { ConferencePhase } from '../../conference/model.ts';
import { useI18n } from '../../i18n/index.tsx';
import { useDocumentTitle } from '../hooks/use-document-title.ts';

export type EndPhase = Extract<ConferencePhase, { name: 'left' } | { name: 'failed' }>;

export interface EndScreenProps {
  readonly phase: EndPhase;
  readonly onRejoin: () => void;
  readonly onHome: () => void;
}

export function EndScreen({ phase, onRejoin, onHome }: EndScreenProps) {
  const { t } = useI18n();
  const heading = useRef<HTMLHeadingElement>(null);
  const title = phase.name === 'failed' ? t('end.failed') : t(`end.${phase.reason}`);
  useDocumentTitle(`${title} – ${t('app.name')}`);
  useEffect(() => heading.current?.focus(), []);
  return (
    <div class="page page--light">
      <main class="page-main page--center" id="main">
        <div class="card card--narrow">
          <h1 ref={heading} tabIndex={-1}>{title}</h1>
          {phase.name === 'failed' && <p>{t(`end.error.${phase.error}`)}</p>}
          <div class="actions">
            <button type="button" class="button button--primary" onClick={onRejoin}>{t('end.rejoin')}</button>
            <button type="button" class="button" onClick={onHome}>{t('end.home')}</button>
          </div>
        </div>
      </main>
    </div>
  );
}
