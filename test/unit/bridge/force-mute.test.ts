import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse, type Element } from 'ltx';
import { buildConferenceModify, parseConferenceModify } from '../../../xmpp/protocol/colibri2.ts';
import { vp8Rtp } from './rtp/fixtures.ts';
import { serviceWithFakeEndpoints } from './fake-endpoint.ts';

const fixture = (name: string): Element => parse(readFileSync(new URL(`../../fixtures/xmpp/colibri2/${name}.xml`, import.meta.url), 'utf8'));
const MEETING = '5f0c6e7a-3b1d-4e8f-9a2c-7d6b5e4f3a21';
/** The audio SSRC the sender announces in modify-jicofo-update. */
const AUDIO_SSRC = 3190521134;

function audioRtp(seq: number): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x80;
  b[1] = 111;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(AUDIO_SSRC, 8);
  return b;
}

/** Jicofo's force-mute request, through the wire format and back. */
function forceMute(audio: boolean, video: boolean) {
  return parseConferenceModify(buildConferenceModify({ meetingId: MEETING, endpoints: [{ id: 'abcd1234', media: [], capabilities: [], forceMute: { audio, video } }], relays: [] }));
}

describe('bridge Colibri2 force-mute', () => {
  function setUp() {
    const { svc, endpoints } = serviceWithFakeEndpoints();
    svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    svc.modify(parseConferenceModify(fixture('modify-jicofo-update')));
    svc.modify({ meetingId: MEETING, endpoints: [{ id: 'efgh5678', create: true, media: [], capabilities: [] }], relays: [] });
    return { svc, sender: endpoints.get('abcd1234')!, receiver: endpoints.get('efgh5678')! };
  }

  it('drops a force-muted endpoint\'s audio and keeps its video, until the focus lifts it', () => {
    const { svc, sender, receiver } = setUp();
    sender.emit('rtp', audioRtp(1));
    assert.deepEqual(receiver.ssrcsSince(0), [AUDIO_SSRC], 'audio flows before');

    svc.modify(forceMute(true, false));
    assert.equal(svc.conferenceList()[0]!.isForceMuted('abcd1234', 'audio'), true);
    const mark = receiver.sentRtp.length;
    sender.emit('rtp', audioRtp(2));
    sender.emit('rtp', Buffer.from(vp8Rtp(1001, 10)));
    const got = receiver.ssrcsSince(mark);
    assert.ok(!got.includes(AUDIO_SSRC), 'no audio while force-muted');
    assert.equal(got.length, 1, 'the video keyframe goes through');

    svc.modify(forceMute(false, false));
    const again = receiver.sentRtp.length;
    sender.emit('rtp', audioRtp(3));
    assert.deepEqual(receiver.ssrcsSince(again), [AUDIO_SSRC], 'audio flows again');
  });

  it('drops video when video is force-muted', () => {
    const { svc, sender, receiver } = setUp();
    svc.modify(forceMute(false, true));
    sender.emit('rtp', Buffer.from(vp8Rtp(1001, 10)));
    sender.emit('rtp', audioRtp(1));
    assert.deepEqual(receiver.ssrcsSince(0), [AUDIO_SSRC]);
  });
});
