// The last packets of each RTP stream, by (SSRC, sequence number), so that a NACKed packet can be
// sent again (as RTX, RFC 4588 §4) by the bridge itself instead of asking the sender across a
// second lossy hop. jitsi-videobridge keeps the same kind of store (PacketCache / ArrayCache in
// jitsi-nlj, rtp/util: a fixed array of 500 per SSRC indexed by sequence number, entries older than
// a time limit ignored, no bound over all streams); this is Salon's own, with a hard memory bound
// over all streams that no one stream can take for itself.
//
// Layout. Per stream, a ring of `packetsPerStream` entry indices, indexed by `seq mod
// packetsPerStream`; a lookup is two array reads and two comparisons. Entries come from a pool
// shared by the conference's streams, each entry a fixed region of MAX_PACKET_BYTES in a chunk of
// storage, taken from and given back to a free list (last freed, first taken: the memory touched
// stays what was live at the peak). The pool starts at `initialPackets` entries and doubles, up to
// `maxPackets`, when it is full of packets younger than maxAgeMs.
//
// Bounds, whatever the traffic: entries ≤ maxPackets (so memory ≤ maxPackets × MAX_PACKET_BYTES,
// 48 MiB by default, touched only as far as the most packets ever held at once), stored bytes ≤
// maxBytes, streams ≤ maxStreams (the stream idle longest is forgotten), age ≤ maxAgeMs for
// anything returned. Each stream gives up its own packets older than maxAgeMs as it inserts. When
// a bound is reached, a stream holding more than its share (the bound over the number of streams
// holding packets) makes way from its own oldest packets, and any other stream takes the oldest
// packets of the stream that holds the most: a sender flooding one stream (or all the streams it
// announced) shortens its own retention, not its neighbours'. A single ring in insertion order over
// all streams, as this cache was first, let a stream of 32,000 packets a second cut every stream's
// retention to 250 ms.
//
// Pure: no clock of its own (the caller passes `now`), no I/O. Packets are copied in, so the caller
// may reuse or rewrite its buffer after insert(); what get() returns is a view of the cache's copy,
// valid until the next insert, and must not be modified (copy it before re-stamping or RTX-wrapping).

export interface PacketCacheOptions {
  /** Slots per stream, a power of two dividing 65536 (so indexing survives sequence wrap-around); default 512. */
  packetsPerStream: number;
  /** Entries the pool starts with; default 1024 (a room of three's second of video). */
  initialPackets: number;
  /** Entries over all streams; default 32768 (a second of a hundred simulcast senders). */
  maxPackets: number;
  /** Stored packet bytes over all streams; default 32 MiB. */
  maxBytes: number;
  /** Streams (SSRCs) at most; default 1024. */
  maxStreams: number;
  /** Packets older than this are never returned (and are given up first); default 1000 ms. */
  maxAgeMs: number;
}

export const DEFAULT_PACKET_CACHE_OPTIONS: PacketCacheOptions = {
  packetsPerStream: 512,
  initialPackets: 1024,
  maxPackets: 32768,
  maxBytes: 32 * 1024 * 1024,
  maxStreams: 1024,
  maxAgeMs: 1000,
};

/** The largest packet kept: an Ethernet MTU's worth (browsers send at most about 1,200 bytes of RTP). */
const MAX_PACKET_BYTES = 1500;

export interface PacketCacheStats {
  inserted: number;
  /** get() found the packet. */
  hits: number;
  /** get() found nothing: never stored, overwritten, evicted or too old. */
  misses: number;
  /** Entries given up for the packet, byte or age bounds (not counting a stream's ring overwrites). */
  evicted: number;
  /** insert() of a packet older than the stream's ring (it would have overwritten a newer one). */
  tooOld: number;
  /** insert() of a packet over MAX_PACKET_BYTES or maxBytes: not kept. */
  tooLarge: number;
  /** Streams whose sender renumbered (two packets in a row far behind): their old packets dropped. */
  renumbered: number;
}

/**
 * Packets of one stream kept outside the pool, looked up after it: the ring in which the media
 * socket's read notes what it forwarded itself (salon_media.cc VideoRing, video-projection.ts).
 * Its memory is its owner's and outside the pool's bounds.
 */
export interface ExternalPackets {
  /** The packet `seq` if held and younger than `maxAgeMs` at `now` (the cache's clock): a view, not to be modified. */
  get(seq: number, now: number, maxAgeMs: number): Uint8Array | undefined;
}

interface Stream {
  readonly ssrc: number;
  /** Entry index per slot, or -1. */
  readonly slots: Int32Array;
  /** Highest sequence number inserted (16-bit). */
  highest: number;
  /** No live packet of the stream has a sequence number before this one (in the ring's span behind `highest`). */
  oldest: number;
  lastInsertAt: number;
  live: number;
  bytes: number;
  /** The last packet refused as too old, or -1: the next one right after it means the sender renumbered. */
  farBehind: number;
}

