/**
 * A side panel of the conference (chat, participants, document, settings): a labelled region
 * with a heading and a close button. Kept mounted but hidden when `hidden`, so a panel that holds
 * state (the document editor) survives being switched away from.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import { useI18n } from '../../i18n/index.tsx';
import { CloseIcon } from '../icons/index.tsx';

export interface PanelProps {
  readonly title: string;
  readonly hidden: boolean;
  readonly onClose: () => void;
  readonly children: ComponentChildren;
  readonly class?: string;
  /** Move focus to the heading when the panel is shown (off when the content focuses a field). */
  readonly focusOnShow?: boolean;
}

export function Panel({ title, hidden, onClose, children, class: extra, focusOnShow = true }: PanelProps) {
  const { t } = useI18n();
  const titleId = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (!hidden && focusOnShow) heading.current?.focus();
  }, [hidden, focusOnShow]);
  return (
    <section class={`panel ${extra ?? ''}`} aria-labelledby={titleId} hidden={hidden}>
      <div class="panel-head">
        <h2 id={titleId} class="panel-title" tabIndex={-1} ref={heading}>{title}</h2>
        <button type="button" class="icon-button" aria-label={t('panel.close')} title={t('panel.close')} onClick={onClose}>
          <CloseIcon />
        </button>
      </div>
      <div class="panel-body">{children}</div>
    </section>
  );
}
