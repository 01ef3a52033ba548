/**
 * A modal dialog on the native `<dialog>` element: showModal() traps focus and makes the page
 * behind inert, Escape closes it, and focus returns to the element that opened it (WAI-ARIA APG
 * dialog pattern).
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import { CloseIcon } from '../icons/index.tsx';

export interface DialogProps {
  readonly title: string;
  /** Called on Escape, the close button, or a closing action inside. */
  readonly onClose: () => void;
  readonly closeLabel: string;
  readonly children: ComponentChildren;
}

export function Dialog({ title, onClose, closeLabel, children }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement;
    dialog.showModal();
    const onCancel = (event: Event): void => {
      event.preventDefault(); // the parent unmounts us; keep one path for closing
      onCloseRef.current();
    };
    dialog.addEventListener('cancel', onCancel);
    return () => {
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby={titleId}>
      <div class="dialog-head">
        <h2 id={titleId} class="dialog-title">{title}</h2>
        <button type="button" class="icon-button" aria-label={closeLabel} onClick={() => onClose()}>
          <CloseIcon />
        </button>
      </div>
      <div class="dialog-body">{children}</div>
    </dialog>
  );
}
