// Typed listener sets for transport objects: a listener that throws is logged at error and does not
// stop the others, nor the packet or timer that emitted the event (safeEmit).

import type { Logger } from 'pino';

/** Any listener signature; each event's own is fixed by the events map. */
type Listener = (...args: any[]) => void;

export class TypedEvents<Events extends { [K in keyof Events]: Listener }> {
  /**
   * Per event, its listeners as an array replaced (never changed) when one is added or removed:
   * emit() runs over the array it found, so a listener added or removed by another one during an
   * emit takes effect from the next, and an emit (once per RTP packet) allocates nothing.
   */
  readonly #listeners = new Map<keyof Events, readonly Listener[]>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Adds a listener (once: adding it again changes nothing); returns the function that removes it (register it with the owner's disposer). */
  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    const listeners = this.#listeners.get(event) ?? [];
    if (!listeners.includes(listener)) this.#listeners.set(event, [...listeners, listener]);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Events[K]): void {
    const listeners = this.#listeners.get(event);
    if (!listeners?.includes(listener)) return;
    const rest = listeners.filter((l) => l !== listener);
    if (rest.length === 0) this.#listeners.delete(event);
    else this.#listeners.set(event, rest);
  }

  emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    const listeners = this.#listeners.get(event);
    if (!listeners) return;
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i]!(...args);
      } catch (err) {
        this.#log.error({ err, event: String(event) }, 'transport event listener failed');
      }
    }
  }

  /** Number of listeners, for tests that check everything was removed. */
  get size(): number {
    let n = 0;
    for (const listeners of this.#listeners.values()) n += listeners.length;
    return n;
  }

  clear(): void {
    this.#listeners.clear();
  }
}
