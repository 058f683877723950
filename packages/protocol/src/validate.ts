import * as z from 'zod/mini';
import { describeIssues, type Envelope } from './envelope.js';
import {
  isNotificationType,
  type Notification,
  notificationCatalog,
  notificationMetaSchema,
} from './notifications.js';

/** Result of {@link validateNotification}. */
export type ValidateNotificationResult =
  | { ok: true; known: true; notification: Notification }
  | { ok: true; known: false; envelope: Envelope }
  | { ok: false; reason: string };

const dataSchemas = new Map<string, z.ZodMiniType>();

function dataSchemaFor(event: keyof typeof notificationCatalog): z.ZodMiniType {
  let schema = dataSchemas.get(event);
  if (!schema) {
    // Built lazily: a page that only ever receives a few types never builds the others.
    schema = z.intersection(notificationCatalog[event].payload, notificationMetaSchema);
    dataSchemas.set(event, schema);
  }
  return schema;
}

/**
 * Checks an envelope's `data` against the catalogue. Known types must match their payload schema
 * plus the shared fields; unknown types pass as `known: false` so newer backends never break
 * older clients. Never throws.
 */
export function validateNotification(envelope: Envelope): ValidateNotificationResult {
  if (!isNotificationType(envelope.event)) return { ok: true, known: false, envelope };
  const result = dataSchemaFor(envelope.event).safeParse(envelope.data);
  if (!result.success) {
    return {
      ok: false,
      reason: `${envelope.event}: ${describeIssues(result.error.issues, 'data')}`,
    };
  }
  return {
    ok: true,
    known: true,
    notification: { ...envelope, event: envelope.event, data: result.data } as Notification,
  };
}