/** Entries per storage chunk (1.5 MB of address space; pages are touched only as entries are written). */
const CHUNK_ENTRIES = 1024;

export class PacketCache {
  readonly #options: PacketCacheOptions;
  readonly #mask: number;
  // One typed array per field (entry i is index i of each): a cache is a handful of objects for
  // the GC to trace, and its writes need no write barrier. As objects, the entries were 8,192 per
  // conference, each with its time boxed: 36 MB of the heap in 50 rooms of three, traced by every
  // full collection (bench/README.md, "The stress level").
  #seq: Uint16Array;
  /** Insert time (the caller's clock). */
  #at: Float64Array;
  #length: Int32Array;
  /** Free entry indices, a stack: #free[0, #freeCount). */
  #free: Int32Array;
  #freeCount: number;
  /** Storage: entry i at chunk i / CHUNK_ENTRIES, offset (i mod CHUNK_ENTRIES) × MAX_PACKET_BYTES. */
  readonly #chunks: Buffer[] = [];
  readonly #streams = new Map<number, Stream>();
  /** Streams some of whose packets are held outside the pool (see {@link attach}). */
  readonly #external = new Map<number, ExternalPackets>();
  #count = 0;
  #bytes = 0;
  /** Streams holding a packet: what a share is taken over (streams paused or stopped hold none). */
  #holding = 0;
  /** The stream last found holding the most (entries or bytes): checked first the next time. */
  #heaviest: Stream | undefined;
  /** When the pool last looked through every stream for packets past maxAgeMs. */
  #sweptAt = Number.NEGATIVE_INFINITY;
  readonly stats: PacketCacheStats = { inserted: 0, hits: 0, misses: 0, evicted: 0, tooOld: 0, tooLarge: 0, renumbered: 0 };

  constructor(options: Partial<PacketCacheOptions> = {}) {
    const o = { ...DEFAULT_PACKET_CACHE_OPTIONS, ...options };
    const per = o.packetsPerStream;
    if (!Number.isInteger(per) || per < 1 || per > 32768 || (per & (per - 1)) !== 0) throw new RangeError(`packetsPerStream ${per} is not a power of two up to 32768`);
    for (const key of ['initialPackets', 'maxPackets', 'maxBytes', 'maxStreams', 'maxAgeMs'] as const) {
      if (!(o[key] > 0)) throw new RangeError(`${key} ${o[key]} is not positive`);
    }
    this.#options = { ...o, initialPackets: Math.min(o.initialPackets, o.maxPackets) };
    this.#mask = per - 1;
    this.#seq = new Uint16Array(0);
    this.#at = new Float64Array(0);
    this.#length = new Int32Array(0);
    this.#free = new Int32Array(0);
    this.#freeCount = 0;
  }

  /** Streams, live entries and stored bytes: what the bounds hold. */
  get size(): { streams: number; packets: number; bytes: number } {
    return { streams: this.#streams.size, packets: this.#count, bytes: this.#bytes };
  }

  /** Entries the pool has now (it grows up to maxPackets). */
  get capacity(): number {
    return this.#seq.length;
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
    if (length > MAX_PACKET_BYTES || length > this.#options.maxBytes) {
      this.stats.tooLarge++;
      return;
    }
    let stream = this.#streams.get(ssrc);
    if (stream) this.#ageOut(stream, now);
    if (!stream) {
      stream = this.#addStream(ssrc, seq);
    } else if (stream.live === 0) {
      stream.highest = stream.oldest = seq; // everything aged out: no order left to keep (the sender may have jumped)
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
          this.#freeStream(stream);
          stream.highest = stream.oldest = seq;
          this.stats.renumbered++;
        } else if (((seq - stream.oldest) & 0xffff) >= 0x8000) {
          stream.oldest = seq; // a late packet behind the oldest kept
        }
      } else {
        stream.highest = seq;
        this.#leaveBehind(stream, seq);
      }
    }
    stream.farBehind = -1;
    const slot = seq & this.#mask;
    const previous = stream.slots[slot]!;
    if (previous >= 0) this.#release(stream, previous); // the ring wrapped onto it, or the same packet again
    if (!this.#makeRoom(stream, length, now)) return;
    // Making room may have walked the stream's cursor past a late packet's place (its slot empty then).
    if (((seq - stream.oldest) & 0xffff) >= 0x8000) stream.oldest = seq;
    const index = this.#free[--this.#freeCount]!;
    this.#seq[index] = seq;
    this.#at[index] = now;
    this.#length[index] = length;
    this.#chunks[(index / CHUNK_ENTRIES) | 0]!.set(packet, (index % CHUNK_ENTRIES) * MAX_PACKET_BYTES);
    stream.slots[slot] = index;
    if (stream.live++ === 0) this.#holding++;
    stream.bytes += length;
    stream.lastInsertAt = now;
    this.#count++;
    this.#bytes += length;
    this.stats.inserted++;
  }

