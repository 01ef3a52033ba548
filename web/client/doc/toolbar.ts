/**
 * The editor's toolbar as Quill's toolbar module expects it (buttons classed `ql-<format>`, the
 * snow theme adds the icons), with what Quill leaves out: a name for every button in the user's
 * language (`aria-label` and `title`; Quill's own labels are format names such as `list: bullet`)
 * and a name for the toolbar itself.
 */
import type { StringKey } from './strings.ts';

interface ButtonSpec {
  format: string;
  value?: string;
  label: StringKey;
}

/** Groups of buttons, in toolbar order: headings, emphasis, lists, link. */
const GROUPS: readonly (readonly ButtonSpec[])[] = [
  [{ format: 'header', value: '1', label: 'header1' }, { format: 'header', value: '2', label: 'header2' }],
  [{ format: 'bold', label: 'bold' }, { format: 'italic', label: 'italic' }, { format: 'underline', label: 'underline' }],
  [{ format: 'list', value: 'ordered', label: 'orderedList' }, { format: 'list', value: 'bullet', label: 'bulletList' }],
  [{ format: 'link', label: 'link' }],
];

/** The formats the editor allows (Quill's `formats` option); the server's policy allows the same. */
export const EDITOR_FORMATS = ['header', 'bold', 'italic', 'underline', 'list', 'indent', 'link'] as const;

export function buildToolbar(t: Readonly<Record<StringKey, string>>): HTMLElement {
  const toolbar = document.createElement('div');
  toolbar.setAttribute('role', 'toolbar');
  toolbar.setAttribute('aria-label', t.toolbar);
  for (const group of GROUPS) {
    const span = document.createElement('span');
    span.className = 'ql-formats';
    for (const spec of group) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = `ql-${spec.format}`;
      if (spec.value !== undefined) button.value = spec.value;
      button.setAttribute('aria-label', t[spec.label]);
      button.title = t[spec.label];
      button.setAttribute('aria-pressed', 'false');
      span.append(button);
    }
    toolbar.append(span);
  }
  return toolbar;
}
