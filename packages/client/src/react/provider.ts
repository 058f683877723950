import { createElement, type ReactNode, useEffect, useRef, useState } from 'react';
import { createNotificationClient, type NotificationClientOptions } from '../client.js';
import { NotificationContext, type ProviderValue } from './context.js';
import { createNotificationStore } from './store.js';

/** Stands in for the WebSocket class while rendering on a server, where nothing connects. */
class ServerSide {}

/** Props of {@link NotificationProvider}: the client's options, the list's length, children. */
export interface NotificationProviderProps extends NotificationClientOptions {
  /** How many notifications `useNotificationList` keeps. Default 50. */
  listLimit?: number;
  children?: ReactNode;
}

/**
 * Holds one client for everything below it: it connects on mount and closes on unmount, however
 * many hooks use it. The options are read once; a new `getToken` function on a later render is
 * used from the next token request on without reconnecting. To connect as another user or to
 * another url, give the provider a `key` (e.g. the user's id): a new key is a new client.
 */
export function NotificationProvider(props: NotificationProviderProps): ReactNode {
  const { children, listLimit = 50, ...options } = props;
  const getToken = useRef(options.getToken);
  getToken.current = options.getToken;
  const [value] = useState((): ProviderValue => {
    const client = createNotificationClient({
      ...options,
      getToken: (context) => getToken.current(context),
      // Server rendering (Node 20 has no WebSocket) runs no effects, so nothing connects there.
      WebSocket: options.WebSocket ?? (globalThis.WebSocket ? undefined : ServerSide),
    });
    return { client, store: createNotificationStore(client, listLimit) };
  });
  useEffect(() => {
    // StrictMode's mount, unmount, mount runs connect, close, connect in one go: the first
    // connect is still waiting for its token when close() ends it, so no socket is left over.
    value.client.connect();
    return () => value.client.close();
  }, [value]);
  return createElement(NotificationContext.Provider, { value }, children);
}