  /** The stored packet (ssrc, seq) if it is younger than maxAgeMs: a view valid until the next insert; do not modify it. */
  get(ssrc: number, seq: number, now: number): Uint8Array | undefined {
    const index = this.#slotOf(ssrc, seq, now);
    if (index < 0) {
      const external = this.#external.size === 0 ? undefined : this.#external.get(ssrc)?.get(seq & 0xffff, now, this.#options.maxAgeMs);
      if (external) this.stats.hits++;
      else this.stats.misses++;
      return external;
    }
    this.stats.hits++;
    const offset = (index % CHUNK_ENTRIES) * MAX_PACKET_BYTES;
    return this.#chunks[(index / CHUNK_ENTRIES) | 0]!.subarray(offset, offset + this.#length[index]!);
  }

  /** The length of the packet `get` would return, 0 when it holds none; not counted in the statistics. */
  lengthOf(ssrc: number, seq: number, now: number): number {
    const index = this.#slotOf(ssrc, seq, now);
    if (index >= 0) return this.#length[index]!;
    return this.#external.size === 0 ? 0 : (this.#external.get(ssrc)?.get(seq & 0xffff, now, this.#options.maxAgeMs)?.byteLength ?? 0);
  }

  /**
   * Where the packets of `ssrc` that were never inserted are looked for, after the pool (undefined:
   * nowhere): the ring of a layer the media socket's read forwards itself. Replaces the one before;
   * removeStream and clear let it go.
   */
  attach(ssrc: number, external: ExternalPackets | undefined): void {
    if (external) this.#external.set(ssrc, external);
    else this.#external.delete(ssrc);
  }

