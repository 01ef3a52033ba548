/** Listens for the conference's keyboard shortcuts on the document while the conference is shown. */
import { useEffect, useRef } from 'preact/hooks';
import { resolveShortcut, type ResolvedShortcut } from '../shortcuts/keys.ts';

export function useShortcuts(onShortcut: (shortcut: ResolvedShortcut) => void): void {
  // The latest handler, so the listener is added once and not on every render.
  const handler = useRef(onShortcut);
  handler.current = onShortcut;
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent): void => {
      if (event.defaultPrevented) return;
      // A modal dialog owns the keyboard until it closes.
      if (document.querySelector('dialog[open]')) return;
      const shortcut = resolveShortcut(event);
      if (!shortcut) return;
      event.preventDefault();
      handler.current(shortcut);
    };
    document.addEventListener('keydown', onKeyDown);
    return () => document.removeEventListener('keydown', onKeyDown);
  }, []);
}
