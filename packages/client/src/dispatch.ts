import type {
  Notification,
  NotificationData,
  NotificationType,
  ResyncData,
} from '@huleedu/ws-protocol';
import type { ClientError } from './errors.js';
import { createEmitter } from './events.js';
import type { ConnectionState, StateInfo } from './state.js';
import type { AnyNotification, Delivery, NotificationClient, TabsInfo } from './types.js';

type NotificationEvents = {
  [T in NotificationType]: [
    data: NotificationData<T>,
    message: Notification<T>,
    delivery: Delivery,
  ];
};

/** The events a connection reports besides notifications, with their arguments. */
export type LifecycleEvents = {
  any: [message: AnyNotification, delivery: Delivery];
  resync: [resync: ResyncData];
  state: [state: ConnectionState, info: StateInfo];
  error: [error: ClientError];
  tabs: [tabs: TabsInfo | undefined];
};

/** Where a connection hands what it receives: this tab's handlers, or the tabs sharing it. */
export interface Sink {
  /** A valid notification; `known` when its type is in the catalogue (typed handlers run). */
  deliver(message: AnyNotification, delivery: Delivery, known: boolean): void;
  /** A state change, a resync, an error or a change of the sharing tabs. */
  emit<K extends Exclude<keyof LifecycleEvents, 'any'>>(name: K, ...args: LifecycleEvents[K]): void;
}

/** The subscribe half of {@link NotificationClient}. */
export type Subscriptions = Pick<
  NotificationClient,
  'on' | 'onAny' | 'onResync' | 'onStateChange' | 'onError' | 'onTabsChange'
>;

/** A client error value. */
export const clientError = (
  code: ClientError['code'],
  message: string,
  detail?: unknown,
): ClientError => ({ code, message, detail });

/** The error for a `getToken` that threw or rejected (or gave a token that cannot be sent). */
export const tokenUnavailable = (thrown: unknown): ClientError =>
  clientError('token_unavailable', `getToken failed: ${thrown}`, thrown);

/**
 * The handlers of one tab's client: a {@link Sink} that calls them (a handler that throws is
 * reported through `onError` and does not stop the others) and the methods that add them.
 */
export function createDispatch(): { sink: Sink; subscriptions: Subscriptions } {
  const failed = (thrown: unknown, name: PropertyKey) => {
    // An onError handler that throws cannot report through onError; surface it like a DOM listener.
    if (name !== 'error') {
      report(clientError('handler_failed', `the ${String(name)} handler threw: ${thrown}`, thrown));
      return;
    }
    queueMicrotask(() => {
      throw thrown;
    });
  };
  const notifications = createEmitter<NotificationEvents>(failed);
  const lifecycle = createEmitter<LifecycleEvents>(failed);
  const report = (error: ClientError) => lifecycle.emit('error', error);
  return {
    sink: {
      deliver(message, delivery, known) {
        if (known) {
          (notifications.emit as (type: string, ...args: unknown[]) => void)(
            message.event,
            message.data,
            message,
            delivery,
          );
        }
        lifecycle.emit('any', message, delivery);
      },
      emit: lifecycle.emit,
    },
    subscriptions: {
      on: (type, handler) => notifications.on(type, handler as never),
      onAny: (handler) => lifecycle.on('any', handler),
      onResync: (handler) => lifecycle.on('resync', handler),
      onStateChange: (handler) => lifecycle.on('state', handler),
      onError: (handler) => lifecycle.on('error', handler),
      onTabsChange: (handler) => lifecycle.on('tabs', handler),
    },
  };
}
