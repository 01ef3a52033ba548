/**
 * The browser client's pure media modules: Jingle sources → remote offer SDP, Chrome's answer → our
 * sources, candidate lines, and the connection-quality score.
 */
import assert from 'node:assert/strict';
import { parse } from 'ltx';
import { parseJingle } from '../../../xmpp/protocol/jingle.ts';
import { buildRemoteOffer, parseLocalAnswer, sdpToken, type RemoteOffer } from '../../../web/client/media/session-description.ts';
import { localDescription, receivedPart, remoteSourcesOf } from '../../../web/client/media/jingle-sources.ts';
import { parseCandidate } from '../../../web/client/media/jingle-peer.ts';
import { qualityFromScore, scoreOf } from '../../../web/client/conference/quality-monitor.ts';

const SOURCE_ADD = `<jingle xmlns="urn:xmpp:jingle:1" action="source-add" sid="s1">
  <content name="audio"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio">
    <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="11" name="abcd-a0"><parameter name="msid" value="abcd-audio-0 t1"/><ssrc-info xmlns="http://jitsi.org/jitmeet" owner="abcd"/></source>
    <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="99"><parameter name="msid" value="jvb a"/><ssrc-info xmlns="http://jitsi.org/jitmeet" owner="jvb"/></source>
  </description></content>
  <content name="video"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="video">
    <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="22" name="abcd-v0"><parameter name="msid" value="abcd-video-0 t2"/><ssrc-info xmlns="http://jitsi.org/jitmeet" owner="abcd"/></source>
    <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="23" name="abcd-v0"><parameter name="msid" value="abcd-video-0 t2"/><ssrc-info xmlns="http://jitsi.org/jitmeet" owner="abcd"/></source>
    <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="31"><parameter name="msid" value="old-video t3"/><ssrc-info xmlns="http://jitsi.org/jitmeet" owner="old"/></source>
    <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="32"><parameter name="msid" value="old-video t3"/><ssrc-info xmlns="http://jitsi.org/jitmeet" owner="old"/></source>
    <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="41" name="efgh-v1" videoType="desktop"><parameter name="msid" value="efgh-video-1 t4"/><ssrc-info xmlns="http://jitsi.org/jitmeet" owner="efgh"/></source>
    <ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="FID"><source ssrc="23"/><source ssrc="22"/></ssrc-group>
    <ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="FID"><source ssrc="31"/><source ssrc="32"/></ssrc-group>
  </description></content>
</jingle>`;

describe('web client: Jingle sources', () => {
  const sources = remoteSourcesOf(parseJingle(parse(SOURCE_ADD)).contents);

  it('groups SSRCs by source name, primary (first of the FID group) first, with owner and video type', () => {
    const v0 = sources.find((s) => s.name === 'abcd-v0');
    assert.deepEqual(v0?.ssrcs, [23, 22]);
    assert.equal(v0?.owner, 'abcd');
    assert.equal(v0?.videoType, 'camera');
    assert.equal(sources.find((s) => s.name === 'efgh-v1')?.videoType, 'desktop');
    assert.equal(sources.find((s) => s.ssrcs.includes(99))?.owner, 'jvb');
  });

  it('names unnamed sources of older clients by owner and kind, one per msid', () => {
    const old = sources.filter((s) => s.owner === 'old');
    assert.equal(old.length, 1);
    assert.equal(old[0]?.name, 'old-v0');
    assert.deepEqual(old[0]?.ssrcs, [31, 32]);
  });

  it('receives only the primary SSRC and its retransmission SSRC', () => {
    const part = receivedPart({ name: 'x-v0', owner: 'x', media: 'video', ssrcs: [1, 2, 3, 11, 12, 13], msid: undefined, videoType: 'camera',
      groups: [{ semantics: 'SIM', ssrcs: [1, 2, 3] }, { semantics: 'FID', ssrcs: [1, 11] }, { semantics: 'FID', ssrcs: [2, 12] }] });
    assert.deepEqual(part, { ssrcs: [1, 11], groups: [{ semantics: 'FID', ssrcs: [1, 11] }] });
  });

  it('describes our own sources with names, msid, video type and groups', () => {
    const d = localDescription('video', [{
      name: 'me-v1', media: 'video', videoType: 'desktop',
      section: { mid: 'screen', direction: 'sendonly', msid: undefined, ssrcs: [{ ssrc: 5, msid: 's t' }, { ssrc: 6, msid: 's t' }], groups: [{ semantics: 'FID', ssrcs: [5, 6] }] },
    }]);
    assert.deepEqual(d.sources.map((s) => [s.ssrc, s.name, s.videoType, s.parameters[0]?.value]), [[5, 'me-v1', 'desktop', 's t'], [6, 'me-v1', 'desktop', 's t']]);
    assert.deepEqual(d.ssrcGroups, [{ semantics: 'FID', ssrcs: [5, 6] }]);
  });
});

