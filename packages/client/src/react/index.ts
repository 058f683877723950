// React bindings of @huleedu/ws-client: one client per provider, hooks that never reconnect.

export {
  useConnectionState,
  useNotification,
  useNotificationClient,
  useNotificationList,
  useResync,
  useTabs,
} from './hooks.js';
export { NotificationProvider, type NotificationProviderProps } from './provider.js';
export type { ListedNotification } from './store.js';
