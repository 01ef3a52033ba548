// Test-only: feeds a VideoProjection packet by packet and records what each receiver was handed,
// read at once (the projection reuses the buffer for the next receiver).
import assert from 'node:assert/strict';
import type { VideoProjection } from '../../../bridge/video-projection.ts';

export interface ProjectionRecorder<T> {
  /** Projects each packet, checks the marker octet is as it came after every receiver, then advances the clock one frame. */
  send(packets: readonly Buffer[]): void;
  /** What `id` was handed since the last take. */
  take(id: string): T[];
}

export function recordProjection<T>(projection: VideoProjection, read: (packet: Buffer) => T, nextFrame: () => void): ProjectionRecorder<T> {
  const got = new Map<string, T[]>();
  const sink = (id: string, packet: Buffer) => {
    let list = got.get(id);
    if (!list) got.set(id, (list = []));
    list.push(read(packet));
  };
  return {
    send(packets) {
      for (const p of packets) {
        const before = p[1];
        projection.project(p, sink);
        assert.equal(p[1], before, 'the marker octet is restored after every receiver');
      }
      nextFrame();
    },
    take(id) {
      const list = got.get(id) ?? [];
      got.set(id, []);
      return list;
    },
  };
}
