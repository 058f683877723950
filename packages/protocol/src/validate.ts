import type { Envelope } from './envelope.js';
import { describeIssues, findIssues, problemsWith } from './issues.js';
import {
  dataSchemas,
  isNotificationType,
  type Notification,
  type NotificationType,
  notificationCatalog,
} from './notifications.js';

/** Result of {@link validateNotification}. */
export type ValidateNotificationResult =
  | { ok: true; known: true; notification: Notification }
  | { ok: true; known: false; envelope: Envelope }
  | { ok: false; reason: string };

/**
 * Checks a payload a backend is about to publish for type `type` against the catalogue's strict
 * payload schema and returns one message per bad or unknown field (empty when it is valid).
 * `path` prefixes field names (default `data`).
 */
export function checkPayload(type: NotificationType, payload: unknown, path = 'data'): string[] {
  return describeIssues(findIssues(notificationCatalog[type].payload, payload), path);
}

/**
 * Checks an envelope's `data` as a reader does: known types must match their payload schema plus
 * the shared fields, loosely (fields the catalogue does not know pass); unknown types pass as
 * `known: false` so newer backends never break older clients. Never throws; the envelope is
 * returned as is, extra fields included.
 */
export function validateNotification(envelope: Envelope): ValidateNotificationResult {
  const { event, data } = envelope;
  if (!isNotificationType(event)) return { ok: true, known: false, envelope };
  const problems = problemsWith(dataSchemas[event], data, 'data');
  if (problems) return { ok: false, reason: `${event}: ${problems}` };
  return { ok: true, known: true, notification: envelope as Notification };
}
