// Micro-benchmark of the per-packet bridge/rtp stages: ns per packet for parsing, re-stamping and
// replay checking. Not a test: `node --import tsx bench/bridge-rtp.ts [--packets N]`.
//
// Each forwarding iteration first writes a fresh input (SSRC, sequence number, timestamp,
// PictureID) into one reused packet, as a receive path would hand over a new datagram; the
// "input refresh only" row is that cost alone, included in the rows below it.

import { parseArgs } from 'node:util';
import { writeU16, writeU32 } from '../bridge/rtp/bytes.ts';
import { RtpHeader, readTransportSequence } from '../bridge/rtp/packet.ts';
import { ReplayWindow, estimateSrtpIndex } from '../bridge/rtp/replay.ts';
import { RtcpWalker } from '../bridge/rtp/rtcp.ts';
import { SeqMap, createSeqMapPacket, readSeqMapPacket } from '../bridge/rtp/seqmap.ts';
import { Vp8Descriptor } from '../bridge/rtp/vp8.ts';
import { rrNack, srSdes, vp8DeltaTwoByteExt } from '../test/unit/bridge/rtp/fixtures.ts';

const { values } = parseArgs({ options: { packets: { type: 'string', default: '2000000' } } });
const N = Number(values.packets);
const LAYER_SSRC = 0x11223344;

/** Runs `body(i)` for N iterations after a warm-up and returns ns per iteration (best of 3). */
function measure(body: (i: number) => number): number {
  let sink = 0;
  for (let i = 0; i < Math.min(N, 200_000); i++) sink += body(i);
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sink += body(i);
    const ns = Number(process.hrtime.bigint() - start) / N;
    best = Math.min(best, ns);
  }
  if (sink === 0.5) console.log('unreachable'); // keeps the work observable
  return best;
}

const packet = vp8DeltaTwoByteExt();
const rtp = new RtpHeader();
const vp8 = new Vp8Descriptor();
const input = createSeqMapPacket();

function refreshInput(i: number): void {
  writeU16(packet, 2, i);
  writeU32(packet, 4, i * 3000);
  writeU32(packet, 8, LAYER_SSRC);
  packet[26] = 0x80 | ((i >>> 8) & 0x7f); // 15-bit PictureID at payload offset 24 + 2
  packet[27] = i & 0xff;
}

function parse(): boolean {
  return rtp.parse(packet) === 'ok' && vp8.parse(packet, rtp.payloadOffset, rtp.payloadLength);
}

const rows: Array<[string, number]> = [];

rows.push(['input refresh only', measure((i) => (refreshInput(i), packet[3]!))]);

rows.push([
  'parse RTP + VP8 descriptor',
  measure((i) => {
    refreshInput(i);
    return parse() ? vp8.pictureId : 0;
  }),
]);

rows.push([
  'parse + read transport-cc extension',
  measure((i) => {
    refreshInput(i);
    parse();
    return readTransportSequence(rtp, 5);
  }),
]);

{
  const map = new SeqMap({ ssrc: 0x0a0b0c0d });
  input.ssrc = LAYER_SSRC;
  input.sequenceNumber = 0xffff;
  input.keyframe = true;
  map.switchTo(input);
  rows.push([
    'parse + seqmap map + rewrite in place',
    measure((i) => {
      refreshInput(i);
      parse();
      readSeqMapPacket(input, rtp, vp8, i);
      if (map.map(input) !== 'unknown') map.applyTo(rtp, vp8);
      return rtp.sequenceNumber;
    }),
  ]);
}

{
  // Every second picture is dropped (as TL2 of L1T3 would be): each drop opens a new range.
  const map = new SeqMap({ ssrc: 0x0a0b0c0d });
  input.ssrc = LAYER_SSRC;
  input.sequenceNumber = 0xffff;
  input.keyframe = true;
  map.switchTo(input);
  rows.push([
    'parse + seqmap with half the pictures dropped',
    measure((i) => {
      refreshInput(i);
      parse();
      readSeqMapPacket(input, rtp, vp8, i);
      if ((i & 1) === 1) return map.drop(input) ? 1 : 0;
      if (map.map(input) !== 'unknown') map.applyTo(rtp, vp8);
      return rtp.sequenceNumber;
    }),
  ]);
}

{
  const map = new SeqMap({ ssrc: 0x0a0b0c0d });
  input.ssrc = LAYER_SSRC;
  input.sequenceNumber = 0;
  input.keyframe = true;
  map.switchTo(input);
  input.keyframe = false;
  for (let s = 0; s < 1024; s++) {
    input.sequenceNumber = s;
    if (s % 3 === 2) map.drop(input);
    else map.map(input);
  }
  rows.push(['seqmap reverse (NACK), full ring of 128 ranges', measure((i) => (map.reverse(682 - (i % 600)) ? map.reverseSequence : 0))]);
}

{
  const window = new ReplayWindow();
  rows.push([
    'replay: estimate index + check + update',
    measure((i) => {
      const index = estimateSrtpIndex(window.highest, i & 0xffff);
      if (window.check(index) === 'ok') window.update(index);
      return index;
    }),
  ]);
}

{
  const walker = new RtcpWalker();
  const compounds = [srSdes(), rrNack()];
  rows.push([
    'RTCP walk (SR+SDES or RR+NACK), SSRCs read',
    measure((i) => {
      walker.reset(compounds[i & 1]!);
      let sum = 0;
      while (walker.next() === 'ok') sum += walker.senderSsrc;
      return sum;
    }),
  ]);
}

console.log(`bridge/rtp micro-benchmark, Node ${process.version}, ${N} packets per round, best of 3 rounds`);
const width = Math.max(...rows.map(([name]) => name.length));
for (const [name, ns] of rows) console.log(`${name.padEnd(width)}  ${ns.toFixed(1).padStart(7)} ns/packet`);
