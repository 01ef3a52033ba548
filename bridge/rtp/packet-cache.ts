// The last packets of each RTP stream, by (SSRC, sequence number), so that a NACKed packet can be
// sent again (as RTX, RFC 4588 §4) by the bridge itself instead of asking the sender across a
// second lossy hop. jitsi-videobridge keeps the same kind of store (PacketCache / ArrayCache in
// jitsi-nlj, rtp/util: a fixed array per SSRC indexed by sequence number, entries older than a
// time limit ignored); this is Salon's own, with a hard memory bound over all streams.
//
// Layout. One global FIFO ring of `maxPackets` entries in insertion order (oldest evicted first; an
// entry freed early, by a ring overwrite or a removed stream, leaves a hole skipped later), plus per
// stream a ring of `packetsPerStream` indices into it, indexed by `seq mod packetsPerStream`. A
// lookup is two array reads and three comparisons. Bounds, whatever the traffic: entries ≤
// maxPackets, stored bytes ≤ maxBytes (oldest evicted until the new packet fits), streams ≤
// maxStreams (the stream idle longest is forgotten), age ≤ maxAgeMs for anything returned.
//
// Pure: no clock of its own (the caller passes `now`), no I/O. Packets are copied in (into 64 KiB
// slabs, reused once emptied), so the caller may reuse or rewrite its buffer after insert(); what
// get() returns is a view of the cache's copy, valid until the next insert, and must not be
// modified (copy it before re-stamping or RTX-wrapping).

export interface PacketCacheOptions {
  /** Slots per stream, a power of two dividing 65536 (so indexing survives sequence wrap-around); default 512. */
  packetsPerStream: number;
  /** Entries over all streams; default 8192. */
  maxPackets: number;
  /** Stored packet bytes over all streams; default 8 MiB. */
  maxBytes: number;
  /** Streams (SSRCs) at most; default 256. */
  maxStreams: number;
  /** Packets older than this are never returned (and are evicted first); default 1000 ms. */
  maxAgeMs: number;
}

export const DEFAULT_PACKET_CACHE_OPTIONS: PacketCacheOptions = {
  packetsPerStream: 512,
  maxPackets: 8192,
  maxBytes: 8 * 1024 * 1024,
  maxStreams: 256,
  maxAgeMs: 1000,
};

export interface PacketCacheStats {
  inserted: number;
  /** get() found the packet. */
  hits: number;
  /** get() found nothing: never stored, overwritten, evicted or too old. */
  misses: number;
  /** Entries evicted for the packet, byte or age bounds (not counting ring overwrites). */
  evicted: number;
  /** insert() of a packet older than the stream's ring (it would have overwritten a newer one). */
  tooOld: number;
  /** Streams whose sender renumbered (two packets in a row far behind): their old packets dropped. */
  renumbered: number;
}

interface Stream {
  readonly ssrc: number;
  /** Index into the global ring per slot, or -1. */
  readonly slots: Int32Array;
  /** Highest sequence number inserted (16-bit). */
  highest: number;
  lastInsertAt: number;
  live: number;
  /** The last packet refused as too old, or -1: the next one right after it means the sender renumbered. */
  farBehind: number;
}

/** Bytes of one storage slab: packets are copied into slabs one after the other. */
const SLAB_BYTES = 64 * 1024;
/** Emptied slabs kept for reuse. */
const SPARE_SLABS = 4;

/** Storage for many packets; `live` counts the entries in it. */
interface Slab {
  buf: Buffer;
  live: number;
}

export class PacketCache {
  readonly #options: PacketCacheOptions;
  readonly #mask: number;
  // The global ring, one array per field (entry i is index i of each): numbers in typed arrays, so
  // that a cache is a handful of objects for the GC to trace and its writes need no write barrier.
  // As objects, the ring was 8,192 entries per conference, each with its time boxed: 36 MB of the
  // heap in 50 rooms of three, traced by every full collection (bench/README.md, "The stress level").
  /** The slab holding entry i's packet, undefined when the entry is free. */
  readonly #data: (Slab | undefined)[];
  readonly #stream: (Stream | undefined)[];
  readonly #seq: Uint16Array;
  /** Insert time (the caller's clock); -Infinity: never. */
  readonly #at: Float64Array;
  /** Where in its slab, and how long. */
  readonly #offset: Int32Array;
  readonly #length: Int32Array;
  readonly #streams = new Map<number, Stream>();
  /** Next ring index to write. Live entries lie in the cyclic span [#tail, #head), all of it when the two meet and #count > 0. */
  #head = 0;
  #tail = 0;
  #count = 0;
  #bytes = 0;
  /** The slab being filled (allocated at the first insert) and how much of it is used. */
  #slab: Slab = { buf: Buffer.alloc(0), live: 0 };
  #slabUsed = 0;
  readonly #spareSlabs: Buffer[] = [];
  readonly stats: PacketCacheStats = { inserted: 0, hits: 0, misses: 0, evicted: 0, tooOld: 0, renumbered: 0 };

