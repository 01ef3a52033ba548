/** The participant list's order: raised hands first (earliest first), then ourselves, then join order. */
import type { Participant } from '../../conference/model.ts';

export function sortForList(participants: readonly Participant[]): Participant[] {
  const order = new Map(participants.map((p, i) => [p.id, i]));
  return [...participants].sort((a, b) => {
    const ha = a.raisedHandAt ?? Infinity;
    const hb = b.raisedHandAt ?? Infinity;
    if (ha !== hb) return ha - hb;
    if (a.local !== b.local) return a.local ? -1 : 1;
    return (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0);
  });
}