  /** Where the packet (ssrc, seq) is stored, if it is and is younger than maxAgeMs; else -1. */
  #slotOf(ssrc: number, seq: number, now: number): number {
    const stream = this.#streams.get(ssrc);
    const index = stream ? stream.slots[seq & this.#mask]! : -1;
    if (index < 0 || this.#seq[index] !== (seq & 0xffff) || now - this.#at[index]! > this.#options.maxAgeMs) return -1;
    return index;
  }

  /** Forgets one stream (its sender left or stopped the source). */
  removeStream(ssrc: number): void {
    this.#external.delete(ssrc);
    const stream = this.#streams.get(ssrc);
    if (stream) this.#dropStream(stream);
  }

  #dropStream(stream: Stream): void {
    this.#freeStream(stream);
    this.#streams.delete(stream.ssrc);
    if (this.#heaviest === stream) this.#heaviest = undefined;
  }

  clear(): void {
    this.#external.clear();
    for (const ssrc of [...this.#streams.keys()]) this.removeStream(ssrc);
  }

  #addStream(ssrc: number, seq: number): Stream {
    if (this.#streams.size >= this.#options.maxStreams) {
      let idlest: Stream | undefined;
      for (const s of this.#streams.values()) if (!idlest || s.lastInsertAt < idlest.lastInsertAt) idlest = s;
      // Its pool entries only: a stream the read forwards itself inserts nothing, and its ring stays attached.
      if (idlest) this.#dropStream(idlest);
    }
    const stream: Stream = {
      ssrc, slots: new Int32Array(this.#mask + 1).fill(-1), highest: seq, oldest: seq,
      lastInsertAt: Number.NEGATIVE_INFINITY, live: 0, bytes: 0, farBehind: -1, // doubles from the start, as the clock's times are
    };
    this.#streams.set(ssrc, stream);
    return stream;
  }

  /**
   * The span a ring holds ends `mask` behind the highest: packets further behind `highest` are
   * given up, so that the cursor never lags further and every live packet lies in [oldest, highest].
   */
  #leaveBehind(stream: Stream, highest: number): void {
    const lag = (highest - stream.oldest) & 0xffff;
    if (lag <= this.#mask) return;
    if (lag > 2 * (this.#mask + 1)) {
      // A jump past the whole ring: nothing of it is in the span any more.
      this.#freeStream(stream);
      stream.oldest = highest;
      return;
    }
    while (((highest - stream.oldest) & 0xffff) > this.#mask) {
      const index = stream.slots[stream.oldest & this.#mask]!;
      if (index >= 0 && this.#seq[index] === stream.oldest) this.#release(stream, index);
      stream.oldest = (stream.oldest + 1) & 0xffff;
    }
  }

  /** Makes room for one more packet of `length` bytes in `stream`: a free entry, and the byte bound kept. */
  #makeRoom(stream: Stream, length: number, now: number): boolean {
    const { maxBytes, maxPackets } = this.#options;
    if (this.#freeCount > 0 && this.#bytes + length <= maxBytes) return true;
    if (now - this.#sweptAt >= this.#options.maxAgeMs / 4) {
      // Streams that stopped inserting still hold their last second: look through all of them, at
      // most four times per maxAgeMs, before taking young packets from anyone.
      this.#sweptAt = now;
      for (const s of this.#streams.values()) this.#ageOut(s, now);
    }
    if (this.#freeCount === 0 && this.#seq.length < maxPackets) this.#grow();
    // The stream inserting counts as holding: a new one gets a share too.
    const holders = this.#holding + (stream.live === 0 ? 1 : 0);
    while (this.#freeCount === 0 || this.#bytes + length > maxBytes) {
      const byBytes = this.#freeCount > 0;
      const overShare = byBytes ? stream.bytes + length > maxBytes / holders : stream.live + 1 > maxPackets / holders;
      const from = overShare || stream === this.#heaviestStream(byBytes) ? stream : this.#heaviest!;
      if (from.live === 0) return false; // cannot happen: the bounds are over live packets, and some stream holds them
      this.#releaseOldest(from);
      this.stats.evicted++;
    }
    return true;
  }

  /** The stream holding the most entries (or bytes): the last one found, unless another now holds more than its share. */
  #heaviestStream(byBytes: boolean): Stream {
    const share = (byBytes ? this.#bytes : this.#count) / Math.max(1, this.#holding);
    const last = this.#heaviest;
    if (last !== undefined && (byBytes ? last.bytes : last.live) >= share && last.live > 0) return last;
    let heaviest: Stream | undefined;
    for (const s of this.#streams.values()) if (!heaviest || (byBytes ? s.bytes > heaviest.bytes : s.live > heaviest.live)) heaviest = s;
    this.#heaviest = heaviest;
    return heaviest!;
  }

  /** Doubles the pool (up to maxPackets). */
  #grow(): void {
    const from = this.#seq.length;
    const to = Math.min(this.#options.maxPackets, from === 0 ? this.#options.initialPackets : from * 2);
    if (to <= from) return;
    const seq = new Uint16Array(to);
    seq.set(this.#seq);
    const at = new Float64Array(to);
    at.set(this.#at);
    const length = new Int32Array(to);
    length.set(this.#length);
    const free = new Int32Array(to);
    free.set(this.#free.subarray(0, this.#freeCount));
    // The new entries go on the stack so that the lowest is taken first.
    for (let index = to - 1; index >= from; index--) free[this.#freeCount++] = index;
    this.#seq = seq;
    this.#at = at;
    this.#length = length;
    this.#free = free;
    for (let c = 0; c * CHUNK_ENTRIES < to; c++) {
      const bytes = Math.min(CHUNK_ENTRIES, to - c * CHUNK_ENTRIES) * MAX_PACKET_BYTES;
      const have = this.#chunks[c];
      if (have !== undefined && have.length >= bytes) continue;
      // Not zero-filled: only the parts written are ever read. A small pool's last chunk grows by a copy.
      const chunk = Buffer.allocUnsafeSlow(bytes);
      have?.copy(chunk);
      this.#chunks[c] = chunk;
    }
  }

  /** Gives up the stream's packets older than maxAgeMs, oldest first. */
  #ageOut(stream: Stream, now: number): void {
    const maxAge = this.#options.maxAgeMs;
    while (stream.live > 0) {
      const index = stream.slots[stream.oldest & this.#mask]!;
      if (index >= 0 && this.#seq[index] === stream.oldest) {
        if (now - this.#at[index]! <= maxAge) return;
        this.#release(stream, index);
        this.stats.evicted++;
      }
      stream.oldest = (stream.oldest + 1) & 0xffff;
    }
  }

  /** Gives up the stream's oldest packet (it holds one). */
  #releaseOldest(stream: Stream): void {
    for (;;) {
      const index = stream.slots[stream.oldest & this.#mask]!;
      stream.oldest = (stream.oldest + 1) & 0xffff;
      if (index >= 0 && this.#seq[index] === ((stream.oldest - 1) & 0xffff)) {
        this.#release(stream, index);
        return;
      }
    }
  }

  #freeStream(stream: Stream): void {
    for (let slot = 0; slot < stream.slots.length; slot++) if (stream.slots[slot]! >= 0) this.#release(stream, stream.slots[slot]!);
  }

  #release(stream: Stream, index: number): void {
    const slot = this.#seq[index]! & this.#mask;
    if (stream.slots[slot] === index) stream.slots[slot] = -1;
    if (--stream.live === 0) this.#holding--;
    stream.bytes -= this.#length[index]!;
    this.#count--;
    this.#bytes -= this.#length[index]!;
    this.#free[this.#freeCount++] = index;
  }
}
