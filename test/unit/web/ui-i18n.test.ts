/** i18n: both tables complete and consistent, language detection, formatting and plurals. */
import assert from 'node:assert/strict';
import { en, type MessageKey } from '../../../web/client/i18n/en.ts';
import { fr } from '../../../web/client/i18n/fr.ts';
import { detectLanguage, format, initialLanguage, translate, translatePlural } from '../../../web/client/i18n/translate.ts';

const params = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();

describe('i18n tables', () => {
  it('French and English have the same keys, none empty', () => {
    assert.deepEqual(Object.keys(fr).sort(), Object.keys(en).sort());
    for (const [key, value] of [...Object.entries(en), ...Object.entries(fr)]) assert.ok(value.trim() !== '', `${key} is empty`);
  });
  it('each French string has the same parameters as the English one', () => {
    for (const key of Object.keys(en) as MessageKey[]) assert.deepEqual(params(fr[key]), params(en[key]), key);
  });
  it('most strings are actually translated', () => {
    const same = (Object.keys(en) as MessageKey[]).filter((k) => en[k] === fr[k]);
    assert.ok(same.length < 15, `untranslated: ${same.join(', ')}`);
  });
});

describe('language choice', () => {
  it('fr* is French, en* English, anything else English, first match wins', () => {
    assert.equal(detectLanguage(['fr-CA', 'en']), 'fr');
    assert.equal(detectLanguage(['de-DE', 'fr']), 'fr');
    assert.equal(detectLanguage(['en-US', 'fr-FR']), 'en');
    assert.equal(detectLanguage(['de', 'it']), 'en');
    assert.equal(detectLanguage([]), 'en');
  });
  it('the URL beats the stored choice, which beats the browser', () => {
    assert.equal(initialLanguage('en', ['fr-FR'], 'fr'), 'fr');
    assert.equal(initialLanguage('en', ['fr-FR']), 'en');
    assert.equal(initialLanguage(null, ['fr-FR']), 'fr');
    assert.equal(initialLanguage('xx', ['fr-FR'], 'de'), 'fr');
  });
});

describe('formatting', () => {
  it('fills parameters and leaves unknown ones visible', () => {
    assert.equal(format('{a} and {b}', { a: 1, b: 'x' }), '1 and x');
    assert.equal(format('{a} and {c}', { a: 1 }), '1 and {c}');
    assert.equal(translate('fr', 'notice.joined', { name: 'Zoé' }), 'Zoé a rejoint la réunion');
  });
  it('plurals follow each language: French 0 and 1 singular, English only 1', () => {
    assert.equal(translatePlural('fr', 'toolbar.unread', 0), '0 message non lu');
    assert.equal(translatePlural('fr', 'toolbar.unread', 1), '1 message non lu');
    assert.equal(translatePlural('fr', 'toolbar.unread', 2), '2 messages non lus');
    assert.equal(translatePlural('en', 'toolbar.unread', 0), '0 unread messages');
    assert.equal(translatePlural('en', 'toolbar.unread', 1), '1 unread message');
  });
});
