// Audio levels (RFC 6464) the conference reads from its endpoints' receive logs, kept until speech
// activity hears them in the order they arrived (conference.ts hearLoggedLevels).

/**
 * The levels read, with their endpoint and arrival, in columns kept from call to call: a tick
 * reads a few per endpoint, and an object per level or a sorted copy per tick made garbage at the
 * rate audio packets come.
 */
export class LoggedLevels {
  readonly ids: string[] = [];
  readonly levels: number[] = [];
  readonly arrivals: number[] = [];
  #order: number[] = [];
  #spare: number[] = [];
  readonly #runs: number[] = [];
  count = 0;

  push(id: string, level: number, arrival: number): void {
    const i = this.count++;
    this.ids[i] = id;
    this.levels[i] = level;
    this.arrivals[i] = arrival;
  }

  /**
   * The indexes of the levels by arrival, equal ones in the order they came (its first `count`).
   * A merge of the runs already in order: the levels are the logs' records one endpoint after
   * the other, each endpoint's in arrival order, so a tick's are as many runs as endpoints read.
   */
  sortByArrival(): readonly number[] {
    const n = this.count;
    const arrivals = this.arrivals;
    let from = this.#order;
    let to = this.#spare;
    const runs = this.#runs;
    let count = 0;
    for (let i = 0; i < n; i++) {
      from[i] = i;
      if (i === 0 || arrivals[i - 1]! > arrivals[i]!) runs[count++] = i;
    }
    runs[count] = n;
    while (count > 1) {
      let merged = 0;
      for (let r = 0; r < count; r += 2) {
        const low = runs[r]!;
        const middle = runs[r + 1]!;
        const high = r + 2 <= count ? runs[r + 2]! : middle;
        let i = low;
        let j = middle;
        let k = low;
        // The left one first on a tie: equal arrivals keep the order they came in.
        while (i < middle && j < high) to[k++] = arrivals[from[j]!]! < arrivals[from[i]!]! ? from[j++]! : from[i++]!;
        while (i < middle) to[k++] = from[i++]!;
        while (j < high) to[k++] = from[j++]!;
        runs[merged++] = low;
      }
      runs[merged] = n;
      count = merged;
      const swap = from;
      from = to;
      to = swap;
    }
    this.#order = from;
    this.#spare = to;
    return from;
  }

  clear(): void {
    // The ids go: a departed endpoint's id is not kept alive by a slot never written again.
    for (let i = 0; i < this.count; i++) this.ids[i] = '';
    this.count = 0;
  }
}