describe('web client: session descriptions', () => {
  const offer: RemoteOffer = {
    sessionId: '1', version: 3,
    transport: {
      ufrag: 'uf', pwd: 'pw', fingerprints: [{ hash: 'sha-256', value: 'AA:BB', setup: 'actpass' }],
      candidates: [{ component: 1, foundation: '1', generation: 0, id: 'c', ip: '127.0.0.1', port: 10000, priority: 2130706431, protocol: 'udp', type: 'host' }],
    },
    codecs: {
      audio: { payloadTypes: [{ id: 111, name: 'opus', clockrate: 48000, channels: 2, parameters: [{ name: 'minptime', value: '10' }, { name: 'useinbandfec', value: '1' }], feedback: [{ type: 'transport-cc' }] }], feedback: [], headerExtensions: [{ id: 1, uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' }, { id: 10, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' }] },
      video: { payloadTypes: [{ id: 100, name: 'VP8', clockrate: 90000, parameters: [], feedback: [{ type: 'nack' }, { type: 'nack', subtype: 'pli' }] }, { id: 96, name: 'rtx', clockrate: 90000, parameters: [{ name: 'apt', value: '100' }], feedback: [] }], feedback: [], headerExtensions: [] },
    },
    slots: [
      { mid: 'audio', media: 'audio', role: 'local-audio', feedbackSsrc: 99 },
      { mid: 'video', media: 'video', role: 'local-video' },
      { mid: 'screen', media: 'video', role: 'local-screen' },
      { mid: 'r0', media: 'video', role: 'remote', source: { name: 'abcd-v0', owner: 'abcd', media: 'video', ssrcs: [23, 22], groups: [{ semantics: 'FID', ssrcs: [23, 22] }], msid: undefined, videoType: 'camera' } },
      { mid: 'r1', media: 'audio', role: 'remote' },
    ],
  };
  const sdp = buildRemoteOffer(offer);
  const lines = sdp.split('\r\n');

  it('bundles every m-section, one per slot, with the bridge transport in each', () => {
    assert.ok(lines.includes('a=group:BUNDLE audio video screen r0 r1'));
    assert.equal(lines.filter((l) => l.startsWith('m=')).length, 5);
    assert.equal(lines.filter((l) => l === 'a=ice-ufrag:uf').length, 5);
    assert.equal(lines.filter((l) => l === 'a=candidate:1 1 udp 2130706431 127.0.0.1 10000 typ host generation 0').length, 5);
    assert.ok(sdp.endsWith('\r\n'));
  });

  it('gives each slot its direction: ours sendrecv, the screen recvonly, a remote source sendonly, a free one inactive', () => {
    assert.deepEqual(lines.filter((l) => /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l)), ['a=sendrecv', 'a=sendrecv', 'a=recvonly', 'a=sendonly', 'a=inactive']);
  });

  it('writes codecs with fmtp and feedback, and leaves MID out so Chrome demultiplexes by SSRC', () => {
    assert.ok(lines.includes('a=rtpmap:111 opus/48000/2'));
    assert.ok(lines.includes('a=fmtp:111 minptime=10;useinbandfec=1'));
    assert.ok(lines.includes('a=rtcp-fb:100 nack pli'));
    assert.ok(lines.includes('a=fmtp:96 apt=100'));
    assert.ok(lines.includes('a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level'));
    assert.ok(!sdp.includes('sdes:mid'));
  });

  it('allows two-byte header extensions where the offer says extmap-allow-mixed (a Dependency Descriptor needs them), only there', () => {
    assert.ok(!lines.includes('a=extmap-allow-mixed'));
    const mixed = buildRemoteOffer({ ...offer, codecs: { ...offer.codecs, video: { ...offer.codecs.video, extmapAllowMixed: true } } }).split('\r\n');
    const sections = mixed.join('\n').split('\nm=').slice(1);
    for (const section of sections) {
      assert.equal(section.split('\n').includes('a=extmap-allow-mixed'), section.startsWith('video'), section.split('\n')[0]);
    }
  });

  it('declares a remote source with its msid and FID group, and the bridge feedback SSRC in our audio section', () => {
    assert.ok(lines.includes('a=msid:abcd abcd-v0'));
    assert.ok(lines.includes('a=ssrc-group:FID 23 22'));
    assert.ok(lines.includes('a=ssrc:22 msid:abcd abcd-v0'));
    assert.ok(lines.includes('a=ssrc:99 cname:jvb'));
  });

  it('reads our answer: ICE credentials, fingerprint with the DTLS role, and each section\'s SSRCs and msid', () => {
    const answer = parseLocalAnswer([
      'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=ice-ufrag:me', 'a=ice-pwd:secret', 'a=fingerprint:sha-256 CC:DD', 'a=setup:active', 'a=mid:audio', 'a=sendrecv',
      'a=msid:- track-a', 'a=ssrc:7 cname:x',
      'm=video 9 UDP/TLS/RTP/SAVPF 100 96', 'a=mid:video', 'a=sendrecv', 'a=ssrc-group:FID 8 9', 'a=ssrc:8 cname:x', 'a=ssrc:8 msid:st tv', 'a=ssrc:9 cname:x',
      'm=video 9 UDP/TLS/RTP/SAVPF 100 96', 'a=mid:screen', 'a=inactive', '',
    ].join('\r\n'));
    assert.equal(answer.ufrag, 'me');
    assert.equal(answer.pwd, 'secret');
    assert.deepEqual(answer.fingerprint, { hash: 'sha-256', value: 'CC:DD', setup: 'active' });
    assert.equal(answer.sections.get('audio')?.msid, '- track-a');
    assert.deepEqual(answer.sections.get('video')?.ssrcs, [{ ssrc: 8, msid: 'st tv' }, { ssrc: 9, msid: undefined }]);
    assert.deepEqual(answer.sections.get('video')?.groups, [{ semantics: 'FID', ssrcs: [8, 9] }]);
    assert.equal(answer.sections.get('screen')?.direction, 'inactive');
  });

  it('writes participants\' names as SDP tokens: a nickname with spaces or a line break cannot add lines', () => {
    assert.equal(sdpToken('ab12'), 'ab12');
    assert.equal(sdpToken('a b\r\na=x'), 'a_20b_d_aa_3dx');
    const hostile = buildRemoteOffer({ ...offer, slots: [{ mid: 'r0', media: 'video', role: 'remote', source: { name: 'x y-v0', owner: 'x y\r\nm=audio', media: 'video', ssrcs: [5], groups: [], msid: undefined, videoType: 'camera' } }] });
    assert.ok(hostile.split('\r\n').includes('a=msid:x_20y_d_am_3daudio x_20y-v0'));
    assert.equal(hostile.split('\r\n').filter((l) => l.startsWith('m=')).length, 1);
  });

  it('refuses an answer without a fingerprint', () => {
    assert.throws(() => parseLocalAnswer('v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n'), /fingerprint/);
  });
});

