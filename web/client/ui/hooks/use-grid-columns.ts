/**
 * Keeps the tile grid's column count fitted to its element's size (ResizeObserver), written as
 * the `--cols` custom property the CSS grid reads.
 */
import { useEffect, type MutableRef } from 'preact/hooks';
import { gridColumns } from '../stage/layout.ts';

export function useGridColumns(ref: MutableRef<HTMLElement | null>, count: number): void {
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const apply = (): void => {
      const cols = gridColumns(count, el.clientWidth, el.clientHeight);
      el.style.setProperty('--cols', String(cols));
      el.style.setProperty('--rows', String(Math.ceil(count / cols)));
    };
    apply();
    const observer = new ResizeObserver(apply);
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref, count]);
}
