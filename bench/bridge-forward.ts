// Micro-benchmark of one conference's video forwarding: ns per received packet to project a
// simulcast VP8 source and hand the copies to R receivers (BridgeConference.forwardRtp with the
// receive statistics in front of it; endpoints that drop what they are given, so SRTP is not
// counted: bench/bridge-srtp.ts measures that). Not a test:
// `node --import tsx bench/bridge-forward.ts [--packets N] [--receivers 1,4,16] [--replan 50,100,200]`.
//
// Each row: the sender sends its three layers in turn (180p, 360p, 720p, one packet each per
// round, a keyframe every 300 packets of a layer); receivers ask for alternating heights (720 and
// 180) so that, where the bridge projects per receiver, two layers go out.
//
// `--replan`: what one receiver's bridge-channel message costs the conference (the forwarding plan
// made again), in rooms of N endpoints each sending a microphone and a three-layer camera, each in
// a tile view of 25 at 180p: ms per LastNChangedEvent and per ReceiverVideoConstraints of one
// receiver (and per LastNChangedEvent turning all its tiles off and on), and per change of a
// sender's video type (which replans everyone).

import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { BridgeConference, type ConferenceEndpoint, type EndpointSources } from '../bridge/conference.ts';
import type { NamedSource } from '../bridge/forwarding.ts';
import type { Clock } from '../bridge/transport/clock.ts';

const { values } = parseArgs({ options: { packets: { type: 'string', default: '300000' }, receivers: { type: 'string', default: '1,4,16' }, replan: { type: 'string' } } });
const N = Number(values.packets);
const LAYERS = [0x1000, 0x2000, 0x3000];
const HEIGHTS = [180, 360, 720];

class NullEndpoint implements ConferenceEndpoint {
  sent = 0;
  bytes = 0;
  private readonly rtp = new Set<(p: Buffer) => void>();
  readonly events = {
    on: (name: 'rtp' | 'rtcp', fn: (p: Buffer) => void) => {
      if (name === 'rtp') this.rtp.add(fn);
      return () => this.rtp.delete(fn);
    },
  };
  constructor(readonly id: string) {}
  sendRtp(p: Buffer): void {
    this.sent++;
    this.bytes += p.length;
  }
  sendRtcp(): void {}
  close(): void {}
  emit(p: Buffer): void {
    for (const fn of this.rtp) fn(p);
  }
}

/** A manual clock: no timer ever fires, time moves with the packets. */
let time = 0;
const clock: Clock = { now: () => time, setTimeout: () => () => undefined };

function packet(layer: number, seq: number, key: boolean): Buffer {
  const b = Buffer.alloc(1100, 0xab);
  b[0] = 0x80;
  b[1] = 100;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 3000) >>> 0, 4);
  b.writeUInt32BE(LAYERS[layer]!, 8);
  b[12] = 0x90;
  b[13] = 0x80;
  b.writeUInt16BE(0x8000 | (seq & 0x7fff), 14);
  if (key) {
    b.set([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a], 16);
    b.writeUInt16LE(Math.round((HEIGHTS[layer]! * 16) / 9), 22);
    b.writeUInt16LE(HEIGHTS[layer]!, 24);
  } else {
    b[16] = 0x11;
  }
  return b;
}

function run(receivers: number): { ns: number; copies: number } {
  const conference = new BridgeConference('bench', undefined, pino({ level: 'silent' }), () => undefined, () => undefined, {
    feedbackSsrcs: { audio: 1, video: 2 },
    clock,
  });
  conference.useBridgeChannel({ send: () => undefined, now: () => clock.now() });
  const sender = new NullEndpoint('sender');
  conference.addEndpoint(sender);
  const source: NamedSource = {
    name: 'sender-v0', media: 'video', desktop: false, primarySsrc: LAYERS[0],
    layers: { layers: LAYERS, rtx: new Map() },
  };
  const sources: EndpointSources = { forwarded: new Set(LAYERS), all: new Set(LAYERS), sourceOf: new Map(LAYERS.map((l) => [l, source])), named: [source] };
  conference.setSources('sender', sources);
  const sinks: NullEndpoint[] = [];
  for (let r = 0; r < receivers; r++) {
    const e = new NullEndpoint(`r${r}`);
    sinks.push(e);
    conference.addEndpoint(e);
    conference.onChannelMessage(e.id, { colibriClass: 'ReceiverVideoConstraints', lastN: -1, defaultConstraints: { maxHeight: r % 2 === 0 ? 720 : 180 } });
  }
  // Pre-built packets (one per layer and sequence number mod a period), copied fresh per send as a socket would.
  const period = 300;
  const templates = LAYERS.map((_, layer) => Array.from({ length: period }, (_, i) => packet(layer, i, i === 0)));
  const scratch = Buffer.alloc(1100);
  const seqBase = [100, 20000, 40000];
  let i = 0;
  const step = (): void => {
    const layer = i % 3;
    const n = Math.floor(i / 3);
    const t = templates[layer]![n % period]!;
    t.copy(scratch);
    scratch.writeUInt16BE((seqBase[layer]! + n) & 0xffff, 2);
    scratch.writeUInt32BE(((seqBase[layer]! + n) * 3000) >>> 0, 4);
    scratch.writeUInt16BE(0x8000 | (n & 0x7fff), 14);
    if (layer === 2) time += 11;
    sender.emit(scratch);
    i++;
  };
  for (let w = 0; w < Math.min(N, 60_000); w++) step();
  let best = Number.POSITIVE_INFINITY;
  let copies = 0;
  for (let round = 0; round < 3; round++) {
    const before = sinks.reduce((s, e) => s + e.sent, 0);
    const start = process.hrtime.bigint();
    for (let k = 0; k < N; k++) step();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / N);
    copies = (sinks.reduce((s, e) => s + e.sent, 0) - before) / N;
  }
  conference.close('bench over');
  return { ns: best, copies };
}

