// When a notification happened, and how the page shows it. Pure functions, so Node tests cover
// them without a browser.

/**
 * The moment a notification stands for: its own `timestamp` when that is a valid time, otherwise
 * `arrivedAt`, the moment the page received it (taken once, on arrival, so a redraw never moves it).
 */
export function notificationTime(timestamp: unknown, arrivedAt: Date): Date {
  if (typeof timestamp !== 'string') return arrivedAt;
  const at = new Date(timestamp);
  return Number.isNaN(at.getTime()) ? arrivedAt : at;
}

/**
 * The time of day for a moment on the same local day as `now`; date and time for any other day,
 * so yesterday's 09:00 never reads as today's. `locale` defaults to the browser's.
 */
export function formatNotificationTime(at: Date, now: Date, locale?: string): string {
  const sameDay =
    at.getFullYear() === now.getFullYear() &&
    at.getMonth() === now.getMonth() &&
    at.getDate() === now.getDate();
  return sameDay
    ? at.toLocaleTimeString(locale)
    : at.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'medium' });
}
