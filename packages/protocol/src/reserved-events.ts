/**
 * The service's own event namespace. Only the service sends `ws.*` events to browsers
 * (`ws.synced`, `ws.resync`, `ws.token_refreshed`); clients send `ws.refresh_token`; backends
 * address the service with `ws.disconnect`. No publisher may publish a `ws.*` event as a
 * notification, and the service never forwards one that arrived from Redis.
 */
export const RESERVED_EVENT_PREFIX = 'ws.';

/** True when `event` is in the service's own `ws.*` namespace (never a notification). */
export function isReservedEvent(event: string): boolean {
  return event.startsWith(RESERVED_EVENT_PREFIX);
}
