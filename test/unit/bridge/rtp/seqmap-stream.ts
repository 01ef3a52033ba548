// A simulated simulcast sender (VP8 frames with the L1T3 temporal pattern) and a receiver that
// checks what a jitter buffer expects, shared by the seqmap tests.

import assert from 'node:assert/strict';
import type { SeqMap, SeqMapPacket, SeqMapResult } from '../../../../bridge/rtp/seqmap.ts';
import { tsNewer } from '../../../../bridge/rtp/serial.ts';

export const TARGET = 0x0a0b0c0d;
export const L0 = 0x11111111;
export const L1 = 0x22222222;
export const L2 = 0x33333333;

export interface Pkt extends SeqMapPacket {
  tid: number;
}

export function pkt(ssrc: number, seq: number, ts: number, extra?: Partial<Pkt>): Pkt {
  // Built field by field (no spread): the randomised test makes ~100 000 of these.
  const p: Pkt = {
    ssrc,
    sequenceNumber: seq & 0xffff,
    timestamp: ts >>> 0,
    pictureId: extra?.pictureId ?? -1,
    pictureIdBits: extra?.pictureIdBits ?? 0,
    tl0PicIdx: extra?.tl0PicIdx ?? -1,
    keyframe: extra?.keyframe ?? false,
    arrivalMs: extra?.arrivalMs ?? Number.NaN,
    tid: extra?.tid ?? 0,
  };
  return p;
}

/** One simulcast layer's sender: frames of `packetsPerFrame` packets, 30 fps, L1T3 temporal pattern. */
export class Layer {
  seq: number;
  ts: number;
  pid: number;
  tl0: number;
  frameNo = 0;
  constructor(
    readonly ssrc: number,
    seq: number,
    ts: number,
    pid: number,
    tl0: number,
    readonly packetsPerFrame = 2,
    readonly pidBits: 7 | 15 = 15,
  ) {
    this.seq = seq & 0xffff;
    this.ts = ts >>> 0;
    this.pid = pid;
    this.tl0 = tl0;
  }

  /** The next frame's packets; the temporal pattern restarts at a keyframe. */
  frame(key = false, arrivalMs = Number.NaN): Pkt[] {
    if (key) this.frameNo = 0;
    const tid = [0, 2, 1, 2][this.frameNo % 4]!;
    if (tid === 0 && this.frameNo !== 0) this.tl0 = (this.tl0 + 1) & 0xff;
    if (key && this.frameNo === 0) this.tl0 = (this.tl0 + 1) & 0xff;
    const out: Pkt[] = [];
    for (let i = 0; i < this.packetsPerFrame; i++) {
      out.push(
        pkt(this.ssrc, this.seq, this.ts, {
          pictureId: this.pid,
          pictureIdBits: this.pidBits,
          tl0PicIdx: this.tl0,
          keyframe: key && i === 0,
          tid,
          arrivalMs,
        }),
      );
      this.seq = (this.seq + 1) & 0xffff;
    }
    this.ts = (this.ts + 3000) >>> 0;
    this.pid = (this.pid + 1) & (this.pidBits === 7 ? 0x7f : 0x7fff);
    this.frameNo++;
    return out;
  }
}

export interface Out {
  result: SeqMapResult;
  seq: number;
  ts: number;
  pid: number;
  tl0: number;
}

export function mapOne(map: SeqMap, p: SeqMapPacket): Out {
  const result = map.map(p);
  return { result, seq: map.outSequence, ts: map.outTimestamp, pid: map.outPictureId, tl0: map.outTl0PicIdx };
}

/** What a receiver sees, in arrival order; checks continuity the way a jitter buffer would. */
export class Receiver {
  readonly packets: Out[] = [];
  add(out: Out): void {
    if (out.result !== 'new') assert.fail(`expected a new output, got ${JSON.stringify(out)}`);
    this.packets.push(out);
  }
  /** No sequence gap, timestamps never go back, PictureID +1 per new timestamp, TL0PICIDX +0/+1. */
  assertContinuous(): void {
    // Messages are built only on failure: this runs over tens of thousands of packets.
    for (let i = 1; i < this.packets.length; i++) {
      const a = this.packets[i - 1]!;
      const b = this.packets[i]!;
      const at = (): string => `at ${i}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`;
      if (b.seq !== ((a.seq + 1) & 0xffff)) assert.fail(`sequence gap ${at()}`);
      if (b.ts !== a.ts && !tsNewer(b.ts, a.ts)) assert.fail(`timestamp went back ${at()}`);
      if (b.ts === a.ts && b.pid !== a.pid) assert.fail(`PictureID changed inside a frame ${at()}`);
      if (b.ts !== a.ts && b.pid !== ((a.pid + 1) & 0x7fff)) assert.fail(`PictureID not +1 ${at()}`);
      const tl0Step = (b.tl0 - a.tl0) & 0xff;
      if (tl0Step > 1) assert.fail(`TL0PICIDX step ${tl0Step} ${at()}`);
    }
  }
}

/** Forwards temporal layers ≤ maxTid to `rx`, drops the rest. */
export function forward(map: SeqMap, rx: Receiver, packets: Pkt[], maxTid = 2): void {
  for (const p of packets) {
    if (p.tid > maxTid) {
      if (!map.drop(p)) assert.fail(`drop ${p.sequenceNumber} left a hole`);
    } else {
      rx.add(mapOne(map, p));
    }
  }
}
