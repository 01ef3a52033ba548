import assert from 'node:assert/strict';
import {
  BRIDGE_CHANNEL_CLASSES, BridgeChannelMessageError, isBridgeToClientMessage, isClientToBridgeMessage,
  MAX_BRIDGE_CHANNEL_MESSAGE_BYTES, parseBridgeChannelMessage, serialiseBridgeChannelMessage,
  type BridgeChannelErrorKind, type BridgeChannelMessage,
} from '../../../../xmpp/protocol/bridge-channel.ts';

/** [what, wire text, expected parse when it is not the text itself]. Examples marked § are jitsi-protocol.md's. */
const valid: Array<[string, string, BridgeChannelMessage?]> = [
  ['ClientHello', '{"colibriClass":"ClientHello"}'],
  ['ServerHello with version (§7.3)', '{"colibriClass":"ServerHello","version":"2.3.260"}'],
  ['ServerHello without version', '{"colibriClass":"ServerHello"}'],
  ['a broadcast EndpointMessage from a client (§7.2)', '{"colibriClass":"EndpointMessage","to":"","msgPayload":{"type":"e2e-ping-request","id":3}}'],
  ['a relayed EndpointMessage (§7.3)', '{"colibriClass":"EndpointMessage","to":"abcd1234","from":"efgh5678","msgPayload":{"type":"reaction","reaction":"like"}}'],
  ['an EndpointMessage with a field JVB keeps', '{"colibriClass":"EndpointMessage","to":"","msgPayload":{},"extra":[1,{"a":null}]}'],
  ['EndpointStats as lib-jitsi-meet sends them', '{"colibriClass":"EndpointStats","bitrate":{"upload":812,"download":1530,"audio":{"upload":32,"download":64},"video":{"upload":780,"download":1466}},"packetLoss":{"total":0,"upload":0,"download":0},"connectionQuality":100,"jvbRTT":24,"maxEnabledResolution":720,"serverRegion":"eu-west"}'],
  ['EndpointStats relayed with from', '{"colibriClass":"EndpointStats","from":"abcd1234","connectionQuality":87.5}'],
  ['LastNChangedEvent', '{"colibriClass":"LastNChangedEvent","lastN":5}'],
  ['ReceiverVideoConstraints (§7.2)', '{"colibriClass":"ReceiverVideoConstraints","lastN":-1,"onStageSources":["efgh5678-v1"],"selectedSources":[],"defaultConstraints":{"maxHeight":180},"constraints":{"efgh5678-v1":{"maxHeight":1080,"maxFrameRate":30},"efgh5678-v0":{"maxHeight":360}},"assumedBandwidthBps":-1}'],
  ['ReceiverVideoConstraints with only lastN', '{"colibriClass":"ReceiverVideoConstraints","lastN":0}'],
  ['ReceiverVideoConstraints with unlimited and fractional frame rates', '{"colibriClass":"ReceiverVideoConstraints","defaultConstraints":{"maxHeight":-1,"maxFrameRate":-1},"constraints":{"a-v0":{"maxHeight":0,"maxFrameRate":7.5}}}'],
  ['ReceiverAudioSubscription as lib-jitsi-meet sends it', '{"all":true,"colibriClass":"ReceiverAudioSubscription","exclude":["abcd1234-a0"],"include":["55555555-a0.hi"]}'],
  ['SourceVideoTypeMessage as lib-jitsi-meet sends it (§7.2), kept upper-case',
    '{"colibriClass":"SourceVideoTypeMessage","sourceName":"abcd1234-v1","videoType":"desktop"}',
    { colibriClass: 'SourceVideoTypeMessage', sourceName: 'abcd1234-v1', videoType: 'DESKTOP' }],
  ['SourceVideoTypeMessage between relays', '{"colibriClass":"SourceVideoTypeMessage","sourceName":"abcd1234-v0","videoType":"DESKTOP_HIGH_FPS","endpointId":"abcd1234"}'],
  ['VideoTypeMessage', '{"colibriClass":"VideoTypeMessage","videoType":"CAMERA"}'],
  ['DominantSpeakerEndpointChangeEvent (§7.3)', '{"colibriClass":"DominantSpeakerEndpointChangeEvent","dominantSpeakerEndpoint":"efgh5678","previousSpeakers":["abcd1234"],"silence":false}'],
  ['DominantSpeakerEndpointChangeEvent without previous speakers', '{"colibriClass":"DominantSpeakerEndpointChangeEvent","dominantSpeakerEndpoint":"efgh5678","silence":true}'],
  ['ForwardedSources (§7.3)', '{"colibriClass":"ForwardedSources","forwardedSources":["efgh5678-v0","ijkl9012-v0"]}'],
  ['SenderSourceConstraints (§7.3)', '{"colibriClass":"SenderSourceConstraints","sourceName":"abcd1234-v0","maxHeight":360}'],
  ['SenderVideoConstraints (legacy, as JVB writes it)', '{"colibriClass":"SenderVideoConstraints", "videoConstraints":{"idealHeight":180}}'],
  ['LastNEndpointsChangeEvent (legacy)', '{"colibriClass":"LastNEndpointsChangeEvent","lastNEndpoints":["efgh5678","ijkl9012"]}'],
  ['EndpointConnectivityStatusChangeEvent', '{"colibriClass":"EndpointConnectivityStatusChangeEvent","endpoint":"efgh5678","active":"false"}'],
  ['ConnectionStats', '{"colibriClass":"ConnectionStats","estimatedDownlinkBandwidth":2500000}'],
  ['VideoSourcesMap (§7.3)', '{"colibriClass":"VideoSourcesMap","mappedSources":[{"source":"efgh5678-v0","owner":"efgh5678","ssrc":7001,"rtx":7002,"videoType":"CAMERA"}]}'],
  ['VideoSourcesMap with mid, no RTX and no owner', '{"colibriClass":"VideoSourcesMap","mappedSources":[{"source":"efgh5678-v1","owner":null,"ssrc":4294967295,"rtx":-1,"videoType":"DISABLED","mid":"3"}]}'],
  ['AudioSourcesMap', '{"colibriClass":"AudioSourcesMap","mappedSources":[{"source":"efgh5678-a0","owner":"efgh5678","ssrc":8001},{"source":"ijkl9012-a0","owner":"ijkl9012","ssrc":8002,"mid":"0"}]}'],
];

