// Who asked a sender for which packet, so that its retransmission (RTX) goes to them only: the
// receivers whose NACKs the bridge passed on, and the bridge itself when it asked for a packet lost
// on the way in (then every receiver with a slot for it lacks it).
//
// Bounded, and constant work per request whatever its contents: the requests are kept in the
// order of their last asking (a Map keeps insertion order, and a request asked again is moved to
// the back), so the oldest are at the front; when the table is full the oldest give way, expired
// or not. Before, a full table was searched whole for expired requests at each new one, and new
// requests were not noted while none had expired: a sender whose sequence numbers jumped by 100
// kept it full, each of its packets then cost 99 searches of 8,192 entries (milliseconds), and no
// retransmission reached anyone meanwhile.

/** One packet asked of a sender. */
export interface RetransmissionRequest {
  /** Receivers that NACKed it. */
  readonly receivers: Set<string>;
  /** Whether the bridge asked for it itself. */
  bridge: boolean;
  /** When it was last asked (ms). */
  at: number;
}

export class RetransmissionRequests {
  /** (SSRC × 65536 + sequence number) → its request, oldest asking first. */
  readonly #requests = new Map<number, RetransmissionRequest>();
  readonly #capacity: number;
  readonly #lifetimeMs: number;

  /** `lifetimeMs`: how long a request counts after it was asked; `capacity`: requests kept at most. */
  constructor(capacity: number, lifetimeMs: number) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError(`capacity must be a positive integer, not ${capacity}`);
    this.#capacity = capacity;
    this.#lifetimeMs = lifetimeMs;
  }

  get size(): number {
    return this.#requests.size;
  }

  /**
   * Notes that (ssrc, sequence) is asked of its sender for `receiverId` (for the bridge itself
   * when undefined). Returns how long ago it was asked already (Infinity: it was not, or that
   * request expired); a request asked again `retryIntervalMs` or more after its last asking counts
   * as asked now.
   */
  expect(ssrc: number, sequence: number, receiverId: string | undefined, now: number, retryIntervalMs: number): number {
    const key = ssrc * 65536 + sequence;
    const requests = this.#requests;
    const known = requests.get(key);
    if (known && now - known.at < this.#lifetimeMs) {
      if (receiverId !== undefined) known.receivers.add(receiverId);
      else known.bridge = true;
      const age = now - known.at;
      if (age >= retryIntervalMs) {
        known.at = now;
        requests.delete(key); // to the back: the order stays that of the last asking
        requests.set(key, known);
      }
      return age;
    }
    if (known) requests.delete(key);
    for (const oldest of requests.keys()) {
      if (requests.size < this.#capacity) break;
      requests.delete(oldest);
    }
    requests.set(key, { receivers: new Set(receiverId === undefined ? [] : [receiverId]), bridge: receiverId === undefined, at: now });
    return Number.POSITIVE_INFINITY;
  }

  /** The live request for (ssrc, sequence), if any. */
  get(ssrc: number, sequence: number, now: number): RetransmissionRequest | undefined {
    const request = this.#requests.get(ssrc * 65536 + sequence);
    return request && now - request.at < this.#lifetimeMs ? request : undefined;
  }

  /** The live request for (ssrc, sequence), taken out (its retransmission came); undefined when none. */
  take(ssrc: number, sequence: number, now: number): RetransmissionRequest | undefined {
    const key = ssrc * 65536 + sequence;
    const request = this.#requests.get(key);
    if (!request) return undefined;
    this.#requests.delete(key);
    return now - request.at < this.#lifetimeMs ? request : undefined;
  }

  delete(ssrc: number, sequence: number): void {
    this.#requests.delete(ssrc * 65536 + sequence);
  }
}
