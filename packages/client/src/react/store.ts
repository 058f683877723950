import type { AnyNotification, Delivery, NotificationClient } from '../client.js';

/** A notification as the list hook returns it: the message and how it came. */
export interface ListedNotification {
  message: AnyNotification;
  delivery: Delivery;
}

/** The notifications a provider has received, as a `useSyncExternalStore` source. */
export interface NotificationStore {
  /** Calls `onChange` when the list changes; returns the unsubscribe function. */
  subscribe(onChange: () => void): () => void;
  /** The list, oldest first; a new array after every change, the same one in between. */
  getSnapshot(): readonly ListedNotification[];
}

const EMPTY: readonly ListedNotification[] = [];

/** Keeps the last `limit` notifications `client` delivers, from before its first connect on. */
export function createNotificationStore(
  client: NotificationClient,
  limit: number,
): NotificationStore {
  let list = EMPTY;
  const listeners = new Set<() => void>();
  client.onAny((message, delivery) => {
    list = [...list, { message, delivery }].slice(-limit);
    for (const listener of [...listeners]) listener();
  });
  return {
    subscribe(onChange) {
      listeners.add(onChange);
      return () => {
        listeners.delete(onChange);
      };
    },
    getSnapshot: () => list,
  };
}

/** The server has no notifications: the list hook's snapshot during server rendering. */
export const serverSnapshot = () => EMPTY;
