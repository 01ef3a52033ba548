/**
 * Which simulcast layer of each video source a receiver can afford (jitsi-protocol.md §8.4;
 * jitsi-videobridge's BandwidthAllocator does the same in two passes): with the receiver's
 * bandwidth estimate (bridge/bwe/) as the budget and its sources in rank order (on-stage, selected,
 * speakers, the rest: bridge/forwarding.ts), first every source gets its lowest layer while the
 * budget lasts, then each in rank order goes up as far as its wanted height and the rest of the
 * budget allow — the one on stage is served first.
 *
 * Deviation from JVB: a source that does not fit even with its lowest layer keeps that layer
 * instead of being suspended (which would need a ForwardedSources change and a keyframe to come
 * back). A layer whose bitrate is not measured yet
 * (0) costs nothing, so a source starting up is not held down.
 * Pure: the conference gives the estimate and each source's arriving layers.
 */

/** One of a receiver's video sources, as the allocation sees it. */
export interface AllocationSource {
  name: string;
  /** The height the receiver's constraints allow (> 0). */
  wantedHeight: number;
  /** The layers arriving, lowest first: their heights and measured bitrates (bps, 0 = unknown). */
  layers: ReadonlyArray<{ height: number; bitrate: number }>;
}

/** What the allocation gives, and what the sources would take with no limit (for probing). */
export interface Allocation {
  /** Source name → the height of the layer the budget allows. */
  caps: Map<string, number>;
  /** Bitrate of the chosen layers. */
  allocatedBps: number;
  /** Bitrate of the layers the wanted heights alone would choose. */
  idealBps: number;
}

/** {@link allocateBandwidth} with the bitrates it chose and would choose without a budget. */
export function allocate(estimateBps: number, sources: readonly AllocationSource[]): Allocation {
  const caps = allocateBandwidth(estimateBps, sources);
  let allocatedBps = 0;
  let idealBps = 0;
  for (const source of sources) {
    const cap = caps.get(source.name);
    if (cap === undefined) continue;
    let ideal = source.layers[0]!;
    for (const layer of source.layers) if (layer.height <= source.wantedHeight) ideal = layer;
    idealBps += ideal.bitrate;
    allocatedBps += source.layers.find((l) => l.height === cap)?.bitrate ?? 0;
  }
  return { caps, allocatedBps, idealBps };
}

/**
 * Source name → the height of the layer the budget allows (to be used as the receiver's cap for
 * that source). Sources without an arriving layer are left out (nothing to choose yet).
 */
export function allocateBandwidth(estimateBps: number, sources: readonly AllocationSource[]): Map<string, number> {
  const budget = { left: Math.max(0, estimateBps) };
  const chosen = new Array<number>(sources.length).fill(-1);
  // Pass 1: the lowest layer of each, in rank order; one that does not fit keeps it too (see the
  // file comment), and the budget left for going up shrinks accordingly.
  sources.forEach((source, i) => {
    const lowest = source.layers[0];
    if (!lowest) return;
    chosen[i] = 0;
    budget.left -= lowest.bitrate;
  });
  // Pass 2: up, in rank order, while a taller layer fits the wanted height and the budget.
  sources.forEach((source, i) => {
    let current = chosen[i]!;
    if (current < 0) return;
    for (let next = current + 1; next < source.layers.length; next++) {
      const layer = source.layers[next]!;
      if (layer.height > source.wantedHeight) break;
      const extra = layer.bitrate - source.layers[current]!.bitrate;
      if (extra > budget.left) break;
      budget.left -= extra;
      current = next;
    }
    chosen[i] = current;
  });
  const caps = new Map<string, number>();
  sources.forEach((source, i) => {
    const index = chosen[i]!;
    if (index >= 0) caps.set(source.name, source.layers[index]!.height);
  });
  return caps;
}
