/** A string state remembered in localStorage under `key` (kept in memory only when storage fails). */
import { useCallback, useState } from 'preact/hooks';

export function readStored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage disabled: nothing remembered
  }
}

export function writeStored(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch (err) {
    console.warn(`${key} not remembered: storage unavailable`, err);
  }
}

export function useStoredString(key: string, initial: string): [string, (value: string) => void] {
  const [value, setValue] = useState(() => readStored(key) ?? initial);
  const set = useCallback((next: string) => {
    setValue(next);
    writeStored(key, next);
  }, [key]);
  return [value, set];
}
