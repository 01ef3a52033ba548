/**
 * The URL settings a Jitsi link or the iframe API may pass: the fixed whitelist read as jitsi-meet
 * reads it, and everything else (including hostile keys and values) ignored.
 */
import assert from 'node:assert/strict';
import { addressWithoutToken, MAX_DISPLAY_NAME, MAX_VALUE_CHARS, parseUrlOverrides, type UrlOverrides } from '../../../web/client/embed/url-overrides.ts';
import { buildFrameUrl } from '../../../web/external-api/frame-url.ts';

const NONE: UrlOverrides = {
  apiId: undefined, prejoinEnabled: undefined, startWithAudioMuted: undefined, startWithVideoMuted: undefined,
  displayName: undefined, jwt: undefined, lang: undefined,
};
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJyb29tIjoiKiJ9.c2lnbmF0dXJl';

function parse(hash: string, search = ''): UrlOverrides {
  return parseUrlOverrides({ hash, search });
}

describe('web/client/embed/url-overrides', () => {
  it('reads nothing from an empty URL', () => {
    assert.deepEqual(parse(''), NONE);
  });

  it('reads what the iframe API writes into the URL it frames', () => {
    const url = new URL(buildFrameUrl('meet.example.org', 3, {
      roomName: 'Room1',
      jwt: JWT,
      lang: 'fr',
      configOverwrite: { prejoinConfig: { enabled: false }, startWithAudioMuted: true, startWithVideoMuted: false },
      userInfo: { displayName: 'Ada « L » & Co', email: 'ada@example.org' },
    }));
    assert.deepEqual(parseUrlOverrides(url), {
      apiId: 3, prejoinEnabled: false, startWithAudioMuted: true, startWithVideoMuted: false,
      displayName: 'Ada « L » & Co', jwt: JWT, lang: 'fr',
    });
  });

  it('reads hand-written links: dotted keys, raw text for a name, the older prejoin key', () => {
    assert.equal(parse('#config.prejoinConfig.enabled=false').prejoinEnabled, false);
    assert.equal(parse('#config.prejoinPageEnabled=false').prejoinEnabled, false);
    assert.equal(parse('#config.prejoinPageEnabled=true&config.prejoinConfig.enabled=false').prejoinEnabled, false, 'the current name wins');
    assert.equal(parse('#userInfo.displayName=Ada%20Lovelace').displayName, 'Ada Lovelace');
    assert.equal(parse('#userInfo.displayName=%E2%80%9CAda%E2%80%9D').displayName, 'Ada', 'typographic quotes read as JSON quotes, as in jitsi-meet');
    assert.equal(parse('#config.defaultLanguage=%22fr-CA%22').lang, 'fr-CA');
    assert.equal(parse('#jwt=%22' + JWT + '%22').jwt, JWT);
  });

  it("prefers the hash JWT over the query's (as jitsi-meet's parseJWTFromURLParams), the query language over the hash's", () => {
    const other = 'aaa.bbb.ccc';
    const result = parse(`#jwt=%22${JWT}%22&config.defaultLanguage=%22en%22`, `?jwt=${other}&lang=fr`);
    assert.equal(result.jwt, JWT);
    assert.equal(result.lang, 'fr');
    assert.equal(parse(`#jwt=${JWT}`).jwt, JWT, 'an unquoted hash token, typed by hand');
    assert.equal(parse('#jwt=not-a-jwt', `?jwt=${JWT}`).jwt, JWT, 'a hash value that is no token leaves the query one');
  });

  it('gives the address without its token, everything else kept as written', () => {
    const at = (pathname: string, search: string, hash: string): string | undefined => addressWithoutToken({ pathname, search, hash });
    assert.equal(at('/Reunion', '', '#jwt=%22a.b.c%22&config.prejoinConfig.enabled=false'), '/Reunion#config.prejoinConfig.enabled=false');
    assert.equal(at('/Reunion', '?jwt=a.b.c', ''), '/Reunion');
    assert.equal(at('/equipe/Reunion', '?lang=fr&jwt=a.b.c', '#userInfo.displayName=%22Ada%22&jwt=%22a.b.c%22&jitsi_meet_external_api_id=2'),
      '/equipe/Reunion?lang=fr#userInfo.displayName=%22Ada%22&jitsi_meet_external_api_id=2');
    assert.equal(at('/Reunion', '?jwt', '#jwt=&jwt=x'), '/Reunion', 'every jwt parameter, even empty or repeated');
    assert.equal(at('/Reunion', '?lang=fr', '#config.startWithAudioMuted=true'), undefined, 'nothing to take out');
    assert.equal(at('/Reunion', '?jwtx=1', '#xjwt=2'), undefined, 'other keys that merely contain jwt stay');
    assert.equal(at('/', '', ''), undefined);
  });

  it('ignores every key outside the whitelist, security-relevant ones included', () => {
    const hash = [
      'config.hosts.domain=%22evil.example%22', 'config.websocket=%22wss%3A%2F%2Fevil.example%22', 'config.bosh=%22x%22',
      'config.focusUserJid=%22focus%40evil%22', 'config.p2p.enabled=true', 'config.e2ee=%7B%7D', 'iceServers.replace=%5B%5D',
      'interfaceConfig.APP_NAME=%22x%22', 'appData.localStorageContent=%22x%22', 'devices.audioInput=%22x%22',
    ].join('&');
    const result = parse(`#${hash}`, '?room=x&config.websocket=y');
    assert.deepEqual(result, NONE);
    assert.deepEqual(Object.keys(result).sort(), Object.keys(NONE).sort(), 'the result has the whitelisted fields only');
  });

  it('is not polluted by prototype keys, in keys or inside JSON values', () => {
    const result = parse([
      '#__proto__.polluted=true', 'config.__proto__.polluted=true', 'constructor.prototype.polluted=true',
      'config.prejoinConfig=%7B%22__proto__%22%3A%7B%22polluted%22%3Atrue%7D%2C%22enabled%22%3A%22no%22%7D',
      'userInfo.__proto__=%7B%22displayName%22%3A%22x%22%7D',
    ].join('&'));
    assert.deepEqual(result, NONE);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  });

  it('drops values of the wrong type and malformed escapes', () => {
    assert.deepEqual(parse('#config.startWithAudioMuted=%22true%22&config.startWithVideoMuted=1&config.prejoinConfig.enabled=yes'), NONE);
    assert.deepEqual(parse('#jitsi_meet_external_api_id=-1'), NONE);
    assert.deepEqual(parse('#jitsi_meet_external_api_id=1.5'), NONE);
    assert.deepEqual(parse('#jitsi_meet_external_api_id=%22abc%22'), NONE);
    assert.deepEqual(parse('#jitsi_meet_external_api_id=1e400'), NONE);
    assert.deepEqual(parse('#userInfo.displayName=%E0%A4%A'), NONE, 'a broken escape');
    assert.deepEqual(parse('#userInfo.displayName=%7B%22a%22%3A1%7D'), NONE, 'an object is no name');
    assert.deepEqual(parse('#userInfo.displayName=undefined'), NONE);
    assert.deepEqual(parse('#config.startWithAudioMuted={bad json'), NONE);
    assert.deepEqual(parse('', '?jwt=not-a-jwt&lang=fr%22%3Cscript'), NONE);
    assert.deepEqual(parse('', '?lang=../../etc'), NONE);
  });

  it('cleans and bounds a display name', () => {
    assert.equal(parse('#userInfo.displayName=%22%20%20Ada%5Cu0000%5Cn%20%22').displayName, 'Ada');
    assert.equal(parse('#userInfo.displayName=%22%20%20%22').displayName, undefined);
    const long = 'é'.repeat(MAX_DISPLAY_NAME + 50);
    assert.equal(parse(`#userInfo.displayName=${encodeURIComponent(JSON.stringify(long))}`).displayName, 'é'.repeat(MAX_DISPLAY_NAME));
  });

  it('ignores huge values and stops reading after many parameters', () => {
    const huge = 'a'.repeat(MAX_VALUE_CHARS + 1);
    assert.equal(parse(`#userInfo.displayName=${huge}`).displayName, undefined);
    assert.equal(parse('', `?jwt=${huge}.${huge}.${huge}`).jwt, undefined);
    const noise = Array.from({ length: 5000 }, (_, i) => `x${i}=1`).join('&');
    assert.equal(parse(`#${noise}&config.startWithAudioMuted=true`).startWithAudioMuted, undefined);
    assert.equal(parse(`#config.startWithAudioMuted=true&${noise}`).startWithAudioMuted, true);
  });

  it('leaves a hash router path alone', () => {
    assert.deepEqual(parse('#/jitsi_meet_external_api_id=1'), NONE);
  });

  it('takes the last of repeated keys, as jitsi-meet does', () => {
    assert.equal(parse('#config.startWithVideoMuted=true&config.startWithVideoMuted=false').startWithVideoMuted, false);
  });
});