  constructor(options: Partial<PacketCacheOptions> = {}) {
    const o = { ...DEFAULT_PACKET_CACHE_OPTIONS, ...options };
    const per = o.packetsPerStream;
    if (!Number.isInteger(per) || per < 1 || per > 32768 || (per & (per - 1)) !== 0) throw new RangeError(`packetsPerStream ${per} is not a power of two up to 32768`);
    for (const key of ['maxPackets', 'maxBytes', 'maxStreams', 'maxAgeMs'] as const) {
      if (!(o[key] > 0)) throw new RangeError(`${key} ${o[key]} is not positive`);
    }
    this.#options = o;
    this.#mask = per - 1;
    const n = o.maxPackets;
    this.#data = Array.from({ length: n }, () => undefined);
    this.#stream = Array.from({ length: n }, () => undefined);
    this.#seq = new Uint16Array(n);
    this.#at = new Float64Array(n).fill(-Infinity);
    this.#offset = new Int32Array(n);
    this.#length = new Int32Array(n);
  }

  /** Streams, live entries and stored bytes: what the bounds hold. */
  get size(): { streams: number; packets: number; bytes: number } {
    return { streams: this.#streams.size, packets: this.#count, bytes: this.#bytes };
  }

  /**
   * Stores a copy of `packet` (the whole RTP packet as forwarded) under (ssrc, seq). A packet with
   * the same key replaces the stored one; one older than the stream's ring is ignored.
   * `late`: a retransmission, never taken for a sender that renumbered (a burst of them answering
   * one NACK comes in a row, all far behind on a fast stream).
   */
  insert(ssrc: number, seq: number, packet: Uint8Array, now: number, late = false): void {
    seq &= 0xffff;
    const length = packet.byteLength;
    if (length > this.#options.maxBytes) return;
    this.#evictOld(now);
    let stream = this.#streams.get(ssrc);
    if (!stream) {
      stream = this.#addStream(ssrc, seq);
    } else if (stream.live === 0) {
      stream.highest = seq; // everything aged out: no order left to keep (the sender may have jumped)
    } else {
      const behind = (stream.highest - seq) & 0xffff;
      if (behind < 0x8000) {
        // Same or older: only within the ring, where its slot holds this seq or an older one.
        if (behind > this.#mask) {
          if (late || stream.farBehind !== ((seq - 1) & 0xffff)) {
            stream.farBehind = late ? -1 : seq;
            this.stats.tooOld++;
            return;
          }
          // Two in a row, far behind: the sender renumbered (a restarted encoder, a new session), as
          // the retransmission requester takes it. The old numbering goes; else the new one would
          // not be cached until all of the old had aged out.
          for (let slot = 0; slot < stream.slots.length; slot++) if (stream.slots[slot]! >= 0) this.#free(stream.slots[slot]!);
          stream.highest = seq;
          this.stats.renumbered++;
        }
      } else {
        stream.highest = seq;
      }
    }
    stream.farBehind = -1;
    const slot = seq & this.#mask;
    const previous = stream.slots[slot]!;
    if (previous >= 0) this.#free(previous); // the ring wrapped onto it, or the same packet again
    while (this.#count > 0 && this.#bytes + length > this.#options.maxBytes) this.#evictOldest();
    const n = this.#at.length;
    if (this.#count > 0 && this.#head === this.#tail) {
      // The live span covers the whole ring: #head holds the oldest write, which makes way.
      if (this.#data[this.#head]) {
        this.#free(this.#head);
        this.stats.evicted++;
      }
      this.#tail = (this.#head + 1) % n;
    }
    if (this.#count === 0) this.#tail = this.#head;
    const index = this.#head;
    this.#stream[index] = stream;
    this.#seq[index] = seq;
    this.#at[index] = now;
    // Copied into the current slab: an ArrayBuffer (or a Buffer object) of its own per packet cost
    // ~1.5 µs per insert (bench/bridge-forward.ts), and fresh slabs cost page faults. Entries go in
    // FIFO order, so slabs empty in the order they were filled, and an emptied one is reused.
    if (this.#slabUsed + length > this.#slab.buf.length) {
      const spare = length <= SLAB_BYTES ? this.#spareSlabs.pop() : undefined;
      // Not zero-filled: only the parts written are ever read.
      this.#slab = { buf: spare ?? Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, length)), live: 0 };
      this.#slabUsed = 0;
    }
    this.#slab.buf.set(packet, this.#slabUsed);
    this.#slab.live++;
    this.#data[index] = this.#slab;
    this.#offset[index] = this.#slabUsed;
    this.#length[index] = length;
    this.#slabUsed += length;
    stream.slots[slot] = index;
    stream.live++;
    stream.lastInsertAt = now;
    this.#head = (index + 1) % n;
    this.#count++;
    this.#bytes += length;
    this.stats.inserted++;
  }

  /** The stored packet (ssrc, seq) if it is younger than maxAgeMs: a view valid until the next insert; do not modify it. */
  get(ssrc: number, seq: number, now: number): Uint8Array | undefined {
    const index = this.#slotOf(ssrc, seq, now);
    if (index < 0) {
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    const offset = this.#offset[index]!;
    return this.#data[index]!.buf.subarray(offset, offset + this.#length[index]!);
  }

  /** The length of the packet `get` would return, 0 when it holds none; not counted in the statistics. */
  lengthOf(ssrc: number, seq: number, now: number): number {
    const index = this.#slotOf(ssrc, seq, now);
    return index < 0 ? 0 : this.#length[index]!;
  }

  /** Where the packet (ssrc, seq) is stored, if it is and is younger than maxAgeMs; else -1. */
  #slotOf(ssrc: number, seq: number, now: number): number {
    const stream = this.#streams.get(ssrc);
    const index = stream ? stream.slots[seq & this.#mask]! : -1;
    if (index < 0 || !this.#data[index] || this.#stream[index] !== stream || this.#seq[index] !== (seq & 0xffff) || now - this.#at[index]! > this.#options.maxAgeMs) return -1;
    return index;
  }

  /** Forgets one stream (its sender left or stopped the source). */
  removeStream(ssrc: number): void {
    const stream = this.#streams.get(ssrc);
    if (!stream) return;
    for (const index of stream.slots) if (index >= 0) this.#free(index);
    this.#streams.delete(ssrc);
  }

  clear(): void {
    for (const ssrc of [...this.#streams.keys()]) this.removeStream(ssrc);
    this.#head = this.#tail = 0;
  }

  #addStream(ssrc: number, seq: number): Stream {
    if (this.#streams.size >= this.#options.maxStreams) {
      let idlest: Stream | undefined;
      for (const s of this.#streams.values()) if (!idlest || s.lastInsertAt < idlest.lastInsertAt) idlest = s;
      if (idlest) this.removeStream(idlest.ssrc);
    }
    const stream: Stream = { ssrc, slots: new Int32Array(this.#mask + 1).fill(-1), highest: seq, lastInsertAt: -Infinity, live: 0, farBehind: -1 }; // a double from the start, as the clock's times are
    this.#streams.set(ssrc, stream);
    return stream;
  }

  /** Evicts from the oldest end while entries are older than maxAgeMs. */
  #evictOld(now: number): void {
    for (;;) {
      this.#skipFree();
      if (this.#count === 0 || now - this.#at[this.#tail]! <= this.#options.maxAgeMs) return;
      this.#free(this.#tail);
      this.stats.evicted++;
    }
  }

  #evictOldest(): void {
    this.#skipFree();
    this.#free(this.#tail);
    this.stats.evicted++;
  }

  /** Moves #tail over entries freed out of order (overwritten, removed streams) to the oldest live one. */
  #skipFree(): void {
    if (this.#count === 0) {
      this.#tail = this.#head;
      return;
    }
    while (!this.#data[this.#tail]) this.#tail = (this.#tail + 1) % this.#data.length;
  }

  #free(index: number): void {
    const slab = this.#data[index];
    if (!slab) return;
    const stream = this.#stream[index]!;
    const slot = this.#seq[index]! & this.#mask;
    if (stream.slots[slot] === index) stream.slots[slot] = -1;
    stream.live--;
    this.#count--;
    this.#bytes -= this.#length[index]!;
    if (--slab.live === 0 && slab !== this.#slab && slab.buf.length === SLAB_BYTES && this.#spareSlabs.length < SPARE_SLABS) this.#spareSlabs.push(slab.buf);
    this.#data[index] = undefined;
    this.#stream[index] = undefined;
  }
}
