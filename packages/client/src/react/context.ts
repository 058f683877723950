import { createContext, useContext } from 'react';
import type { NotificationClient } from '../client.js';
import type { NotificationStore } from './store.js';

/** What a provider shares with its hooks: one client and the notification list it keeps. */
export interface ProviderValue {
  client: NotificationClient;
  store: NotificationStore;
}

/** The provider's value; undefined outside a provider. */
export const NotificationContext = createContext<ProviderValue | undefined>(undefined);

/** The nearest provider's value; a hook used outside a provider throws saying so. */
export function useProviderValue(hook: string): ProviderValue {
  const value = useContext(NotificationContext);
  if (!value) {
    throw new Error(`@huleedu/ws-client/react: ${hook} must be used inside <NotificationProvider>`);
  }
  return value;
}
