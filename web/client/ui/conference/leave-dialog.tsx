/**
 * Before leaving: offers to download the shared document first when it was opened, and offers a
 * moderator to end the meeting for everyone (jitsi-meet's "End meeting for all").
 */
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
  /** Given to a moderator when the service can end meetings: ends it for everyone. */
  readonly onEndForEveryone: (() => void) | undefined;
}

export function LeaveDialog({ room, editor, onLeave, onCancel, onEndForEveryone }: LeaveDialogProps) {
  const { t } = useI18n();
  return (
    <Dialog title={t('leave.title')} closeLabel={t('leave.cancel')} onClose={onCancel}>
      {onEndForEveryone && <p>{t('leave.moderatorBody')}</p>}
      {(editor || !onEndForEveryone) && <p>{t('leave.body')}</p>}
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
        {onEndForEveryone && (
          <button type="button" class="button button--danger-solid" onClick={onEndForEveryone}>{t('leave.endForEveryone')}</button>
        )}
      </div>
    </Dialog>
  );
}
