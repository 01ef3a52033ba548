/**
 * What the bridge does when its one forwarding thread cannot keep up: it caps camera video, first
 * at 360p, then at 180p, and lifts the cap a step at a time once the load has stayed low for a
 * while. Without it, an overloaded bridge's socket buffer overflows and every stream loses packets
 * at random, audio included, and the NACKs and retransmissions that follow add load on top; with
 * it, everyone keeps every video, smaller, and the audio: in rooms of three, 360p is 2 packets a
 * frame where 720p is 5. Senders are told to stop the layers above the cap
 * (SenderSourceConstraints, and SenderVideoConstraints to clients before source names such as
 * lib-jitsi-meet 2.6726, except while VP9 is offered), so that the bridge receives less as well. A step is lifted when the load, times what
 * the step down relieved, has stayed low for a minute: a steady load is not lifted back into
 * overload, and the cap goes as participants leave.
 *
 * jitsi-videobridge has a load reducer too (`load-management`, off by default), which lowers
 * last-N: in rooms of three, where every receiver sees every sender, that hides a participant.
 * Screen shares are never capped (bridge/forwarding.ts).
 *
 * Fed the event loop's busy share every sampling interval (BridgeStats, 5 s); no timer of its own.
 */
import type { Logger } from 'pino';
import { LOAD_THRESHOLD } from './stats.ts';

/** The caps, one step after the other; undefined: none. */
export const CAMERA_CAPS: readonly (number | undefined)[] = [undefined, 360, 180];
/**
 * The stress a bridge announces while it caps video: the focus's overload threshold (0.8, as
 * Jicofo's), so that new conferences go to another bridge when there is one.
 */
export const CAPPED_STRESS = 0.8;
/** The most a step is credited with relieving. */
const MAX_RELIEF = 3;

export interface LoadReducerOptions {
  /** Applies a cap to every conference (ColibriService.setCameraMaxHeight). */
  apply(cameraMaxHeight: number | undefined): void;
  log: Logger;
  /** Busy share from which a step down is taken, when two samples in a row reach it; default LOAD_THRESHOLD (stress 1). */
  reduceAt?: number;
  /**
   * A step up is taken when the busy share it would bring (the share now times how much the step
   * down relieved) stays under this; default 0.8 × LOAD_THRESHOLD (stress 0.8, where the focus
   * calls a bridge overloaded).
   */
  recoverBelow?: number;
  /** After a change, how long before another step down (two samples in a row must reach reduceAt again anyway). Default 10 s. */
  settleMs?: number;
  /** How long that must have held, and since the last change, before a step up. Default 60 s (as JVB's impact time). */
  recoverAfterMs?: number;
  /**
   * After this long on a step, a lift is judged at face value (the busy share alone), in case what
   * the step down seemed to relieve was something else ending at the same time; if the lift
   * overloads the bridge again, it steps back down within an interval or two. Default 10 min.
   */
  maxHoldMs?: number;
}

export class LoadReducer {
  readonly #options: Required<Omit<LoadReducerOptions, 'apply' | 'log'>>;
  readonly #apply: (cameraMaxHeight: number | undefined) => void;
  readonly #log: Logger;
  #step = 0;
  #changedAt = -Infinity;
  /** Since when lifting a step would have kept the load under recoverBelow (the start of the first such interval); undefined: the last sample said no. */
  #lowSince: number | undefined;
  /** The last sample's time: the start of the next one's interval. */
  #lastAt: number | undefined;
  /**
   * Per step, how many times busier the bridge was before it stepped down to it than after: what
   * lifting it would bring back, so that a steady load is not lifted into overload again (1 until
   * measured; at most 3, about what 720p to 360p saves in rooms of three). The busy share before is
   * at most 1, so a demand beyond the thread's capacity is underestimated: a lift that overloads
   * again measures it anew, once.
   */
  readonly #relief: number[] = CAMERA_CAPS.map(() => 1);
  /** The busy share that made the last step down, until a whole interval after it is measured. */
  #before: number | undefined;
  /**
   * Samples in a row at reduceAt or more. A step down takes two (10 s): a burst of work, such as
   * many participants joining at once (their handshakes and signalling run on the same thread), is
   * not an overload to hold video down for.
   */
  #overloaded = 0;

  constructor(options: LoadReducerOptions) {
    this.#apply = options.apply;
    this.#log = options.log;
    this.#options = {
      reduceAt: options.reduceAt ?? LOAD_THRESHOLD,
      recoverBelow: options.recoverBelow ?? 0.8 * LOAD_THRESHOLD,
      settleMs: options.settleMs ?? 10_000,
      recoverAfterMs: options.recoverAfterMs ?? 60_000,
      maxHoldMs: options.maxHoldMs ?? 600_000,
    };
  }

  /** The cap in force; undefined: none. */
  get cameraMaxHeight(): number | undefined {
    return CAMERA_CAPS[this.#step];
  }

  /** One sample: the event loop's busy share over the interval that ended at `now` (ms, monotonic). */
  update(utilization: number, now: number): void {
    const o = this.#options;
    const intervalStart = this.#lastAt ?? now;
    this.#lastAt = now;
    if (this.#before !== undefined && intervalStart >= this.#changedAt) {
      this.#relief[this.#step] = Math.min(MAX_RELIEF, Math.max(1, this.#before / Math.max(utilization, 0.01)));
      this.#before = undefined;
    }
    const relief = now - this.#changedAt >= o.maxHoldMs ? 1 : this.#relief[this.#step]!;
    if (this.#step > 0 && utilization * relief < o.recoverBelow) this.#lowSince ??= Math.max(intervalStart, this.#changedAt);
    else this.#lowSince = undefined;
    this.#overloaded = utilization >= o.reduceAt ? this.#overloaded + 1 : 0;
    if (utilization >= o.reduceAt) {
      if (this.#overloaded >= 2 && this.#step < CAMERA_CAPS.length - 1 && now - this.#changedAt >= o.settleMs) {
        this.#before = utilization;
        this.#change(this.#step + 1, now, utilization);
      }
    } else if (this.#lowSince !== undefined && now - this.#lowSince >= o.recoverAfterMs) {
      this.#before = undefined;
      this.#change(this.#step - 1, now, utilization);
    }
  }

  #change(step: number, now: number, utilization: number): void {
    this.#step = step;
    this.#changedAt = now;
    this.#overloaded = 0;
    // A step up is judged afresh: the load under the new cap must stay low for a whole while again.
    this.#lowSince = undefined;
    const cap = CAMERA_CAPS[step];
    this.#log.warn({ utilization: Number(utilization.toFixed(3)), cameraMaxHeight: cap ?? 'none' }, cap === undefined ? 'bridge load is low again: camera video no longer capped' : `bridge overloaded: camera video capped at ${cap}p`);
    this.#apply(cap);
  }
}
