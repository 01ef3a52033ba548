/** Switches the interface language (each name written in its own language, WCAG 3.1.2), and the light pages' header that holds it. */
import { LANGS, useI18n } from '../../i18n/index.tsx';

export function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <div class="language-switch" role="group" aria-label={t('lang.label')}>
      {LANGS.map((code) => (
        <button
          key={code}
          type="button"
          class="link-button"
          lang={code}
          aria-pressed={lang === code}
          onClick={() => setLang(code)}
        >
          {t(`lang.${code}`)}
        </button>
      ))}
    </div>
  );
}

/** The light pages' header (landing, pre-join): the service's name and the language switch. */
export function TopBar() {
  const { t } = useI18n();
  return (
    <header class="top-bar">
      <span class="brand">{t('app.name')}</span>
      <LanguageSwitch />
    </header>
  );
}
