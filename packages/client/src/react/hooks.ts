import { useEffect, useRef, useSyncExternalStore } from 'react';
import type {
  ConnectionState,
  NotificationClient,
  NotificationHandler,
  NotificationType,
  ResyncData,
  TabsInfo,
} from '../index.js';
import { useProviderValue } from './context.js';
import { type ListedNotification, serverSnapshot } from './store.js';

/** The latest `value` in a ref, so a subscription made once always calls the newest handler. */
function useLatest<T>(value: T): { current: T } {
  const ref = useRef(value);
  useEffect(() => {
    ref.current = value;
  });
  return ref;
}

/** The provider's client, for what the hooks do not cover. */
export function useNotificationClient(): NotificationClient {
  return useProviderValue('useNotificationClient').client;
}

/**
 * Calls `handler` for every notification of `type`, with its typed data. `handler` may be a new
 * function on every render: the subscription stays, the newest handler is called.
 */
export function useNotification<T extends NotificationType>(
  type: T,
  handler: NotificationHandler<T>,
): void {
  const { client } = useProviderValue('useNotification');
  const latest = useLatest(handler);
  useEffect(
    () => client.on(type, (data, message, delivery) => latest.current(data, message, delivery)),
    [client, type, latest],
  );
}

/** Calls `handler` when the client could not replay what it missed: refetch your own list. */
export function useResync(handler: (resync: ResyncData) => void): void {
  const { client } = useProviderValue('useResync');
  const latest = useLatest(handler);
  useEffect(() => client.onResync((resync) => latest.current(resync)), [client, latest]);
}

/** The connection's state, re-rendering when it changes: drive a "live / offline" badge. */
export function useConnectionState(): ConnectionState {
  const { client } = useProviderValue('useConnectionState');
  return useSyncExternalStore(
    (onChange) => client.onStateChange(onChange),
    () => client.state,
    () => 'idle',
  );
}

/** How this tab shares the connection (leader, tab count), or undefined while it does not. */
export function useTabs(): TabsInfo | undefined {
  const { client } = useProviderValue('useTabs');
  return useSyncExternalStore(
    (onChange) => client.onTabsChange(onChange),
    () => client.tabs,
    () => undefined,
  );
}

/**
 * The notifications received so far (the provider keeps the last `listLimit`), oldest first, for
 * a notification centre. With the provider's `recent`, the first paint already lists the last
 * ones from the user's history; live ones are added as they come.
 */
export function useNotificationList(): readonly ListedNotification[] {
  const { store } = useProviderValue('useNotificationList');
  return useSyncExternalStore(store.subscribe, store.getSnapshot, serverSnapshot);
}
