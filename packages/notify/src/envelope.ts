import { randomUUID } from 'node:crypto';
import {
  checkEnvelope,
  describeIssues,
  findIssues,
  isNotificationType,
  isReservedEvent,
  type Notification,
  type NotificationPayload,
  type NotificationType,
  notificationCatalog,
  notificationTypes,
  type Priority,
  parseEnvelope,
  publishedDataSchemas,
  RESERVED_EVENT_PREFIX,
  userCommands,
} from '@huleedu/ws-protocol';
import { NotificationValidationError } from './errors.js';

/** Per-message choices for {@link createNotificationEnvelope}; every field has a default. */
export interface EnvelopeOptions {
  /** Overrides the catalogue's priority for this type. */
  priority?: Priority;
  /** Overrides the catalogue's `action_required` for this type. */
  actionRequired?: boolean;
  /** When the teacher must act by; `null` (the default) means no deadline. */
  deadline?: string | Date | null;
  /** Ties the notification to the request that caused it; default: a fresh UUID. */
  correlationId?: string;
  /** When the event happened; default: now. */
  timestamp?: string | Date;
}

/** The shared `data` fields the notifier fills; a payload must not set them itself. */
const sharedFields = {
  category: 'comes from the catalogue',
  priority: 'pass options.priority instead',
  action_required: 'pass options.actionRequired instead',
  deadline: 'pass options.deadline instead',
  correlation_id: 'pass options.correlationId instead',
  timestamp: 'pass options.timestamp instead',
} as const;

type SharedField = keyof typeof sharedFields;

/**
 * The payload a backend passes for notification type `T`: exactly the type's own fields. An
 * unknown field (a misspelt `clas_id`, a shared field such as `priority`) is a compile error
 * naming it, and at run time an `invalid_payload` error naming it too.
 */
export type PublishPayload<T extends NotificationType> = NotificationPayload<T>;

/** A notification ready to publish: the legacy `{event, data}` plus a unique `id`. */
export type NotificationEnvelope<T extends NotificationType = NotificationType> =
  Notification<T> & { id: string };

/** An envelope for an event outside the catalogue (or a complete catalogue notification). */
export interface RawEnvelope {
  event: string;
  data: Record<string, unknown>;
  id: string;
}

/**
 * Builds the envelope `publishUserNotification` sends: validates `payload` against the catalogue,
 * fills `category`, `priority`, `action_required`, `deadline`, `correlation_id` and `timestamp`,
 * adds a message `id`, and validates the result once more.
 * Throws {@link NotificationValidationError} (`unknown_type` or `invalid_payload`) naming each bad field.
 */
export function createNotificationEnvelope<T extends NotificationType>(
  type: T,
  payload: PublishPayload<T>,
  options: EnvelopeOptions = {},
): NotificationEnvelope<T> {
  if (!isNotificationType(type)) {
    throw new NotificationValidationError(
      'unknown_type',
      `unknown notification type ${JSON.stringify(type)}; known types: ${notificationTypes.join(', ')} (use publish() for events outside the catalogue)`,
    );
  }
  if (typeof payload === 'object' && payload !== null) {
    const shared = Object.keys(sharedFields).filter((key) => Object.hasOwn(payload, key));
    if (shared.length > 0) {
      throw invalid(
        type,
        shared
          .map((key) => `data.${key}: set by the notifier, ${sharedFields[key as SharedField]}`)
          .join('; '),
      );
    }
  }
  const spec = notificationCatalog[type];
  check(type, spec.payload, payload);

  const data = {
    ...payload,
    category: spec.category,
    priority: options.priority ?? spec.priority,
    action_required: options.actionRequired ?? spec.actionRequired,
    deadline: isoTime(type, 'deadline', options.deadline ?? null),
    correlation_id: options.correlationId ?? randomUUID(),
    timestamp: isoTime(type, 'timestamp', options.timestamp ?? new Date()),
  };
  // The options land in `data` unchecked by the payload schema (a priority of 'urgent', a
  // deadline without a time zone): check the whole of `data` as published.
  check(type, publishedDataSchemas[type], data);
  return { event: type, data, id: randomUUID() } as unknown as NotificationEnvelope<T>;
}

