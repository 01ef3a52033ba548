/**
 * Language choice and message formatting, free of Preact so unit tests can use them: `{name}`
 * parameters, plural keys (`.one`/`.other`, chosen by Intl.PluralRules), the stored preference.
 */
import { en, type MessageKey, type Messages } from './en.ts';
import { fr } from './fr.ts';

export type Lang = 'fr' | 'en';
export const LANGS: readonly Lang[] = ['fr', 'en'];
export const TABLES: Readonly<Record<Lang, Messages>> = { fr, en };

/** localStorage key of the language the user picked. */
export const LANG_STORAGE_KEY = 'salon.lang';

export type Params = Readonly<Record<string, string | number>>;

/** The first of `languages` (BCP 47 tags) that is French or English, if any. */
export function matchLanguage(languages: readonly string[]): Lang | undefined {
  for (const tag of languages) {
    const primary = tag.toLowerCase().split('-')[0];
    if (primary === 'fr') return 'fr';
    if (primary === 'en') return 'en';
  }
  return undefined;
}

/** French for any `fr*` language tag the browser prefers first among fr/en, English otherwise. */
export function detectLanguage(languages: readonly string[]): Lang {
  return matchLanguage(languages) ?? 'en';
}

/**
 * The language a page starts in: one the URL asks for (`?lang=`, jitsi-meet's convention), else
 * the user's stored choice, else the browser's preference.
 */
export function initialLanguage(stored: string | null, languages: readonly string[], requested?: string): Lang {
  const fromUrl = requested === undefined ? undefined : matchLanguage([requested]);
  if (fromUrl) return fromUrl;
  return stored === 'fr' || stored === 'en' ? stored : detectLanguage(languages);
}

/** Replaces each `{param}`; an unknown parameter is left visible so the mistake shows. */
export function format(template: string, params?: Params): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}

export function translate(lang: Lang, key: MessageKey, params?: Params): string {
  return format(TABLES[lang][key], params);
}

type PluralBase<K> = K extends `${infer B}.one` ? (`${B}.other` extends MessageKey ? B : never) : never;
/** Keys that have a `.one` and an `.other` form. */
export type PluralKey = PluralBase<MessageKey>;

/** The plural form for `count` (French puts 0 and 1 in "one", English only 1). */
export function translatePlural(lang: Lang, base: PluralKey, count: number, params?: Params): string {
  const form = new Intl.PluralRules(lang).select(count) === 'one' ? 'one' : 'other';
  return translate(lang, `${base}.${form}`, { count, ...params });
}
