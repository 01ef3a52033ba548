/**
 * The conference's keyboard shortcuts (the keys jitsi-meet uses: M, V, D, C, P, R, W, ?, 0–9) and
 * when a key press counts as one: never while the user types in a field or an editor, never with
 * Ctrl/Alt/Meta held (those belong to the browser and the system).
 */
import type { MessageKey } from '../../i18n/index.tsx';

export type ShortcutAction =
  | 'toggle-audio' | 'toggle-video' | 'toggle-share' | 'toggle-chat' | 'toggle-participants'
  | 'toggle-hand' | 'toggle-tile-view' | 'show-help';

export interface Shortcut {
  /** As `KeyboardEvent.key`, lower case. */
  readonly key: string;
  readonly action: ShortcutAction;
  readonly label: MessageKey;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { key: 'm', action: 'toggle-audio', label: 'shortcuts.mic' },
  { key: 'v', action: 'toggle-video', label: 'shortcuts.camera' },
  { key: 'd', action: 'toggle-share', label: 'shortcuts.share' },
  { key: 'c', action: 'toggle-chat', label: 'shortcuts.chat' },
  { key: 'p', action: 'toggle-participants', label: 'shortcuts.participants' },
  { key: 'r', action: 'toggle-hand', label: 'shortcuts.hand' },
  { key: 'w', action: 'toggle-tile-view', label: 'shortcuts.tileView' },
  { key: '?', action: 'show-help', label: 'shortcuts.help' },
];

export type ResolvedShortcut =
  | { readonly kind: 'action'; readonly action: ShortcutAction }
  /** Digit keys: 0 pins ourselves, 1–9 the n-th other participant. */
  | { readonly kind: 'pin'; readonly index: number };

export interface KeyPress {
  readonly key: string;
  readonly ctrlKey: boolean;
  readonly altKey: boolean;
  readonly metaKey: boolean;
  readonly repeat: boolean;
  readonly target: EventTarget | null;
}

/** True for text fields, selects and rich-text editors, where keys are the user's text. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (typeof Element === 'undefined' || !(target instanceof Element)) return false;
  if (target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"], [role="textbox"]')) {
    return true;
  }
  return target instanceof HTMLElement && target.isContentEditable;
}

export function resolveShortcut(press: KeyPress): ResolvedShortcut | undefined {
  if (press.ctrlKey || press.altKey || press.metaKey || press.repeat) return undefined;
  if (isTypingTarget(press.target)) return undefined;
  const key = press.key.toLowerCase();
  if (/^[0-9]$/.test(key)) return { kind: 'pin', index: Number(key) };
  const shortcut = SHORTCUTS.find((s) => s.key === key);
  return shortcut ? { kind: 'action', action: shortcut.action } : undefined;
}
