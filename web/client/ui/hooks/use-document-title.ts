/** Sets the document title for the page on screen (WCAG 2.4.2). */
import { useEffect } from 'preact/hooks';

export function useDocumentTitle(title: string): void {
  useEffect(() => {
    document.title = title;
  }, [title]);
}
