// The protocol's types, so an app can type its handlers without a second import.
export type {
  Category,
  Envelope,
  Notification,
  NotificationData,
  NotificationType,
  Priority,
  ResyncData,
  ResyncReason,
  SyncedData,
} from '@huleedu/ws-protocol';
export { type Backoff, type BackoffOptions, createBackoff } from './backoff.js';
export {
  type AnyNotification,
  createNotificationClient,
  type Delivery,
  type NotificationClient,
  type NotificationClientOptions,
  type NotificationHandler,
  type TabsInfo,
  type TokenContext,
  type WebSocketConstructor,
} from './client.js';
export type { ClientError, ClientErrorCode } from './errors.js';
export type { Listener, Unsubscribe } from './events.js';
export type { HistoryPosition } from './position.js';
export { type ConnectionState, type StateInfo, transitions } from './state.js';
