/**
 * Announces the conference's notices (joins, leaves, knocks, moderation changes, reconnected) in a
 * polite live region, shown as short-lived toasts: removals are not announced, additions are.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Notice } from '../../conference/model.ts';
import { useI18n, type MessageKey } from '../../i18n/index.tsx';

/** How long a toast stays on screen; the live region has announced it long before. */
const TOAST_MS = 6000;
const MAX_SHOWN = 4;

function noticeText(notice: Notice, t: (key: MessageKey, params?: Record<string, string>) => string): string {
  switch (notice.kind) {
    case 'joined':
    case 'left':
    case 'knocking':
      return t(`notice.${notice.kind}`, { name: notice.name });
    case 'muted-by-moderator':
    case 'reconnected':
    case 'lobby-on':
    case 'lobby-off':
    case 'audio-moderation-on':
    case 'audio-moderation-off':
    case 'may-unmute':
    case 'asked-to-speak':
    case 'everyone-muted':
      return t(`notice.${notice.kind}`);
  }
}

export function Notices({ notices }: { notices: readonly Notice[] }) {
  const { t } = useI18n();
  const [expired, setExpired] = useState<ReadonlySet<number>>(new Set());
  const newest = notices[notices.length - 1]?.id;
  useEffect(() => {
    if (newest === undefined) return;
    const timer = setTimeout(() => setExpired((old) => new Set([...old, newest])), TOAST_MS);
    return () => clearTimeout(timer);
  }, [newest]);
  // Expiry of the newest notice hides every older one too (their timers were replaced).
  const lastExpired = Math.max(-Infinity, ...expired);
  const shown = notices.filter((n) => n.id > lastExpired).slice(-MAX_SHOWN);
  return (
    <div class="notices" role="log" aria-live="polite" aria-relevant="additions">
      {shown.map((n) => <p key={n.id} class="toast">{noticeText(n, t)}</p>)}
    </div>
  );
}
