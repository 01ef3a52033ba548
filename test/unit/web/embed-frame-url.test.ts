/**
 * The address `/external_api.js` frames, as jitsi-meet's external API writes it: room path,
 * `jwt` and `lang` in the query, the instance id and the JSON-encoded overrides in the hash.
 */
import assert from 'node:assert/strict';
import { buildFrameUrl } from '../../../web/external-api/frame-url.ts';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJyb29tIjoiKiJ9.c2ln';

describe('web/external-api/frame-url', () => {
  it('writes what Jitsi\'s external API writes', () => {
    const url = buildFrameUrl('meet.example.org', 2, {
      roomName: 'MyRoom',
      jwt: JWT,
      lang: 'fr',
      configOverwrite: { prejoinConfig: { enabled: false }, startWithAudioMuted: true },
      interfaceConfigOverwrite: { SHOW_CHROME_EXTENSION_BANNER: false },
      userInfo: { displayName: 'Ada L' },
    });
    assert.equal(url, `https://meet.example.org/MyRoom?jwt=${JWT}&lang=fr#jitsi_meet_external_api_id=2&jwt=%22${JWT}%22`
      + '&config.prejoinConfig=%7B%22enabled%22%3Afalse%7D&config.startWithAudioMuted=true'
      + '&interfaceConfig.SHOW_CHROME_EXTENSION_BANNER=false&userInfo.displayName=%22Ada%20L%22');
  });

  it('keeps a tenant path, escapes each segment, and takes the language from defaultLanguage', () => {
    assert.equal(buildFrameUrl('meet.example.org:8443', 0, { roomName: 'acme/Salle été', configOverwrite: { defaultLanguage: 'fr' } }),
      'https://meet.example.org:8443/acme/Salle%20%C3%A9t%C3%A9?lang=fr#jitsi_meet_external_api_id=0&config.defaultLanguage=%22fr%22');
  });

  it('uses http only when asked (noSSL), and leaves out what JSON cannot encode', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(buildFrameUrl('127.0.0.1:8000', 1, { noSSL: true, configOverwrite: { a: cyclic, b: 10n, c: undefined, d: 1 } }),
      'http://127.0.0.1:8000/#jitsi_meet_external_api_id=1&config.d=1');
  });
});
