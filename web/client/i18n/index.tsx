/**
 * The i18n context: the current language, `t()` for messages and Intl formatting of times, the
 * setter that remembers the choice and keeps `<html lang>` in step (WCAG 3.1.1).
 */
import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import type { MessageKey } from './en.ts';
import {
  initialLanguage, LANG_STORAGE_KEY, translate, translatePlural, type Lang, type Params, type PluralKey,
} from './translate.ts';

export type { Lang, MessageKey };
export { LANGS } from './translate.ts';

export interface I18n {
  readonly lang: Lang;
  t(key: MessageKey, params?: Params): string;
  plural(base: PluralKey, count: number, params?: Params): string;
  /** Hours and minutes in the current language, e.g. "14:05" or "2:05 PM". */
  formatTime(timestamp: number): string;
  setLang(lang: Lang): void;
}

function makeI18n(lang: Lang, setLang: (lang: Lang) => void): I18n {
  const time = new Intl.DateTimeFormat(lang, { hour: 'numeric', minute: '2-digit' });
  return {
    lang,
    t: (key, params) => translate(lang, key, params),
    plural: (base, count, params) => translatePlural(lang, base, count, params),
    formatTime: (timestamp) => time.format(timestamp),
    setLang,
  };
}

const I18nContext = createContext<I18n>(makeI18n('en', () => undefined));

export function useI18n(): I18n {
  return useContext(I18nContext);
}

function readStoredLang(): string | null {
  try {
    return localStorage.getItem(LANG_STORAGE_KEY);
  } catch {
    return null; // storage disabled (privacy mode): fall back to the browser's languages
  }
}

export interface I18nProviderProps {
  /** A language tag the page was asked for (`?lang=`); wins over the remembered choice. */
  readonly requested?: string | undefined;
  readonly children: ComponentChildren;
}

export function I18nProvider({ requested, children }: I18nProviderProps) {
  const [lang, setLangState] = useState<Lang>(() => initialLanguage(readStoredLang(), navigator.languages, requested));
  const setLang = useCallback((next: Lang) => {
    setLangState(next);
    try {
      localStorage.setItem(LANG_STORAGE_KEY, next);
    } catch (err) {
      console.warn('language choice not remembered: storage unavailable', err);
    }
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const value = useMemo(() => makeI18n(lang, setLang), [lang, setLang]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}
