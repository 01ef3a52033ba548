import assert from 'node:assert/strict';
import { parse } from 'ltx';
import { StanzaError } from '../../../../xmpp/errors.ts';
import {
  buildConferenceAnswer, buildConferenceRequest, NS_FOCUS, parseConferenceAnswer, parseConferenceRequest,
  type ConferenceAnswer, type ConferenceRequest,
} from '../../../../xmpp/protocol/conference-iq.ts';
import { describeFixtures, type Codec } from './fixtures.ts';

const request: Codec<ConferenceRequest> = { ns: NS_FOCUS, parse: parseConferenceRequest, build: buildConferenceRequest };
const answer: Codec<ConferenceAnswer> = { ns: NS_FOCUS, parse: parseConferenceAnswer, build: buildConferenceAnswer };

function assertBadRequest(fn: () => unknown, text?: string): void {
  assert.throws(fn, (err: unknown) => err instanceof StanzaError && err.condition === 'bad-request' && (text === undefined || err.text === text));
}

describe('xmpp/protocol/conference-iq (Jitsi focus conference request)', () => {
  describeFixtures('conference-iq', { request, answer });

  it("refuses a request without room with Jicofo's text \"No 'room' specified.\" (jitsi-protocol.md §3.4)", () => {
    assertBadRequest(() => parseConferenceRequest(parse(`<conference xmlns="${NS_FOCUS}" machine-uid="x"/>`)), "No 'room' specified.");
  });

  it('refuses an element that is not a focus conference', () => {
    assertBadRequest(() => parseConferenceRequest(parse('<conference xmlns="urn:other" room="r@muc"/>')));
    assertBadRequest(() => parseConferenceAnswer(parse(`<login-url xmlns="${NS_FOCUS}" room="r@muc"/>`)));
  });

  it('refuses an answer without focusjid', () => {
    assertBadRequest(() => parseConferenceAnswer(parse(`<conference xmlns="${NS_FOCUS}" room="r@muc" ready="true"/>`)));
  });

  it('reads ready as true only when it is exactly "true"', () => {
    const read = (ready: string) => parseConferenceAnswer(parse(`<conference xmlns="${NS_FOCUS}" room="r@muc" focusjid="f@a" ready="${ready}"/>`)).ready;
    assert.equal(read('true'), true);
    assert.equal(read('TRUE'), false);
    assert.equal(read('1'), false);
  });

  it('also reads properties written with key= instead of name=, and skips incomplete ones', () => {
    const el = parse(`<conference xmlns="${NS_FOCUS}" room="r@muc">
      <property key="startAudioMuted" value="5"/><property name="novalue"/><property value="noname"/></conference>`);
    assert.deepEqual(parseConferenceRequest(el).properties, { startAudioMuted: '5' });
  });
});