/** ms per message of each kind in a room of `size` (see the file comment); best of 3 rounds of `messages` each. */
function replan(size: number, messages: number): { joins: number; lastN: number; videoOff: number; constraints: number; videoType: number } {
  const conference = new BridgeConference('bench', undefined, pino({ level: 'silent' }), () => undefined, () => undefined, {
    feedbackSsrcs: { audio: 1, video: 2 },
    clock,
  });
  conference.useBridgeChannel({ send: () => undefined, now: () => clock.now() });
  const ids: string[] = [];
  const joinStart = process.hrtime.bigint();
  // A tile view of the first 25 at 180p, as each endpoint asks as soon as its bridge channel opens.
  const tile = Object.fromEntries(Array.from({ length: Math.min(25, size) }, (_, i) => [`ep${i}-v0`, { maxHeight: 180 }]));
  for (let i = 0; i < size; i++) {
    const id = `ep${i}`;
    ids.push(id);
    conference.addEndpoint(new NullEndpoint(id));
    const base = 10_000 + 10 * i;
    const layers = [base + 1, base + 2, base + 3];
    const camera: NamedSource = { name: `${id}-v0`, media: 'video', desktop: false, primarySsrc: layers[0], layers: { layers, rtx: new Map() } };
    const microphone: NamedSource = { name: `${id}-a0`, media: 'audio', desktop: false, primarySsrc: base };
    const ssrcs = [base, ...layers];
    conference.setSources(id, {
      forwarded: new Set(ssrcs), all: new Set(ssrcs), named: [microphone, camera],
      sourceOf: new Map([[base, microphone], ...layers.map((l) => [l, camera] as const)]),
    });
    conference.onChannelMessage(id, { colibriClass: 'ReceiverVideoConstraints', lastN: 25, constraints: tile, defaultConstraints: { maxHeight: 0 } });
  }
  // Every endpoint joining (with its sources) and sending its constraints, one after another.
  const joins = Number(process.hrtime.bigint() - joinStart) / 1e6;
  const last = ids.at(-1)!;
  const timed = (send: (k: number) => void): number => {
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 3; round++) {
      const start = process.hrtime.bigint();
      for (let k = 0; k < messages; k++) send(k);
      best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6 / messages);
    }
    return best;
  };
  const result = {
    joins,
    lastN: timed((k) => conference.onChannelMessage(last, { colibriClass: 'LastNChangedEvent', lastN: k % 2 === 0 ? 24 : 25 })),
    // Every tile off and on again (lastN 0, 25): the 25 sources' sender heights each asked again.
    videoOff: timed((k) => conference.onChannelMessage(last, { colibriClass: 'LastNChangedEvent', lastN: k % 2 === 0 ? 0 : 25 })),
    constraints: timed((k) => conference.onChannelMessage(last, { colibriClass: 'ReceiverVideoConstraints', onStageSources: [`${ids[k % 25]}-v0`] })),
    // Each a change (camera, screen, camera, …), the clock moved past the 500 ms between two replans.
    videoType: timed((k) => {
      time += 1_000;
      conference.onChannelMessage(ids[0]!, { colibriClass: 'SourceVideoTypeMessage', sourceName: `${ids[0]}-v0`, videoType: k % 2 === 0 ? 'DESKTOP' : 'CAMERA' });
    }),
  };
  conference.close('bench over');
  return result;
}

if (values.replan) {
  console.log(`bridge conference replanning micro-benchmark, Node ${process.version}, ms per message, best of 3 rounds`);
  for (const size of values.replan.split(',').map(Number)) {
    const { joins, lastN, videoOff, constraints, videoType } = replan(size, size >= 200 ? 50 : 200);
    console.log(`${String(size).padStart(4)} endpoints (all joined and constrained in ${joins.toFixed(0)} ms): LastNChangedEvent ${lastN.toFixed(3)} ms (all tiles off/on ${videoOff.toFixed(3)} ms), ReceiverVideoConstraints ${constraints.toFixed(3)} ms, a sender's video type ${videoType.toFixed(3)} ms`);
  }
  process.exit(0);
}

console.log(`bridge conference forwarding micro-benchmark, Node ${process.version}, ${N} packets per round, best of 3 rounds`);
for (const r of values.receivers.split(',').map(Number)) {
  const { ns, copies } = run(r);
  console.log(`${String(r).padStart(3)} receivers: ${ns.toFixed(0).padStart(6)} ns per received packet, ${copies.toFixed(2)} copies sent per received packet, ${(ns / Math.max(copies, 1e-9)).toFixed(0)} ns per copy`);
}
