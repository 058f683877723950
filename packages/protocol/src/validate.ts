import type { Envelope } from './envelope.js';
import { checkFields } from './fields.js';
import {
  isNotificationType,
  type Notification,
  type NotificationType,
  notificationCatalog,
  notificationMetaFields,
} from './notifications.js';

/** Result of {@link validateNotification}. */
export type ValidateNotificationResult =
  | { ok: true; known: true; notification: Notification }
  | { ok: true; known: false; envelope: Envelope }
  | { ok: false; reason: string };

/**
 * Checks a payload for notification type `type` against the catalogue and returns one message per
 * bad field (empty when it is valid). `path` prefixes field names (default `data`).
 */
export function checkPayload(type: NotificationType, payload: unknown, path = 'data'): string[] {
  return checkFields(notificationCatalog[type].fields, payload, path);
}

/**
 * Checks an envelope's `data` against the catalogue. Known types must match their payload schema
 * plus the shared fields; unknown types pass as `known: false` so newer backends never break
 * older clients. Never throws; the envelope is returned as is, extra fields included.
 */
export function validateNotification(envelope: Envelope): ValidateNotificationResult {
  const { event, data } = envelope;
  if (!isNotificationType(event)) return { ok: true, known: false, envelope };
  const problems = [
    ...checkPayload(event, data),
    ...checkFields(notificationMetaFields, data, 'data'),
  ];
  if (problems.length > 0) return { ok: false, reason: `${event}: ${problems.join('; ')}` };
  return { ok: true, known: true, notification: envelope as Notification };
}
