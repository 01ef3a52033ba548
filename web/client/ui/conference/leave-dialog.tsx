/** Before leaving a meeting whose document was opened: offers to download it first. */
import { useI18n } from '../../i18n/index.tsx';
import { Dialog } from '../dialog/index.tsx';
import { downloadBlob } from '../document/download.ts';
import type { EditorHandle } from '../document/load-editor.ts';
import { DownloadIcon } from '../icons/index.tsx';

export interface LeaveDialogProps {
  readonly room: string;
  readonly editor: EditorHandle | undefined;
  readonly onLeave: () => void;
  readonly onCancel: () => void;
}

export function LeaveDialog({ room, editor, onLeave, onCancel }: LeaveDialogProps) {
  const { t } = useI18n();
  return (
    <Dialog title={t('leave.title')} closeLabel={t('leave.cancel')} onClose={onCancel}>
      <p>{t('leave.body')}</p>
      {editor && (
        <div class="document-actions">
          <button type="button" class="button" onClick={() => downloadBlob(editor.downloadHtml(), `${room}.html`)}>
            <DownloadIcon /><span>{t('doc.downloadHtml')}</span>
          </button>
          <button type="button" class="button" onClick={() => downloadBlob(editor.downloadText(), `${room}.txt`)}>
            <DownloadIcon /><span>{t('doc.downloadText')}</span>
          </button>
        </div>
      )}
      <div class="actions actions--end">
        <button type="button" class="button" onClick={onCancel} autofocus>{t('leave.cancel')}</button>
        <button type="button" class="button button--danger-solid" onClick={onLeave}>{t('leave.confirm')}</button>
      </div>
    </Dialog>
  );
}
