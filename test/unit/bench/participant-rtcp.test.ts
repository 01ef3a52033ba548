import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { parseTransportCc } from '../../../bridge/rtp/transport-cc.ts';
import { RtcpWalker, SDES_CNAME } from '../../../bridge/rtp/rtcp.ts';
import { RtpHeader, readTransportSequence } from '../../../bridge/rtp/packet.ts';
import {
  AudioStream, DEFAULT_EXTENSION_IDS, LAYERS, RTP_HEADER_BYTES, Vp8Layer, stampTransport, type ExtensionIds,
} from '../../../bench/bridge-load/media.ts';
import { FEEDBACK_INTERVAL_MS, ParticipantRtcp, ntpTime } from '../../../bench/bridge-load/rtcp.ts';

/** Every sub-packet of the compounds sent, as [kind, walker copy of fields]. */
function walk(compounds: Buffer[]): Array<{ kind: string; sender: number; fields: Record<string, unknown> }> {
  const out: Array<{ kind: string; sender: number; fields: Record<string, unknown> }> = [];
  const w = new RtcpWalker();
  for (const c of compounds) {
    w.reset(c);
    while (w.next() === 'ok') {
      const fields: Record<string, unknown> = {};
      if (w.kind === 'rr') {
        fields.ssrc = w.reportSsrc(0);
        fields.fractionLost = w.reportFractionLost(0);
        fields.cumulativeLost = w.reportCumulativeLost(0);
        fields.highest = w.reportHighestSequence(0);
        fields.lastSr = w.reportLastSr(0);
      } else if (w.kind === 'sr') {
        fields.packets = w.senderPacketCount;
        fields.octets = w.senderOctetCount;
        fields.rtpTimestamp = w.rtpTimestamp;
      } else if (w.kind === 'sdes') {
        fields.cname = w.sdesItem(w.sdesChunkOffset(0), SDES_CNAME);
      }
      out.push({ kind: w.kind, sender: w.senderSsrc, fields });
    }
  }
  return out;
}

