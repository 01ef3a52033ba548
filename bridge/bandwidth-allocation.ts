/**
 * Which simulcast layer of each video source a receiver can afford (jitsi-protocol.md §8.4;
 * jitsi-videobridge's BandwidthAllocator and doc/allocation.md): with the receiver's bandwidth
 * estimate (bridge/bwe/) as the budget and its sources in rank order (on-stage, selected, speakers,
 * the rest: bridge/forwarding.ts), first every source gets its lowest layer while the budget lasts,
 * then each in rank order goes up as far as its wanted height and the rest of the budget allow —
 * the one on stage is served first.
 *
 * A source whose lowest layer no longer fits is suspended (cap 0): the receiver is sent nothing of
 * it and is told so by ForwardedSources, as JVB does, rather than have a link too thin for all of
 * them lose packets of every stream, its audio included. It comes back when the budget covers its
 * lowest layer by RESUME_MARGIN, so that an estimate hovering at the edge does not turn it off and
 * on (each return costs a keyframe). Deviation from JVB, which may oversend only the source on
 * stage (allow-oversend-onstage): the first-ranked source with a layer arriving is never
 * suspended, whether or not it is on stage. Its packets are what probes the path (the bridge probes
 * with copies of what a receiver is sent), so a receiver whose every source was suspended would
 * never see its estimate grow again. A layer whose bitrate is not measured yet (0) is left out
 * while another layer of the source is measured, as JVB leaves out inactive layers: its cost is
 * unknown, and taken as nothing it went to a receiver of any budget (a layer Chrome has just turned
 * on is measured within a second). When no layer of a source is measured yet, every layer costs
 * nothing, so a source starting up is neither held down nor suspended.
 * Pure: the conference gives the estimate and each source's arriving layers.
 */

/** A suspended source comes back once the budget left covers its lowest layer's bitrate times this. */
export const RESUME_MARGIN = 1.25;

/** One of a receiver's video sources, as the allocation sees it. */
export interface AllocationSource {
  name: string;
  /** The height the receiver's constraints allow (> 0). */
  wantedHeight: number;
  /** The layers arriving, lowest first: their heights and measured bitrates (bps, 0 = unknown). */
  layers: ReadonlyArray<{ height: number; bitrate: number }>;
  /** Whether the previous allocation suspended it: coming back takes RESUME_MARGIN of its lowest layer. */
  suspended?: boolean;
}

/** What the allocation gives, and what the sources would take with no limit (for probing). */
export interface Allocation {
  /** Source name → the height of the layer the budget allows; 0 for a suspended source. */
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
 * that source), 0 for a source suspended. Sources without an arriving layer are left out (nothing
 * to choose yet).
 */
export function allocateBandwidth(estimateBps: number, sources: readonly AllocationSource[]): Map<string, number> {
  const budget = { left: Math.max(0, estimateBps) };
  const SUSPENDED = -2;
  const chosen = new Array<number>(sources.length).fill(-1);
  const candidates = sources.map((source) => (source.layers.some((l) => l.bitrate > 0) ? source.layers.filter((l) => l.bitrate > 0) : source.layers));
  let first = true;
  // Pass 1: the lowest layer of each, in rank order, while it fits; the first one always (see the
  // file comment), which may leave the budget below zero for the others.
  sources.forEach((source, i) => {
    const lowest = candidates[i]![0];
    if (!lowest) return;
    const fits = lowest.bitrate === 0 || lowest.bitrate * (source.suspended ? RESUME_MARGIN : 1) <= budget.left;
    if (!first && !fits) {
      chosen[i] = SUSPENDED;
      return;
    }
    first = false;
    chosen[i] = 0;
    budget.left -= lowest.bitrate;
  });
  // Pass 2: up, in rank order, while a taller layer fits the wanted height and the budget.
  sources.forEach((source, i) => {
    const layers = candidates[i]!;
    let current = chosen[i]!;
    if (current < 0) return;
    for (let next = current + 1; next < layers.length; next++) {
      const layer = layers[next]!;
      if (layer.height > source.wantedHeight) break;
      const extra = layer.bitrate - layers[current]!.bitrate;
      if (extra > 0 && extra > budget.left) break; // none measured yet: nothing, even when the first source overran the budget
      budget.left -= extra;
      current = next;
    }
    chosen[i] = current;
  });
  const caps = new Map<string, number>();
  sources.forEach((source, i) => {
    const index = chosen[i]!;
    if (index === SUSPENDED) caps.set(source.name, 0);
    else if (index >= 0) caps.set(source.name, candidates[i]![index]!.height);
  });
  return caps;
}