/**
 * Builds the envelope `publish` sends for any event name: checks the envelope shape (non-empty
 * `event`, object `data`) and adds a message `id`. An event that is in the catalogue must carry
 * complete, valid `data` (shared fields included), because clients would drop it otherwise.
 * Throws {@link NotificationValidationError} (`invalid_payload`).
 */
export function createRawEnvelope(event: string, data: Record<string, unknown>): RawEnvelope {
  // `ws.*` events are the service's own: a command (`ws.disconnect`) published as a message would
  // be stored and replayed to browsers, a fake control event (`ws.resync`) would move a client's
  // position. The publish script refuses them too, for publishers in every language.
  if (event === userCommands.DISCONNECT) {
    throw new NotificationValidationError(
      'invalid_payload',
      `${event}: this event is the service's own command; use disconnectUser(userId, { reason })`,
    );
  }
  if (typeof event === 'string' && isReservedEvent(event)) {
    throw new NotificationValidationError(
      'invalid_payload',
      `${event}: events starting with "${RESERVED_EVENT_PREFIX}" are reserved for the service`,
    );
  }
  const envelope = { event, data, id: randomUUID() };
  checkMessage(envelope, '');
  return envelope;
}

/**
 * The JSON text of an envelope, checked once more exactly as a client will read it (parsed back,
 * envelope shape, catalogue data), so what goes on the wire is what was validated even when a
 * payload value has its own `toJSON`. Throws `invalid_payload` when `data` cannot be represented
 * as JSON (a BigInt, a cycle) or does not survive the round trip.
 */
export function serializeEnvelope(envelope: { event: string; data: object }): string {
  let text: string;
  try {
    text = JSON.stringify(envelope);
  } catch (error) {
    throw new NotificationValidationError(
      'invalid_payload',
      `${envelope.event}: data: not representable as JSON (${(error as Error).message})`,
    );
  }
  const parsed = parseEnvelope(text);
  if (!parsed.ok) {
    throw new NotificationValidationError(
      'invalid_payload',
      `${envelope.event}: serialised message is not a valid envelope (${parsed.reason})`,
    );
  }
  checkMessage(parsed.envelope, ' (after JSON serialisation)');
  return text;
}

function isoTime(type: string, field: SharedField, value: string | Date | null): string | null {
  if (!(value instanceof Date)) return value;
  if (Number.isNaN(value.getTime())) throw invalid(type, `data.${field}: invalid Date`);
  return value.toISOString();
}

function invalid(type: string, detail: string): NotificationValidationError {
  return new NotificationValidationError('invalid_payload', `${type}: ${detail}`);
}

/** Throws `invalid_payload` with zod's issues unless `value` passes `schema`. */
function check(
  type: string,
  schema: Parameters<typeof findIssues>[0] & { shape: object },
  value: unknown,
  suffix = '',
): void {
  const issues = findIssues(schema, value);
  if (issues.length === 0) return;
  const lines = describeIssues(issues, 'data');
  // An unknown field is usually a typo: say which fields there are.
  if (issues.some((issue) => issue.code === 'unrecognized_keys')) {
    lines.push(`the fields of ${type} are ${Object.keys(schema.shape).join(', ')}`);
  }
  throw new NotificationValidationError(
    'invalid_payload',
    `${type}: ${lines.join('; ')}${suffix}`,
    issues,
  );
}

/**
 * Checks a message as published: the envelope shape and, for a catalogue type, its complete
 * `data`, strictly (clients would drop an invalid one; an unknown field is a publisher's typo).
 */
function checkMessage(message: unknown, suffix: string): void {
  const shape = checkEnvelope(message);
  if (!shape.ok) throw new NotificationValidationError('invalid_payload', shape.reason + suffix);
  const { event, data } = shape.envelope;
  if (isNotificationType(event)) check(event, publishedDataSchemas[event], data, suffix);
}