const big = (bytes: number, char = 'x') => `{"colibriClass":"EndpointMessage","to":"","msgPayload":{"p":"${char.repeat(bytes)}"}}`;
const overhead = big(0).length;
const nested = (depth: number) => `{"colibriClass":"EndpointStats","d":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

/** [what, wire text, expected kind]. */
const invalid: Array<[string, string, BridgeChannelErrorKind]> = [
  ['truncated JSON', '{"colibriClass":', 'bad-json'],
  ['an empty frame', '', 'bad-json'],
  ['a JSON array', '[{"colibriClass":"ClientHello"}]', 'not-an-object'],
  ['a JSON string', '"ClientHello"', 'not-an-object'],
  ['JSON null', 'null', 'not-an-object'],
  ['an object without colibriClass', '{"lastN":5}', 'missing-class'],
  ['a colibriClass that is not a string', '{"colibriClass":5}', 'missing-class'],
  ['a relay-only class', '{"colibriClass":"AddReceiver","bridgeId":"jvb2","sourceName":"a-v0","videoConstraints":{"maxHeight":180}}', 'unknown-class'],
  ['the retired PinnedEndpointsChangedEvent', '{"colibriClass":"PinnedEndpointsChangedEvent","pinnedEndpoints":["a"]}', 'unknown-class'],
  ['last-N endpoints that are numbers', '{"colibriClass":"LastNEndpointsChangeEvent","lastNEndpoints":[1]}', 'invalid-fields'],
  ['a class named like an Object.prototype member', '{"colibriClass":"toString"}', 'unknown-class'],
  ['an EndpointMessage without to', '{"colibriClass":"EndpointMessage","msgPayload":{}}', 'invalid-fields'],
  ['an EndpointMessage without msgPayload', '{"colibriClass":"EndpointMessage","to":""}', 'invalid-fields'],
  ['an EndpointMessage whose msgPayload is a string', '{"colibriClass":"EndpointMessage","to":"","msgPayload":"hi"}', 'invalid-fields'],
  ['an EndpointMessage with a numeric from', '{"colibriClass":"EndpointMessage","to":"","from":7,"msgPayload":{}}', 'invalid-fields'],
  ['a __proto__ key deep in a payload', '{"colibriClass":"EndpointMessage","to":"","msgPayload":{"a":{"__proto__":{"polluted":true}}}}', 'invalid-fields'],
  ['EndpointStats with a numeric from', '{"colibriClass":"EndpointStats","from":1}', 'invalid-fields'],
  ['a lastN that is a string', '{"colibriClass":"ReceiverVideoConstraints","lastN":"5"}', 'invalid-fields'],
  ['a lastN below -1', '{"colibriClass":"LastNChangedEvent","lastN":-2}', 'invalid-fields'],
  ['a LastNChangedEvent without lastN', '{"colibriClass":"LastNChangedEvent"}', 'invalid-fields'],
  ['selectedSources that is not an array', '{"colibriClass":"ReceiverVideoConstraints","selectedSources":"a-v0"}', 'invalid-fields'],
  ['a maxHeight below -1', '{"colibriClass":"ReceiverVideoConstraints","defaultConstraints":{"maxHeight":-2}}', 'invalid-fields'],
  ['a fractional maxHeight', '{"colibriClass":"ReceiverVideoConstraints","constraints":{"a-v0":{"maxHeight":180.5}}}', 'invalid-fields'],
  ['a maxFrameRate between -1 and 0', '{"colibriClass":"ReceiverVideoConstraints","constraints":{"a-v0":{"maxHeight":180,"maxFrameRate":-0.5}}}', 'invalid-fields'],
  ['constraints without maxHeight', '{"colibriClass":"ReceiverVideoConstraints","constraints":{"a-v0":{"maxFrameRate":30}}}', 'invalid-fields'],
  ['an unknown legacy audio subscription mode', '{"colibriClass":"ReceiverAudioSubscription","mode":"Some","list":[]}', 'invalid-fields'],
  ['an unknown video type', '{"colibriClass":"SourceVideoTypeMessage","sourceName":"a-v0","videoType":"hologram"}', 'invalid-fields'],
  ['a dominant speaker change without silence', '{"colibriClass":"DominantSpeakerEndpointChangeEvent","dominantSpeakerEndpoint":"a"}', 'invalid-fields'],
  ['forwarded sources that are numbers', '{"colibriClass":"ForwardedSources","forwardedSources":[1,2]}', 'invalid-fields'],
  ['a fractional sender maxHeight', '{"colibriClass":"SenderSourceConstraints","sourceName":"a-v0","maxHeight":1.5}', 'invalid-fields'],
  ['a boolean active (JVB writes a string)', '{"colibriClass":"EndpointConnectivityStatusChangeEvent","endpoint":"a","active":true}', 'invalid-fields'],
  ['a negative bandwidth estimate', '{"colibriClass":"ConnectionStats","estimatedDownlinkBandwidth":-1}', 'invalid-fields'],
  ['an SSRC above 2^32-1', '{"colibriClass":"AudioSourcesMap","mappedSources":[{"source":"a-a0","owner":"a","ssrc":4294967296}]}', 'invalid-fields'],
  ['an rtx written as a string', '{"colibriClass":"VideoSourcesMap","mappedSources":[{"source":"a-v0","owner":"a","ssrc":1,"rtx":"-1","videoType":"CAMERA"}]}', 'invalid-fields'],
  ['a message one byte over 64 KiB', big(MAX_BRIDGE_CHANNEL_MESSAGE_BYTES + 1 - overhead), 'too-large'],
  ['a message under 64 KiB in characters but over it in UTF-8 bytes', big(Math.ceil((MAX_BRIDGE_CHANNEL_MESSAGE_BYTES + 1 - overhead) / 2), 'é'), 'too-large'],
  ['a message of emoji, over 64 KiB in UTF-8 bytes', big(Math.ceil((MAX_BRIDGE_CHANNEL_MESSAGE_BYTES + 1 - overhead) / 4), '\u{1F600}'), 'too-large'],
  ['a message nested 33 levels deep', nested(33), 'too-deep'],
];

function parseError(text: string): BridgeChannelMessageError {
  try {
    parseBridgeChannelMessage(text);
  } catch (err) {
    assert.ok(err instanceof BridgeChannelMessageError, `expected a BridgeChannelMessageError, got ${String(err)}`);
    return err;
  }
  assert.fail(`accepted ${text.slice(0, 120)}`);
}

describe('xmpp/protocol/bridge-channel (colibri-ws / data channel JSON)', () => {
  for (const [name, text, expected] of valid) {
    it(`parses ${name}, and its serialisation parses back to the same message`, () => {
      const msg = parseBridgeChannelMessage(text);
      assert.deepEqual(msg, expected ?? JSON.parse(text));
      assert.deepEqual(parseBridgeChannelMessage(serialiseBridgeChannelMessage(msg)), msg);
    });
  }

  it('has a valid example for every class it knows', () => {
    const covered = new Set(valid.map(([, text]) => (JSON.parse(text) as { colibriClass: string }).colibriClass));
    assert.deepEqual(BRIDGE_CHANNEL_CLASSES.filter((c) => !covered.has(c)), []);
  });

  for (const [name, text, kind] of invalid) {
    it(`refuses ${name} as ${kind}`, () => assert.equal(parseError(text).kind, kind));
  }

  it('accepts a message of exactly 64 KiB and one nested 32 levels deep', () => {
    assert.equal(parseBridgeChannelMessage(big(MAX_BRIDGE_CHANNEL_MESSAGE_BYTES - overhead)).colibriClass, 'EndpointMessage');
    assert.equal(parseBridgeChannelMessage(nested(32)).colibriClass, 'EndpointStats');
  });

  it('names the class of an unknown message, so the bridge can log it and carry on', () => {
    const err = parseError('{"colibriClass":"SyntheticSourceSendingChangeEvent","sourceName":"a-a0.hi","sending":true,"timestamp":0}');
    assert.equal(err.kind, 'unknown-class');
    assert.equal(err.colibriClass, 'SyntheticSourceSendingChangeEvent');
  });

  it('names each bad field of an invalid message', () => {
    const err = parseError('{"colibriClass":"ReceiverVideoConstraints","lastN":"x","constraints":{"a-v0":{"maxHeight":-3}}}');
    assert.equal(err.colibriClass, 'ReceiverVideoConstraints');
    assert.match(err.message, /lastN: /);
    assert.match(err.message, /constraints\.a-v0\.maxHeight: /);
  });

  it("reads ReceiverAudioSubscription's legacy mode/list form as JVB does", () => {
    const read = (mode: string) => parseBridgeChannelMessage(`{"colibriClass":"ReceiverAudioSubscription","mode":"${mode}","list":["x-a0"]}`);
    const sub = (all: boolean, include: string[], exclude: string[]) => ({ colibriClass: 'ReceiverAudioSubscription', all, include, exclude });
    assert.deepEqual(read('All'), sub(true, [], []));
    assert.deepEqual(read('None'), sub(false, [], []));
    assert.deepEqual(read('Include'), sub(false, ['x-a0'], []));
    assert.deepEqual(read('Exclude'), sub(true, [], ['x-a0']));
    assert.deepEqual(parseBridgeChannelMessage('{"colibriClass":"ReceiverAudioSubscription"}'), sub(false, [], []));
  });

  it('drops unknown fields of the classes JVB reads field by field', () => {
    assert.deepEqual(parseBridgeChannelMessage('{"colibriClass":"ForwardedSources","forwardedSources":[],"x":1}'), { colibriClass: 'ForwardedSources', forwardedSources: [] });
  });

  it('takes a fractional assumedBandwidthBps as JVB does (cut to an integer), not as a reason to refuse the constraints', () => {
    const message = parseBridgeChannelMessage('{"colibriClass":"ReceiverVideoConstraints","lastN":3,"onStageSources":["abcd1234-v0"],"defaultConstraints":{"maxHeight":180},"assumedBandwidthBps":1500000.5}');
    assert.equal(message.colibriClass, 'ReceiverVideoConstraints');
    assert.equal((message as { assumedBandwidthBps?: number }).assumedBandwidthBps, 1_500_000);
    assert.equal((message as { lastN?: number }).lastN, 3);
    assert.throws(() => parseBridgeChannelMessage('{"colibriClass":"ReceiverVideoConstraints","assumedBandwidthBps":-2}'));
  });

  it('writes colibriClass first', () => {
    const text = serialiseBridgeChannelMessage({ silence: false, dominantSpeakerEndpoint: 'a', colibriClass: 'DominantSpeakerEndpointChangeEvent' });
    assert.equal(text, '{"colibriClass":"DominantSpeakerEndpointChangeEvent","silence":false,"dominantSpeakerEndpoint":"a"}');
  });

  it('tells what a client may send from what only the bridge sends', () => {
    const constraints = parseBridgeChannelMessage('{"colibriClass":"ReceiverVideoConstraints","lastN":1}');
    const speaker = parseBridgeChannelMessage('{"colibriClass":"DominantSpeakerEndpointChangeEvent","dominantSpeakerEndpoint":"a","silence":false}');
    const message = parseBridgeChannelMessage('{"colibriClass":"EndpointMessage","to":"","msgPayload":{}}');
    assert.deepEqual([isClientToBridgeMessage(constraints), isBridgeToClientMessage(constraints)], [true, false]);
    assert.deepEqual([isClientToBridgeMessage(speaker), isBridgeToClientMessage(speaker)], [false, true]);
    assert.deepEqual([isClientToBridgeMessage(message), isBridgeToClientMessage(message)], [true, true]);
  });
});
