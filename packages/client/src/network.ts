/** The browser's view of the network, or "always online" where there is none (Node). */
export interface NetworkWatch {
  /** False only when the browser says there is no network (`navigator.onLine === false`). */
  isOnline(): boolean;
  /** Stops listening to `online` / `offline`. */
  stop(): void;
}

interface EventScope {
  addEventListener?: (type: string, listener: () => void) => void;
  removeEventListener?: (type: string, listener: () => void) => void;
  navigator?: { onLine?: boolean };
}

/**
 * Follows the browser's `online` / `offline` events and calls `onChange` with the new value.
 * Without `window` / `navigator` (Node, some workers) the network counts as always online.
 */
export function watchNetwork(onChange: (online: boolean) => void): NetworkWatch {
  const scope = globalThis as EventScope;
  const isOnline = () => scope.navigator?.onLine !== false;
  const online = () => onChange(true);
  const offline = () => onChange(false);
  scope.addEventListener?.('online', online);
  scope.addEventListener?.('offline', offline);
  return {
    isOnline,
    stop() {
      scope.removeEventListener?.('online', online);
      scope.removeEventListener?.('offline', offline);
    },
  };
}
