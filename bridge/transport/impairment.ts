// A test-only network impairment for the datagrams between the bridge's media socket and one remote
// address: random loss, a blackout (everything dropped for a while) and a bottleneck (a token bucket
// feeding a bounded queue, so that packets are first delayed, and dropped only when the queue is
// full, as on a real congested link: delay-based bandwidth estimation (GCC's trendline) then sees
// growing delay, not just loss). Each direction is its own link with its own bucket and queue.
//
// Nothing in configuration or on the network reaches this: only code holding the MediaTransport
// (tests) sets it, through MediaTransport.impair(). The kernel's netem is not available where the
// tests run, hence impairment at the socket.

import type { Clock } from './clock.ts';

export interface ImpairmentSpec {
  /** Probability in [0, 1] that a datagram is dropped, drawn independently per datagram and direction. */
  loss?: number;
  /** Drops every datagram, both ways, for this many milliseconds from when the impairment is set. */
  blackoutMs?: number;
  /** Bottleneck rate of each direction in bits per second (IP payload, UDP headers not counted). */
  rateBps?: number;
  /** Burst the bucket holds when idle, bytes; default the larger of 3000 and 20 ms at `rateBps`. */
  burstBytes?: number;
  /** Bytes the queue holds before tail drop; default the larger of 2 × burst and 300 ms at `rateBps`. */
  queueBytes?: number;
  /** Uniform random numbers in [0, 1) for `loss`; default Math.random. Tests pass a seeded one. */
  random?: () => number;
}

export type ImpairmentDirection = 'in' | 'out';

/** What happened to the datagrams of one direction. */
export interface ImpairmentCounters {
  /** Handed on (at once or after queueing). */
  passed: number;
  /** Dropped by the random loss. */
  lost: number;
  /** Dropped during the blackout. */
  blackedOut: number;
  /** Dropped because the bottleneck's queue was full. */
  queueDropped: number;
  /** Held in the queue before being handed on. */
  delayed: number;
  /** Largest queue occupancy seen, bytes. */
  maxQueuedBytes: number;
}

type Deliver = (data: Buffer) => void;

/** One direction's token bucket and FIFO: a packet goes when the bucket holds its size. */
class Bottleneck {
  readonly #bytesPerMs: number;
  readonly #burst: number;
  readonly #limit: number;
  readonly #clock: Clock;
  readonly #counters: ImpairmentCounters;
  readonly #queue: Array<{ data: Buffer; deliver: Deliver }> = [];
  #queuedBytes = 0;
  #tokens: number;
  #last: number;
  #cancelTimer: (() => void) | undefined;

  constructor(rateBps: number, spec: ImpairmentSpec, clock: Clock, counters: ImpairmentCounters) {
    this.#bytesPerMs = rateBps / 8000;
    this.#burst = spec.burstBytes ?? Math.max(3000, 20 * this.#bytesPerMs);
    this.#limit = spec.queueBytes ?? Math.max(2 * this.#burst, 300 * this.#bytesPerMs);
    this.#clock = clock;
    this.#counters = counters;
    this.#tokens = this.#burst;
    this.#last = clock.now();
  }

  offer(data: Buffer, deliver: Deliver): void {
    this.#refill();
    if (this.#queue.length === 0 && this.#tokens >= data.length) {
      this.#tokens -= data.length;
      this.#counters.passed++;
      deliver(data);
      return;
    }
    if (this.#queuedBytes + data.length > this.#limit) {
      this.#counters.queueDropped++;
      return;
    }
    this.#queue.push({ data, deliver });
    this.#queuedBytes += data.length;
    this.#counters.delayed++;
    this.#counters.maxQueuedBytes = Math.max(this.#counters.maxQueuedBytes, this.#queuedBytes);
    this.#arm();
  }

  /** Hands on what is queued at once (the impairment was lifted). */
  flush(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    for (const { data, deliver } of this.#queue.splice(0)) {
      this.#counters.passed++;
      deliver(data);
    }
    this.#queuedBytes = 0;
  }