describe('web client: candidates and connection quality', () => {
  it('reads an RTCIceCandidate line, with the related address of a reflexive candidate', () => {
    assert.deepEqual(
      { ...parseCandidate('candidate:842163049 1 udp 1677729535 203.0.113.5 46154 typ srflx raddr 10.0.0.2 rport 46154 generation 0 ufrag x network-cost 999'), id: 'x' },
      { foundation: '842163049', component: 1, protocol: 'udp', priority: 1677729535, ip: '203.0.113.5', port: 46154, type: 'srflx', generation: 0, id: 'x', relAddr: '10.0.0.2', relPort: 46154 },
    );
    assert.equal(parseCandidate('candidate:1 1 sctp 1 1.2.3.4 5 typ host'), undefined);
    assert.equal(parseCandidate('garbage'), undefined);
  });

  it('scores loss and round-trip time, and maps scores to good, fair and poor', () => {
    assert.equal(scoreOf(0, 20), 100);
    assert.equal(qualityFromScore(scoreOf(0, 20)), 'good');
    assert.equal(qualityFromScore(scoreOf(10, 100)), 'fair');
    assert.equal(qualityFromScore(scoreOf(30, 900)), 'poor');
    assert.equal(qualityFromScore(Number.NaN), 'unknown');
  });
});
