/** A listener for events whose arguments are `Args`. */
export type Listener<Args extends unknown[]> = (...args: Args) => void;

/** Stops a listener from being called; calling it twice is harmless. */
export type Unsubscribe = () => void;

/**
 * A typed event emitter: event name -> argument tuple. A listener that throws does not stop the
 * others; the throw goes to `onListenerError`, so app bugs never break delivery.
 */
export interface Emitter<Events extends Record<string, unknown[]>> {
  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): Unsubscribe;
  /** Calls every listener of `name`, in the order they were added. */
  emit<K extends keyof Events>(name: K, ...args: Events[K]): void;
}

/** Creates an {@link Emitter}; `onListenerError` receives whatever a listener throws. */
export function createEmitter<Events extends Record<string, unknown[]>>(
  onListenerError: (thrown: unknown, name: keyof Events) => void,
): Emitter<Events> {
  const listeners = new Map<keyof Events, Set<Listener<never>>>();
  return {
    on(name, listener) {
      const set = listeners.get(name) ?? new Set();
      listeners.set(name, set);
      // Wrap so that adding the same function twice gives two independent subscriptions.
      const entry: Listener<Events[typeof name]> = (...args) => listener(...args);
      set.add(entry);
      return () => {
        set.delete(entry);
      };
    },
    emit(name, ...args) {
      const set = listeners.get(name);
      if (!set) return;
      // Copy: a listener may unsubscribe itself or others while we iterate.
      for (const listener of [...set] as Listener<typeof args>[]) {
        try {
          listener(...args);
        } catch (thrown) {
          onListenerError(thrown, name);
        }
      }
    },
  };
}
