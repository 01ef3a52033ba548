import assert from 'node:assert/strict';
import { parse, type Element } from 'ltx';
import { StanzaError } from '../../../../xmpp/errors.ts';
import {
  buildAvModerationCommand, buildAvModerationMessage, parseAvModerationCommand, parseAvModerationMessage,
  type AvModerationCommand, type AvModerationNotice,
} from '../../../../xmpp/protocol/av-moderation.ts';

const ROOM = 'myroom@muc.meet.jitsi';

describe('A/V moderation messages', () => {
  it('parses the commands lib-jitsi-meet sends (attributes, as Strophe writes them)', () => {
    // AVModeration.enable / approve / reject, as serialised by Strophe (no namespace of their own)
    const wire: Array<[string, AvModerationCommand]> = [
      ['<av_moderation enable="true" mediaType="audio"/>', { action: 'enable', mediaType: 'audio', enable: true }],
      ['<av_moderation enable="false" mediaType="video"/>', { action: 'enable', mediaType: 'video', enable: false }],
      [`<av_moderation mediaType="audio" jidToWhitelist="${ROOM}/abcd1234"/>`, { action: 'approve', mediaType: 'audio', occupantJid: `${ROOM}/abcd1234` }],
      [`<av_moderation jidToBlacklist="${ROOM}/abcd1234" mediaType="desktop"/>`, { action: 'reject', mediaType: 'desktop', occupantJid: `${ROOM}/abcd1234` }],
    ];
    for (const [xml, expected] of wire) {
      assert.deepEqual(parseAvModerationCommand(parse(xml) as Element), expected, xml);
      assert.deepEqual(parseAvModerationCommand(buildAvModerationCommand(expected)), expected, 'round trip');
    }
  });

  it('accepts the same command as JSON text', () => {
    const el = parse('<av_moderation xmlns="http://jitsi.org/jitmeet">{"enable":true,"mediaType":"audio"}</av_moderation>') as Element;
    assert.deepEqual(parseAvModerationCommand(el), { action: 'enable', mediaType: 'audio', enable: true });
  });

  it('refuses bad commands with bad-request', () => {
    for (const xml of [
      '<av_moderation enable="true"/>',
      '<av_moderation enable="yes" mediaType="audio"/>',
      '<av_moderation enable="true" mediaType="chat"/>',
      '<av_moderation mediaType="audio"/>',
      '<av_moderation>not json</av_moderation>',
      '<av_moderation>[1,2]</av_moderation>',
      '<av_moderation/>',
    ]) {
      assert.throws(() => parseAvModerationCommand(parse(xml) as Element), (e: StanzaError) => e.condition === 'bad-request', xml);
    }
  });

  it('writes the notices as mod_av_moderation_component.lua does and reads them back', () => {
    const notices: Array<[AvModerationNotice, Record<string, unknown>]> = [
      [{ kind: 'enabled', room: ROOM, mediaType: 'audio', enabled: true, actor: `${ROOM}/mod` },
        { type: 'av_moderation', room: ROOM, enabled: true, mediaType: 'audio', actor: `${ROOM}/mod` }],
      [{ kind: 'whitelists', room: ROOM, mediaType: 'audio', whitelists: { audio: [`${ROOM}/p1`] } },
        { type: 'av_moderation', room: ROOM, whitelists: { audio: [`${ROOM}/p1`] }, mediaType: 'audio' }],
      [{ kind: 'whitelists', room: ROOM, mediaType: 'video', whitelists: { video: [] }, removed: true },
        { type: 'av_moderation', room: ROOM, whitelists: { video: [] }, removed: true, mediaType: 'video' }],
      [{ kind: 'approved', room: ROOM, mediaType: 'audio' }, { type: 'av_moderation', room: ROOM, approved: true, mediaType: 'audio' }],
      [{ kind: 'rejected', room: ROOM, mediaType: 'audio' }, { type: 'av_moderation', room: ROOM, removed: true, mediaType: 'audio' }],
    ];
    for (const [notice, json] of notices) {
      const message = buildAvModerationMessage('avmoderation.meet.jitsi', 'u@meet.jitsi/r', notice);
      assert.equal(message.attrs.from, 'avmoderation.meet.jitsi');
      const body = message.getChild('json-message', 'http://jitsi.org/jitmeet');
      assert.deepEqual(JSON.parse(body!.getText()), json);
      assert.deepEqual(parseAvModerationMessage(parse(message.toString()) as Element), notice);
    }
  });

  it('ignores messages that are not av_moderation JSON', () => {
    for (const xml of [
      '<message><body>hi</body></message>',
      '<message><json-message xmlns="http://jitsi.org/jitmeet">{"type":"speakerstats"}</json-message></message>',
      '<message><json-message xmlns="http://jitsi.org/jitmeet">oops</json-message></message>',
    ]) assert.equal(parseAvModerationMessage(parse(xml) as Element), undefined, xml);
  });
});
