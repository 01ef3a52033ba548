import assert from 'node:assert/strict';
import { PacketCache } from '../../../../bridge/rtp/packet-cache.ts';
import { seededRandom } from '../../seeded-random.ts';

/** A fake RTP packet whose bytes name its SSRC and sequence number. */
function packet(ssrc: number, seq: number, size = 100): Uint8Array {
  const data = new Uint8Array(size);
  const view = new DataView(data.buffer);
  view.setUint32(0, ssrc);
  view.setUint16(4, seq & 0xffff);
  return data;
}

function key(data: Uint8Array | undefined): string | undefined {
  if (!data) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return `${view.getUint32(0)}/${view.getUint16(4)}`;
}

describe('bridge/rtp/packet-cache', () => {
  it('returns what was stored by (ssrc, seq), as a copy the caller may not disturb', () => {
    const cache = new PacketCache();
    const original = packet(1, 10);
    cache.insert(1, 10, original, 0);
    cache.insert(2, 10, packet(2, 10), 0);
    original.fill(0xff); // the forwarder rewrites its buffer afterwards
    assert.equal(key(cache.get(1, 10, 5)), '1/10');
    assert.equal(key(cache.get(2, 10, 5)), '2/10');
    assert.equal(cache.get(1, 11, 5), undefined);
    assert.equal(cache.get(3, 10, 5), undefined);
    assert.deepEqual(cache.size, { streams: 2, packets: 2, bytes: 200 });
    assert.deepEqual({ hits: cache.stats.hits, misses: cache.stats.misses }, { hits: 2, misses: 2 });
  });

  it('looks for what it never stored where its stream is attached (a route\'s ring), after its own, until the stream is removed or cleared', () => {
    const cache = new PacketCache();
    const held = new Map([[20, packet(7, 20)], [21, packet(7, 21, 300)]]);
    const asked: Array<[number, number, number]> = [];
    cache.attach(7, {
      get: (seq, now, maxAgeMs) => {
        asked.push([seq, now, maxAgeMs]);
        return held.get(seq);
      },
    });
    cache.insert(7, 22, packet(7, 22), 0);
    assert.equal(key(cache.get(7, 22, 5)), '7/22', 'its own first');
    assert.equal(key(cache.get(7, 20, 5)), '7/20');
    assert.equal(cache.lengthOf(7, 21, 5), 300);
    assert.equal(cache.get(7, 23, 5), undefined);
    assert.equal(key(cache.get(7, 0x10014, 6)), '7/20', 'asked by its 16-bit number');
    assert.deepEqual(asked, [[20, 5, 1000], [21, 5, 1000], [23, 5, 1000], [20, 6, 1000]]);
    assert.equal(cache.get(8, 20, 5), undefined, 'only for its stream');
    assert.deepEqual([cache.stats.hits, cache.stats.misses], [3, 2]);
    cache.removeStream(7);
    assert.equal(cache.get(7, 20, 5), undefined);
    cache.attach(7, { get: (seq) => held.get(seq) });
    cache.clear();
    assert.equal(cache.get(7, 20, 5), undefined);
    cache.attach(7, { get: (seq) => held.get(seq) });
    cache.attach(7, undefined);
    assert.equal(cache.lengthOf(7, 21, 5), 0);
    // A stream given up for the bound on streams (the idlest: one whose packets the read keeps
    // inserts nothing) loses its pool entries, not its attachment.
    const bounded = new PacketCache({ maxStreams: 2 });
    bounded.insert(7, 1, packet(7, 1), 0);
    bounded.attach(7, { get: (seq) => held.get(seq) });
    bounded.insert(8, 1, packet(8, 1), 10);
    bounded.insert(9, 1, packet(9, 1), 20);
    assert.equal(bounded.get(7, 1, 20), undefined, 'its pool entries went');
    assert.equal(key(bounded.get(7, 20, 20)), '7/20', 'its ring is still looked in');
  });

  it('copies a Buffer too (whose own slice() is a view)', () => {
    const cache = new PacketCache();
    const pool = Buffer.alloc(300);
    const view = pool.subarray(100, 200);
    view.writeUInt32BE(5, 0);
    view.writeUInt16BE(1, 4);
    cache.insert(5, 1, view, 0);
    pool.fill(0);
    assert.equal(cache.get(5, 1, 0)?.byteLength, 100);
    assert.equal(key(cache.get(5, 1, 0)), '5/1');
  });

  it('keeps the last packetsPerStream packets of a stream across the 16-bit wrap-around', () => {
    const cache = new PacketCache({ packetsPerStream: 512 });
    for (let i = 0; i < 2000; i++) cache.insert(7, (65_000 + i) & 0xffff, packet(7, 65_000 + i), 0);
    const last = (65_000 + 1999) & 0xffff; // 1463
    for (let back = 0; back < 512; back++) {
      const seq = (last - back) & 0xffff;
      assert.equal(key(cache.get(7, seq, 0)), `7/${seq}`, `seq ${seq}`);
    }
    assert.equal(cache.get(7, (last - 512) & 0xffff, 0), undefined, 'one ring further back is gone');
    assert.equal(cache.get(7, 65_535, 0), undefined);
    assert.equal(cache.size.packets, 512);
  });

  it('never lets a late packet older than the ring overwrite a newer one', () => {
    const cache = new PacketCache({ packetsPerStream: 16 });
    for (let seq = 100; seq < 140; seq++) cache.insert(1, seq, packet(1, seq), 0);
    cache.insert(1, 108, packet(1, 108), 0); // slot of 124 (and 140 - 16 = 124 is live)
    assert.equal(key(cache.get(1, 124, 0)), '1/124');
    assert.equal(cache.get(1, 108, 0), undefined);
    assert.equal(cache.stats.tooOld, 1);
    cache.insert(1, 130, packet(1, 130, 50), 0); // reordered within the ring: replaces itself
    assert.equal(cache.get(1, 130, 0)?.byteLength, 50);
    assert.equal(cache.size.packets, 16);
  });

  it('takes two packets in a row far behind for a renumbered stream: the old numbering goes, the new one is cached at once', () => {
    const cache = new PacketCache({ packetsPerStream: 16 });
    let now = 0;
    for (let seq = 5000; seq < 5100; seq++) cache.insert(1, seq, packet(1, seq), (now += 10));
    cache.insert(1, 4000, packet(1, 4000), (now += 10));
    cache.insert(1, 3000, packet(1, 3000), (now += 10)); // two late ones, not in a row: still late
    assert.equal(cache.stats.tooOld, 2);
    assert.equal(key(cache.get(1, 5099, now)), '1/5099', 'nothing of the stream lost to a late packet');
    for (let seq = 3001; seq < 3050; seq++) cache.insert(1, seq, packet(1, seq), (now += 10));
    assert.equal(cache.stats.renumbered, 1);
    assert.equal(cache.get(1, 3000, now), undefined, 'the first of the new numbering was refused');
    const hits = Array.from({ length: 49 }, (_, i) => key(cache.get(1, 3001 + i, now))).filter((k, i) => k === `1/${3001 + i}`).length;
    assert.equal(hits, 16, 'the new numbering is cached from its second packet (the last 16 kept)');
    assert.equal(cache.get(1, 5099, now), undefined, 'the old numbering is gone');
    assert.equal(cache.size.packets, 16);
    // Retransmissions far behind in a row (a burst answering one NACK) are late packets, not a renumbering.
    for (let seq = 3050; seq < 3100; seq++) cache.insert(1, seq, packet(1, seq), (now += 10));
    for (const seq of [3001, 3002, 3003]) cache.insert(1, seq, packet(1, seq), (now += 1), true);
    assert.equal(cache.stats.renumbered, 1);
    assert.equal(key(cache.get(1, 3099, now)), '1/3099', 'the stream kept');
  });

  it('a retransmission of the same packet replaces it without growing', () => {
    const cache = new PacketCache();
    cache.insert(1, 5, packet(1, 5, 100), 0);
    cache.insert(1, 5, packet(1, 5, 120), 1);
    assert.deepEqual(cache.size, { streams: 1, packets: 1, bytes: 120 });
  });

  it('does not return packets older than maxAgeMs, and evicts them as time goes', () => {
    const cache = new PacketCache({ maxAgeMs: 1000 });
    cache.insert(1, 1, packet(1, 1), 0);
    cache.insert(1, 2, packet(1, 2), 600);
    assert.equal(key(cache.get(1, 1, 1000)), '1/1');
    assert.equal(cache.get(1, 1, 1001), undefined, 'too old');
    cache.insert(1, 3, packet(1, 3), 1500);
    assert.deepEqual(cache.size, { streams: 1, packets: 2, bytes: 200 }, 'seq 1 evicted on the next insert');
    assert.equal(key(cache.get(1, 2, 1500)), '1/2');
  });

  it('a stream whose packets all aged out starts afresh at any sequence number', () => {
    const cache = new PacketCache({ packetsPerStream: 16, maxAgeMs: 100 });
    for (let seq = 1000; seq < 1010; seq++) cache.insert(1, seq, packet(1, seq), 0);
    cache.insert(1, 2000, packet(1, 2000), 500); // ahead: fine anyway
    cache.insert(1, 10, packet(1, 10), 1000); // far behind, but 2000 aged out
    assert.equal(key(cache.get(1, 10, 1000)), '1/10');
  });

  it('holds the byte bound over all streams, each stream over its share giving up its own oldest', () => {
    const cache = new PacketCache({ maxBytes: 10_000 });
    for (let i = 0; i < 300; i++) cache.insert(i % 3, i, packet(i % 3, i, 1000), i);
    assert.ok(cache.size.bytes <= 10_000, `${cache.size.bytes} bytes`);
    assert.ok(cache.size.packets >= 9, `${cache.size.packets} packets`);
    for (let i = 291; i < 300; i++) assert.equal(key(cache.get(i % 3, i, 300)), `${i % 3}/${i}`);
    assert.equal(cache.get(287 % 3, 287, 300), undefined);
    cache.insert(9, 1, packet(9, 1, 20_000), 300); // larger than the whole budget: not stored
    assert.equal(cache.get(9, 1, 300), undefined);
    assert.equal(cache.stats.tooLarge, 1);
    assert.ok(cache.size.bytes <= 10_000);
  });

  it('a stream flooding the cache shortens its own retention, not its neighbours\'', () => {
    // Four streams of 50 packets a second, and one of 32,000 (what one sender's bitrate can reach), for 2 s.
    const cache = new PacketCache({ initialPackets: 600, maxPackets: 600, maxAgeMs: 1000 }); // less than the flood's ring and the others' second
    const slowSeq = [0, 0, 0, 0];
    let fastSeq = 0;
    for (let ms = 0; ms < 2000; ms++) {
      for (let k = 0; k < 32; k++, fastSeq++) cache.insert(99, fastSeq, packet(99, fastSeq, 1200), ms);
      if (ms % 20 !== 0) continue;
      for (let s = 0; s < 4; s++) {
        cache.insert(s, slowSeq[s]!, packet(s, slowSeq[s]!, 1200), ms);
        slowSeq[s]!++;
      }
    }
    assert.equal(cache.size.packets, 600, 'the pool is full');
    // Each slow stream still has its whole last second (50 packets).
    for (let s = 0; s < 4; s++) {
      for (let back = 1; back <= 50; back++) {
        const seq = slowSeq[s]! - back;
        assert.equal(key(cache.get(s, seq, 1999)), `${s}/${seq}`, `stream ${s}, ${back} back`);
      }
    }
    // The fast one keeps what its ring holds, at most.
    assert.equal(key(cache.get(99, fastSeq - 1, 1999)), `99/${(fastSeq - 1) & 0xffff}`);
    assert.equal(cache.get(99, fastSeq - 600, 1999), undefined);
  });

  it('a sender flooding many streams leaves each other stream its share', () => {
    const cache = new PacketCache({ maxPackets: 1000, maxAgeMs: 1000 });
    let now = 0;
    for (let seq = 0; seq < 100; seq++) cache.insert(1, seq, packet(1, seq), now); // a quiet stream's last 100
    for (let round = 0; round < 200; round++) {
      now++;
      for (let ssrc = 10; ssrc < 19; ssrc++) for (let k = 0; k < 5; k++) cache.insert(ssrc, round * 5 + k, packet(ssrc, round * 5 + k), now);
    }
    // Ten streams, a share of 100 each: the quiet stream's 100 are all there.
    for (let seq = 0; seq < 100; seq++) assert.equal(key(cache.get(1, seq, now)), `1/${seq}`, `seq ${seq}`);
    assert.equal(cache.size.packets, 1000);
  });

  it('gives a new stream its share of a full pool, counting only the streams that hold packets', () => {
    const cache = new PacketCache({ initialPackets: 400, maxPackets: 400, maxAgeMs: 100 });
    for (let ssrc = 100; ssrc < 200; ssrc++) cache.insert(ssrc, 1, packet(ssrc, 1), 0); // a hundred streams, then paused
    let now = 200;
    for (let seq = 0; seq < 400; seq++, now += 0.1) {
      cache.insert(1, seq, packet(1, seq), now);
      cache.insert(2, seq, packet(2, seq), now);
    }
    for (let seq = 0; seq < 100; seq++) cache.insert(3, seq, packet(3, seq), now);
    const kept = Array.from({ length: 100 }, (_, seq) => cache.get(3, seq, now)).filter(Boolean).length;
    assert.equal(kept, 100, 'the new stream keeps its hundred (a third of the pool is its share)');
    assert.equal(cache.size.packets, 400);
  });

  it('gives up the oldest packet first, a late one included', () => {
    const cache = new PacketCache({ initialPackets: 4, maxPackets: 4 });
    for (let seq = 0; seq < 6; seq++) cache.insert(1, seq, packet(1, seq), 0); // 2, 3, 4, 5 kept
    cache.insert(1, 0, packet(1, 0), 0, true); // a retransmission: the oldest kept
    assert.equal(key(cache.get(1, 0, 0)), '1/0');
    cache.insert(1, 6, packet(1, 6), 0);
    assert.equal(cache.get(1, 0, 0), undefined, 'it went first');
    for (const seq of [3, 4, 5, 6]) assert.equal(key(cache.get(1, seq, 0)), `1/${seq}`);
  });

  it('gives up the packets of a stream that stopped once the byte bound is reached and they are past maxAgeMs', () => {
    const cache = new PacketCache({ maxBytes: 10_000, maxAgeMs: 100 });
    for (let seq = 0; seq < 10; seq++) cache.insert(1, seq, packet(1, seq, 1000), 0); // then stream 1 stops
    for (let seq = 0; seq < 20; seq++) cache.insert(2, seq, packet(2, seq, 1000), 200 + seq);
    const kept = Array.from({ length: 20 }, (_, seq) => cache.get(2, seq, 219)).filter(Boolean).length;
    assert.equal(kept, 10, 'stream 2 has the whole budget');
    assert.equal(cache.size.bytes, 10_000);
  });

  it('grows its pool, up to maxPackets, to hold the last second of a large conference', () => {
    // 300 layers at 80 packets a second: 24,000 packets in the last second, where the pool starts at 1,024.
    const cache = new PacketCache();
    assert.equal(cache.capacity, 0);
    for (let ms = 0; ms < 1500; ms += 25) for (let ssrc = 0; ssrc < 300; ssrc++) for (let k = 0; k < 2; k++) cache.insert(ssrc, (ms / 25) * 2 + k, packet(ssrc, (ms / 25) * 2 + k), ms);
    assert.ok(cache.capacity >= 24_000 && cache.capacity <= 32_768, `capacity ${cache.capacity}`);
    for (let ssrc = 0; ssrc < 300; ssrc += 7) {
      for (let seq = 119; seq >= 40; seq--) assert.equal(key(cache.get(ssrc, seq, 1475)), `${ssrc}/${seq}`, `${ssrc}/${seq}`);
    }
    const bounded = new PacketCache({ maxPackets: 4096 });
    for (let ms = 0; ms < 1500; ms += 25) for (let ssrc = 0; ssrc < 300; ssrc++) bounded.insert(ssrc, ms / 25, packet(ssrc, ms / 25), ms);
    assert.equal(bounded.capacity, 4096);
  });

  it('gives up the packets of a stream that stopped once the pool is full and they are past maxAgeMs', () => {
    const cache = new PacketCache({ initialPackets: 256, maxPackets: 4096, maxAgeMs: 100 });
    for (let seq = 0; seq < 200; seq++) cache.insert(1, seq, packet(1, seq), 0); // then stream 1 stops
    for (let ms = 200; ms <= 1000; ms++) cache.insert(2, ms, packet(2, ms), ms); // from when those are past 100 ms
    assert.equal(cache.capacity, 256, 'stream 1\'s old packets made way: no growth');
    assert.ok(cache.size.packets <= 256);
    assert.equal(key(cache.get(2, 1000, 1000)), '2/1000');
  });

  it('holds the packet bound with streams interleaved', () => {
    const cache = new PacketCache({ maxPackets: 64, packetsPerStream: 512 });
    for (let i = 0; i < 1000; i++) cache.insert(i % 4, i >> 2, packet(i % 4, i >> 2), 0);
    assert.equal(cache.size.packets, 64);
    for (let i = 1000 - 64; i < 1000; i++) assert.equal(key(cache.get(i % 4, i >> 2, 0)), `${i % 4}/${i >> 2}`);
    assert.equal(cache.get(935 % 4, 935 >> 2, 0), undefined);
  });

  it('forgets the idlest stream beyond maxStreams, and removeStream frees everything of one', () => {
    const cache = new PacketCache({ maxStreams: 2 });
    cache.insert(1, 1, packet(1, 1), 0);
    cache.insert(2, 1, packet(2, 1), 10);
    cache.insert(1, 2, packet(1, 2), 20);
    cache.insert(3, 1, packet(3, 1), 30); // stream 2 is the idlest
    assert.equal(cache.get(2, 1, 30), undefined);
    assert.equal(key(cache.get(1, 2, 30)), '1/2');
    assert.deepEqual(cache.size, { streams: 2, packets: 3, bytes: 300 });
    cache.removeStream(1);
    assert.deepEqual(cache.size, { streams: 1, packets: 1, bytes: 100 });
    cache.clear();
    assert.deepEqual(cache.size, { streams: 0, packets: 0, bytes: 0 });
    cache.insert(4, 1, packet(4, 1), 40);
    assert.equal(key(cache.get(4, 1, 40)), '4/1', 'usable after clear');
  });

  it('rejects a ring size that does not divide 65536', () => {
    assert.throws(() => new PacketCache({ packetsPerStream: 500 }), RangeError);
    assert.throws(() => new PacketCache({ maxBytes: 0 }), RangeError);
  });

  for (const seed of [3, 99, 2024]) {
    it(`under random traffic, reordering, removals and time, every hit is the right packet and the bounds hold (seed ${seed})`, () => {
      const random = seededRandom(seed);
      const options = { packetsPerStream: 64, maxPackets: 300, maxBytes: 60_000, maxStreams: 6, maxAgeMs: 500 };
      const cache = new PacketCache(options);
      const next = new Map<number, number>();
      let now = 0;
      for (let step = 0; step < 20_000; step++) {
        now += random() < 0.3 ? Math.floor(random() * 5) : 0;
        const ssrc = Math.floor(random() * 8);
        const r = random();
        if (r < 0.01) {
          cache.removeStream(ssrc);
        } else if (r < 0.8) {
          const base = next.get(ssrc) ?? Math.floor(random() * 65_536);
          const seq = random() < 0.1 ? (base - 1 - Math.floor(random() * 100)) & 0xffff : base; // late or retransmitted
          if (seq === base) next.set(ssrc, (base + 1) & 0xffff);
          cache.insert(ssrc, seq, packet(ssrc, seq, 50 + Math.floor(random() * 1200)), now);
          if (seq === base) assert.equal(key(cache.get(ssrc, seq, now)), `${ssrc}/${seq}`, 'the newest packet is always kept');
        } else {
          const seq = ((next.get(ssrc) ?? 0) - 1 - Math.floor(random() * 80)) & 0xffff;
          const got = cache.get(ssrc, seq, now);
          if (got) assert.equal(key(got), `${ssrc}/${seq}`, 'a hit is always the right packet');
        }
        const size = cache.size;
        assert.ok(size.bytes <= options.maxBytes && size.packets <= options.maxPackets && size.streams <= options.maxStreams, JSON.stringify(size));
      }
      // The freshest packet of a live stream is always there.
      for (const [ssrc, seq] of next) {
        const last = (seq - 1) & 0xffff;
        const got = cache.get(ssrc, last, now);
        if (got) assert.equal(key(got), `${ssrc}/${last}`);
      }
      assert.ok(cache.stats.hits > 100, `hits ${cache.stats.hits}`);
    });
  }
});