  /** Drops what is queued and stops the timer (the transport is closing). */
  discard(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens += (now - this.#last) * this.#bytesPerMs;
    this.#last = now;
    // A backlog keeps every token it earns (a late timer must not lower the link's rate);
    // an idle link holds at most one burst.
    if (this.#queue.length === 0 && this.#tokens > this.#burst) this.#tokens = this.#burst;
  }

  #arm(): void {
    if (this.#cancelTimer) return;
    const head = this.#queue[0];
    if (!head) return;
    const waitMs = Math.max(0, Math.ceil((head.data.length - this.#tokens) / this.#bytesPerMs));
    this.#cancelTimer = this.#clock.setTimeout(() => {
      this.#cancelTimer = undefined;
      this.#drain();
    }, waitMs);
  }

  #drain(): void {
    this.#refill();
    for (let head = this.#queue[0]; head && this.#tokens >= head.data.length; head = this.#queue[0]) {
      this.#queue.shift();
      this.#tokens -= head.data.length;
      this.#queuedBytes -= head.data.length;
      this.#counters.passed++;
      head.deliver(head.data);
    }
    if (this.#queue.length === 0 && this.#tokens > this.#burst) this.#tokens = this.#burst;
    this.#arm();
  }
}

function emptyCounters(): ImpairmentCounters {
  return { passed: 0, lost: 0, blackedOut: 0, queueDropped: 0, delayed: 0, maxQueuedBytes: 0 };
}

/** The impairment of one remote address, both directions. */
export class LinkImpairment {
  readonly spec: Readonly<ImpairmentSpec>;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #blackoutUntil: number;
  readonly #counters: Record<ImpairmentDirection, ImpairmentCounters> = { in: emptyCounters(), out: emptyCounters() };
  readonly #bottlenecks: Record<ImpairmentDirection, Bottleneck> | undefined;

  constructor(spec: ImpairmentSpec, clock: Clock) {
    if (spec.loss !== undefined && !(spec.loss >= 0 && spec.loss <= 1)) throw new RangeError(`loss ${spec.loss} is not in [0, 1]`);
    if (spec.rateBps !== undefined && !(spec.rateBps > 0)) throw new RangeError(`rateBps ${spec.rateBps} is not positive`);
    if (spec.blackoutMs !== undefined && !(spec.blackoutMs >= 0)) throw new RangeError(`blackoutMs ${spec.blackoutMs} is negative`);
    this.spec = { ...spec };
    this.#clock = clock;
    this.#random = spec.random ?? Math.random;
    this.#blackoutUntil = clock.now() + (spec.blackoutMs ?? 0);
    this.#bottlenecks = spec.rateBps === undefined ? undefined : {
      in: new Bottleneck(spec.rateBps, spec, clock, this.#counters.in),
      out: new Bottleneck(spec.rateBps, spec, clock, this.#counters.out),
    };
  }

  /** One datagram in `direction`: dropped, handed to `deliver` now, or later from a timer. */
  pass(direction: ImpairmentDirection, data: Buffer, deliver: Deliver): void {
    const counters = this.#counters[direction];
    if (this.#clock.now() < this.#blackoutUntil) {
      counters.blackedOut++;
      return;
    }
    if (this.spec.loss && this.#random() < this.spec.loss) {
      counters.lost++;
      return;
    }
    if (this.#bottlenecks) {
      this.#bottlenecks[direction].offer(data, deliver);
      return;
    }
    counters.passed++;
    deliver(data);
  }

  /** Whether the blackout is still on. */
  get blackedOut(): boolean {
    return this.#clock.now() < this.#blackoutUntil;
  }

  counters(direction: ImpairmentDirection): Readonly<ImpairmentCounters> {
    return { ...this.#counters[direction] };
  }

  queuedBytes(direction: ImpairmentDirection): number {
    return this.#bottlenecks?.[direction].queuedBytes ?? 0;
  }

  /** Lifted: whatever waits in the queues goes now. */
  flush(): void {
    this.#bottlenecks?.in.flush();
    this.#bottlenecks?.out.flush();
  }

  /** Closing: whatever waits is dropped, no timer is left. */
  discard(): void {
    this.#bottlenecks?.in.discard();
    this.#bottlenecks?.out.discard();
  }
}
