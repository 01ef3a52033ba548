// What the media socket's read sent an endpoint itself (salon_media.cc SendLogMemory, through the
// endpoint's send target): per packet its transport-wide sequence number, RTP length and send
// time, read by the endpoint's bandwidth estimation (ReceiverBandwidth) before anything that
// depends on what it was sent. The next transport-wide sequence number of the endpoint's transport
// is kept in the same memory, so that JavaScript's own sends and the read's share one numbering.

import { SEND_LOG_FIELDS, type SendTarget } from '../native/index.ts';

/** One packet the read sent: `sendMs` on performance.now()'s clock. */
export type LoggedSend = (sequence: number, size: number, sendMs: number) => void;

/** What ReceiverBandwidth reads of a send log. */
export interface SendLogReader {
  /** The next transport-wide sequence number (16 bits): JavaScript's sends take theirs here too, after reading what waits. */
  sequence: number;
  /** Records waiting to be read. */
  readonly waiting: number;
  /** Hands every waiting record to `onSent`, oldest first, and empties the log. */
  drain(onSent: LoggedSend): void;
}

/** The log of one endpoint's send target. */
export class SendLog implements SendLogReader {
  readonly #target: SendTarget;
  /** The log's arrays, held here: read once or more per packet sent. */
  readonly #times: Float64Array;
  readonly #fields: Int32Array;
  readonly #state: Int32Array;

  constructor(target: SendTarget) {
    this.#target = target;
    ({ times: this.#times, fields: this.#fields, state: this.#state } = target.log);
  }

  get sequence(): number {
    return this.#state[0]!;
  }

  set sequence(sequence: number) {
    this.#state[0] = sequence & 0xffff;
  }

  get waiting(): number {
    return this.#state[1]!;
  }

  drain(onSent: LoggedSend): void {
    const state = this.#state;
    const count = state[1]!;
    if (count === 0) return;
    // Emptied first: nothing is read twice if onSent throws.
    state[1] = 0;
    const times = this.#times;
    const fields = this.#fields;
    const offset = this.#target.monotonicOffset();
    for (let i = 0, f = 0; i < count; i++, f += SEND_LOG_FIELDS) onSent(fields[f]!, fields[f + 1]!, times[i]! - offset);
  }
}
