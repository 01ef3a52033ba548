/**
 * "Route loudest only": in a big room, the bridge forwards only the audio of the few loudest
 * speakers (jitsi-videobridge's `videobridge.loudest` settings: route-loudest-only, num-loudest 3,
 * always-route-dominant, energy expiry 150 ms, energy smoothing 50 %). Every other audio packet stops
 * at the bridge: each receiver decodes a handful of streams instead of one per participant, and
 * the bridge encrypts and sends that many fewer packets — with audio being most of the packets in
 * a large room of mostly muted cameras.
 *
 * Loudness is the RFC 6464 level each packet carries (0 = 0 dBov, the loudest; 127 = silence),
 * smoothed per endpoint; an endpoint that sent nothing for {@link ENERGY_EXPIRY_MS} (muted, gone)
 * no longer counts. A packet passes when its sender is among the `count` loudest of those that
 * count, or is the dominant speaker (the dominant-speaker detector's choice, which has hysteresis:
 * the one on screen is never cut). Pure: time and levels come from the caller.
 */

/** An endpoint silent this long no longer competes (JVB: energy-expire-time 150 ms). */
export const ENERGY_EXPIRY_MS = 150;
/** Weight of the newest level in the smoothed loudness (JVB: energy-alpha-pct 50). */
const ALPHA = 0.5;

interface Energy {
  readonly id: string;
  loudness: number;
  at: number;
}

export class LoudestAudio {
  readonly #energies = new Map<string, Energy>();

  /** @param count how many of the loudest are forwarded (≥ 1). */
  constructor(readonly count: number) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`loudest audio count ${count} is not a positive integer`);
  }

  /**
   * One audio packet of `id` with its RFC 6464 byte `level` (the V bit and the level 0..127) at
   * `now`: whether to forward it. `dominant`: the dominant speaker's id. A packet without a level
   * (-1: a gateway, or an answer without the extension) is forwarded and changes nothing, as in
   * JVB, which ranks only packets that carry one: taken as silence, a sender without levels was
   * never heard once the room had more senders than `count`, talking or not.
   */
  levelReceived(id: string, level: number, now: number, dominant: string | undefined): boolean {
    if (level < 0) return true;
    // The byte read from the packet: the V (voice activity) bit on top of the 7-bit level.
    const loudness = 127 - (level & 0x7f);
    let energy = this.#energies.get(id);
    if (!energy) this.#energies.set(id, (energy = { id, loudness, at: now }));
    else {
      // A sender back from silence starts from its level, not from a stale average.
      energy.loudness = now - energy.at > ENERGY_EXPIRY_MS ? loudness : ALPHA * loudness + (1 - ALPHA) * energy.loudness;
      energy.at = now;
    }
    if (id === dominant || this.#energies.size <= this.count) return true;
    let louder = 0;
    // Over the values (each holding its id): entries() would make a pair per endpoint per packet.
    for (const e of this.#energies.values()) {
      if (e === energy || now - e.at > ENERGY_EXPIRY_MS) continue;
      // Equal loudness (digital silence from many muted microphones) is ordered by id, so the
      // number forwarded stays bounded and the choice does not flap between packets.
      const ahead = e.loudness > energy.loudness || (e.loudness === energy.loudness && e.id < id);
      if (ahead && ++louder >= this.count) return false;
    }
    return true;
  }

  /** Forgets an endpoint that left. */
  remove(id: string): void {
    this.#energies.delete(id);
  }

  /** Endpoints with state, for leak checks. */
  get size(): number {
    return this.#energies.size;
  }
}