describe('bench/bridge-load: the synthetic participants\' extensions and RTCP', () => {
  const ids: ExtensionIds = { ...DEFAULT_EXTENSION_IDS };

  it('audio and video packets carry the transport-wide sequence number written at send time, sizes unchanged', () => {
    const header = new RtpHeader();
    const audio = new AudioStream(0x1234, 0, 30).packet();
    const video = new Vp8Layer(0x5678, 2, LAYERS[2]!, 0).frame(true);
    stampTransport(audio, ids, 0xfffe, 1000);
    stampTransport(video[0]!, ids, 0xffff, 1000.5);
    assert.equal(audio.length, 120);
    assert.equal(video[0]!.length, LAYERS[2]!.bytes);
    assert.equal(header.parse(audio), 'ok');
    assert.equal(header.payloadOffset, RTP_HEADER_BYTES);
    assert.equal(readTransportSequence(header, ids.transportCc!), 0xfffe);
    assert.equal(header.buf[header.findExtension(ids.audioLevel!)], 30, 'the audio level is still read');
    assert.equal(header.parse(video[0]!), 'ok');
    assert.equal(readTransportSequence(header, ids.transportCc!), 0xffff);
    const abs = header.findExtension(ids.absSendTime!);
    assert.equal(header.foundLength, 3);
    assert.equal(Buffer.from(header.buf).readUIntBE(abs, 3), Math.floor(1000.5 * 262.144) & 0xffffff);
    assert.equal(header.buf[header.payloadOffset]! & 0x80, 0x80, 'the VP8 payload descriptor (X set) follows the extensions');
    stampTransport(audio, { audioLevel: 1, absSendTime: undefined, transportCc: undefined }, 7, 0);
    assert.equal(header.parse(audio), 'ok');
    assert.equal(header.findExtension(5), 19, 'an element written before stays; leaving it out only skips the write');
  });

  it('without feedback, packets are laid out as before it: video without an extension block, audio with its level alone', () => {
    const header = new RtpHeader();
    const video = new Vp8Layer(0x5678, 1, LAYERS[1]!, 0, false).frame(true);
    assert.equal(header.parse(video[0]!), 'ok');
    assert.equal(header.extension, false);
    assert.equal(header.payloadOffset, 12);
    assert.equal(video[0]!.length, LAYERS[1]!.bytes);
    const audio = new AudioStream(0x1234, 0, 30, 1, false).packet();
    assert.equal(header.parse(audio), 'ok');
    assert.equal(header.payloadOffset, 20);
    assert.equal(header.buf[header.findExtension(1)], 30);
    assert.equal(readTransportSequence(header, 5), -1);
  });

  it('sends transport-cc feedback every 100 ms, receiver reports with the loss, and sender reports of what it sent', () => {
    const sent: Buffer[] = [];
    const rtcp = new ParticipantRtcp({ localSsrc: 99, cname: 'p1', extensionIds: ids, phase: 0, send: (c) => sent.push(c) });
    const layer = new Vp8Layer(0x5678, 0, LAYERS[0]!, 0);
    // The streams note when they built a packet on performance.now(): the schedule runs on the same clock.
    const t0 = performance.now();
    rtcp.sending(layer.rtp, true, t0);
    // A received video stream: 10 packets, numbers 3 and 4 missing (transport-wide and RTP alike).
    const remote = new Vp8Layer(0xabc, 0, LAYERS[0]!, 1);
    for (let i = 0; i < 10; i++) {
      const [packet] = remote.frame(i === 0);
      stampTransport(packet!, ids, 100 + i, i);
      if (i !== 3 && i !== 4) rtcp.rtpReceived(packet!, t0 + i * 2);
    }
    rtcp.tick(t0 + 50, 1_700_000_000_000);
    const feedback = sent.map((c) => parseTransportCc(c)).filter((f) => f !== undefined);
    assert.equal(feedback.length, 1);
    assert.equal(feedback[0]!.baseSequence, 100);
    assert.equal(feedback[0]!.deltas.length, 10);
    assert.deepEqual(feedback[0]!.deltas.map((d) => d !== undefined), [true, true, true, false, false, true, true, true, true, true]);
    assert.equal(feedback[0]!.senderSsrc, 99);
    assert.equal(feedback[0]!.mediaSsrc, 0xabc, 'about the last SSRC received, as libwebrtc');
    const first = walk(sent.filter((c) => parseTransportCc(c) === undefined));
    assert.deepEqual(first.map((p) => p.kind), ['rr', 'sdes'], 'the received stream reported at once (phase 0); nothing sent yet, no SR');
    assert.deepEqual(first[0]!.fields, { ssrc: 0xabc, fractionLost: Math.floor((2 * 256) / 10), cumulativeLost: 2, highest: first[0]!.fields.highest, lastSr: 0 });
    assert.equal(first[1]!.fields.cname, 'p1');
    sent.length = 0;
    // Nothing new: no feedback at the next interval; the video report waits its second.
    rtcp.tick(t0 + 50 + FEEDBACK_INTERVAL_MS, 1_700_000_000_100);
    assert.equal(sent.length, 0);
    const packets = layer.frame(true);
    rtcp.tick(t0 + 1051, 1_700_000_001_051);
    const second = walk(sent);
    const sr = second.find((p) => p.kind === 'sr');
    assert.equal(sr?.sender, 0x5678);
    assert.equal(sr?.fields.packets, 1);
    assert.equal(sr?.fields.octets, packets[0]!.length - RTP_HEADER_BYTES);
    assert.deepEqual(second.filter((p) => p.kind === 'rr').map((p) => p.fields.cumulativeLost), [2], 'the video stream reported again a second later');
    assert.deepEqual(rtcp.counters, { feedback: 1, senderReports: 1, receiverReports: 2, senderReportsIn: 0 });
  });

  it('takes LSR from the SRs it receives', () => {
    const sent: Buffer[] = [];
    const rtcp = new ParticipantRtcp({ localSsrc: 99, cname: 'p1', extensionIds: ids, phase: 0, send: (c) => sent.push(c) });
    const remote = new Vp8Layer(0xabc, 0, LAYERS[0]!, 1);
    const t0 = performance.now();
    rtcp.rtpReceived(remote.frame(true)[0]!, t0);
    const sender = new ParticipantRtcp({ localSsrc: 1, cname: 'x', extensionIds: ids, phase: 0, send: (c) => rtcp.rtcpReceived(c, t0 + 500) });
    sender.sending(remote.rtp, true, t0);
    sender.tick(t0 + 1, 1_700_000_000_250);
    rtcp.tick(t0 + 1000, 1_700_000_001_000);
    const rr = walk(sent).find((p) => p.kind === 'rr' && p.fields.lastSr !== 0);
    const ntp = ntpTime(1_700_000_000_250);
    assert.equal(rr?.fields.lastSr, (((ntp.seconds & 0xffff) << 16) | (ntp.fraction >>> 16)) >>> 0);
    assert.equal(rtcp.counters.senderReportsIn, 1);
  });
});
