// A minimal typed event emitter whose listener exceptions are logged, never thrown (safeEmit).

export type EventMap = Record<string, unknown[]>;

type Listener = (...args: unknown[]) => void;

export class TypedEmitter<E extends EventMap> {
  readonly #listeners = new Map<keyof E, Set<Listener>>();

  constructor(private readonly onListenerError: (event: string, error: unknown) => void) {}

  /** Adds a listener and returns its remover (register it with the owner's disposer). */
  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    const stored = listener as unknown as Listener;
    set.add(stored);
    return () => {
      set.delete(stored);
    };
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        listener(...args);
      } catch (error) {
        this.onListenerError(String(event), error);
      }
    }
  }

  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}
