import { createDispatch } from './dispatch.js';
import { canShareTabs, createSharedConnection } from './shared.js';
import { createSocketConnection } from './socket.js';
import type { NotificationClient, NotificationClientOptions } from './types.js';

export type {
  AnyNotification,
  Delivery,
  NotificationClient,
  NotificationClientOptions,
  NotificationHandler,
  TabsInfo,
  TokenContext,
  WebSocketConstructor,
} from './types.js';

/**
 * Creates a client for the notification service. It does nothing until `connect()`; then it stays
 * connected through network drops, deploys and token expiry, following the protocol's close-code
 * table, and hands every valid notification to the handlers. Where the browser allows it, the
 * tabs of one user share one connection (`shareAcrossTabs`).
 */
export function createNotificationClient(options: NotificationClientOptions): NotificationClient {
  const { sink, subscriptions } = createDispatch();
  const connection = (canShareTabs(options) ? createSharedConnection : createSocketConnection)(
    options,
    sink,
  );
  return {
    get state() {
      return connection.state;
    },
    get position() {
      return connection.position;
    },
    get tabs() {
      return connection.tabs;
    },
    connect: () => connection.connect(),
    close: () => connection.close(),
    ...subscriptions,
  };
}
