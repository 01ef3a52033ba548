/** The keyboard shortcuts help (opened with "?" or from the toolbar), generated from SHORTCUTS. */
import { useI18n } from '../../i18n/index.tsx';
import { Dialog } from '../dialog/index.tsx';
import { SHORTCUTS } from './keys.ts';

export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  const { t } = useI18n();
  return (
    <Dialog title={t('shortcuts.title')} closeLabel={t('shortcuts.close')} onClose={onClose}>
      <p>{t('shortcuts.intro')}</p>
      <dl class="shortcut-list">
        {SHORTCUTS.map((s) => (
          <div key={s.key} class="shortcut">
            <dt><kbd>{s.key.toUpperCase()}</kbd></dt>
            <dd>{t(s.label)}</dd>
          </div>
        ))}
        <div class="shortcut">
          <dt><kbd>0</kbd>–<kbd>9</kbd></dt>
          <dd>{t('shortcuts.pin')}</dd>
        </div>
      </dl>
    </Dialog>
  );
}
