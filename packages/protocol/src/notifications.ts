import * as z from 'zod/mini';
import type { Envelope } from './envelope.js';
import {
  type Category,
  categorySchema,
  count,
  flag,
  id,
  isoTime,
  link,
  type Priority,
  prioritySchema,
  seconds,
  text,
  texts,
} from './fields.js';

/**
 * Fields every teacher notification carries in `data`, next to its type-specific payload.
 * `@huleedu/notify` fills them from the catalogue, the publish options and the clock.
 */
export const notificationMetaSchema = z.looseObject(
  {
    category: categorySchema,
    priority: prioritySchema,
    action_required: flag(),
    deadline: z.nullable(isoTime('an ISO 8601 time like 2026-11-22T10:00:00Z or null')),
    correlation_id: id(),
    timestamp: isoTime(),
  },
  'an object',
);

/** The shared fields of every notification's `data`. */
export type NotificationMeta = z.infer<typeof notificationMetaSchema>;

/** How the catalogue describes one notification type. */
export interface NotificationSpec {
  readonly category: Category;
  /** Default priority; a publisher may override it per message. */
  readonly priority: Priority;
  readonly actionRequired: boolean;
  /**
   * The payload a backend supplies: a strict object of the type's {@link notificationFields}, so
   * a publisher's misspelt or misplaced field is an error. Readers check the same fields loosely
   * (see {@link dataSchemas}).
   */
  readonly payload: z.ZodMiniObject<z.core.$ZodShape, z.core.$strict>;
}

// Every batch notification names its batch, its class when there is one, and says what happened.
const batch = {
  batch_id: id(),
  class_id: z.optional(z.nullable(id('a non-empty string or null'))),
  message: text(),
};

/**
 * The payload fields of every notification type, as zod schemas: what a backend supplies for it
 * (the notifier adds the shared fields of {@link notificationMetaSchema}). With
 * {@link notificationDefaults}, the one place a notification type is defined; readers need only
 * this half. Types, run-time checks on every side, and the JSON Schema for other languages all
 * come from it.
 */
export const notificationFields = {
  batch_files_uploaded: {
    ...batch,
    file_upload_id: z.optional(id()),
    filename: z.optional(text()),
    files_uploaded: count(),
  },
  batch_file_removed: { ...batch, file_upload_id: id(), filename: z.optional(text()) },
  batch_validation_failed: { ...batch, validation_error: text() },
  class_created: { class_id: id(), class_name: z.optional(text()), message: text() },
  student_added_to_class: {
    class_id: id(),
    student_id: z.optional(id()),
    student_name: z.optional(text()),
    message: text(),
  },
  validation_timeout_processed: { ...batch, auto_confirmed_count: z.optional(count()) },
  student_associations_confirmed: { ...batch, confirmed_count: z.optional(count()) },
  student_matching_confirmation_required: { ...batch, unmatched_count: z.optional(count()) },
  batch_processing_started: { ...batch, essays_total: z.optional(count()) },
  batch_processing_completed: {
    ...batch,
    essays_processed: count(),
    processing_duration_seconds: z.optional(seconds()),
  },
  batch_processing_failed: { ...batch, error_message: text() },
  batch_spellcheck_completed: { ...batch, essays_processed: z.optional(count()) },
  batch_cj_assessment_completed: { ...batch, essays_processed: z.optional(count()) },
  phase_skipped: { ...batch, phase: text(), reason: z.optional(text()) },
  pipeline_completed: {
    ...batch,
    completed_phases: texts(),
    final_status: text(),
    processing_duration_seconds: z.optional(seconds()),
  },
  pipeline_denied_insufficient_credits: {
    ...batch,
    required_credits: z.optional(count()),
    available_credits: z.optional(count()),
  },
  batch_results_ready: { ...batch, results_count: count(), download_url: z.optional(link()) },
  batch_assessment_completed: { ...batch, essays_processed: z.optional(count()) },
} as const satisfies Record<string, z.core.$ZodLooseShape>;

/** The name of every notification type in the catalogue. */
export type NotificationType = keyof typeof notificationFields;

/** Every notification type, in catalogue order. */
export const notificationTypes = Object.keys(notificationFields) as NotificationType[];

/** True when `event` names a notification type in the catalogue. */
export function isNotificationType(event: string): event is NotificationType {
  return Object.hasOwn(notificationFields, event);
}

/**
 * One type's defaults: its category, default priority and whether the teacher must act. Free of
 * side effects (the annotation tells bundlers), so a bundle that never reads the defaults drops
 * them.
 */
/* @__NO_SIDE_EFFECTS__ */
function defaults<const C extends Category, const P extends Priority, const A extends boolean>(
  category: C,
  priority: P,
  actionRequired: A,
) {
  return { category, priority, actionRequired };
}

/**
 * What a publisher fills in for every notification type: its category, default priority and
 * whether the teacher must act. The compiler asks for an entry for every type of
 * {@link notificationFields}.
 */
export const notificationDefaults = {
  batch_files_uploaded: defaults('file_operations', 'standard', false),
  batch_file_removed: defaults('file_operations', 'standard', false),
  batch_validation_failed: defaults('system_alerts', 'immediate', true),
  class_created: defaults('class_management', 'standard', false),
  student_added_to_class: defaults('class_management', 'low', false),
  validation_timeout_processed: defaults('student_workflow', 'immediate', false),
  student_associations_confirmed: defaults('student_workflow', 'high', false),
  student_matching_confirmation_required: defaults('student_workflow', 'high', true),
  batch_processing_started: defaults('batch_progress', 'low', false),
  batch_processing_completed: defaults('batch_progress', 'standard', false),
  batch_processing_failed: defaults('batch_progress', 'immediate', false),
  batch_spellcheck_completed: defaults('batch_progress', 'low', false),
  batch_cj_assessment_completed: defaults('batch_progress', 'standard', false),
  phase_skipped: defaults('batch_progress', 'low', false),
  pipeline_completed: defaults('batch_progress', 'high', false),
  pipeline_denied_insufficient_credits: defaults('batch_progress', 'immediate', true),
  batch_results_ready: defaults('processing_results', 'high', false),
  batch_assessment_completed: defaults('processing_results', 'standard', false),
} as const satisfies Record<NotificationType, Omit<NotificationSpec, 'payload'>>;

/** The strict payload schema of notification type `T`. */
type CatalogPayload<T extends NotificationType> = z.ZodMiniObject<
  (typeof notificationFields)[T],
  z.core.$strict
>;

/**
 * The catalogue: for each notification type, the strict zod schema of its payload (so a
 * publisher's misspelt or misplaced field is an error that names it), its category, default
 * priority and whether the teacher must act. Built from {@link notificationFields} and
 * {@link notificationDefaults} by a pure call, so a bundle that never reads it (a browser's)
 * leaves the defaults out.
 */
export const notificationCatalog = /* @__PURE__ */ (() =>
  Object.fromEntries(
    notificationTypes.map((type) => [
      type,
      {
        ...notificationDefaults[type],
        payload: z.strictObject(notificationFields[type], 'an object'),
      },
    ]),
  ))() as {
  readonly [T in NotificationType]: (typeof notificationDefaults)[T] & {
    readonly payload: CatalogPayload<T>;
  };
};

/**
 * The full `data` of a notification as readers check it: payload and shared fields, loose, so a
 * field a newer publisher adds never breaks an older reader.
 */
function readerSchema<S extends z.core.$ZodShape>(shape: S) {
  return z.looseObject({ ...shape, ...notificationMetaSchema.shape }, 'an object');
}

/** The full `data` of a notification as publishers must send it: payload and shared fields, strict. */
function publisherSchema<S extends z.core.$ZodShape>(shape: S) {
  return z.strictObject({ ...shape, ...notificationMetaSchema.shape }, 'an object');
}

/**
 * One schema per notification type, made by `full` from the type's payload fields. Called
 * through a pure annotation, so a bundle that never reads a table does not build it.
 */
function schemaTable(full: (shape: z.core.$ZodShape) => z.ZodMiniType) {
  return Object.fromEntries(
    notificationTypes.map((type) => [type, full(notificationFields[type])]),
  );
}

/** The schema of {@link publishedDataSchemas} for type `T`. */
export type PublishedDataSchema<T extends NotificationType> = ReturnType<
  typeof publisherSchema<CatalogPayload<T>['shape']>
>;

/** The schema of {@link dataSchemas} for type `T`. */
export type DataSchema<T extends NotificationType> = ReturnType<
  typeof readerSchema<CatalogPayload<T>['shape']>
>;

/** For each notification type, the loose schema of the `data` a reader receives. */
export const dataSchemas = /* @__PURE__ */ schemaTable(readerSchema) as {
  readonly [T in NotificationType]: DataSchema<T>;
};

/**
 * For each notification type, the strict schema of a complete `data` as a publisher must send it:
 * payload and shared fields, nothing else. `@huleedu/notify` checks every message against it, and
 * the JSON Schema for other languages is generated from it.
 */
export const publishedDataSchemas = /* @__PURE__ */ schemaTable(publisherSchema) as {
  readonly [T in NotificationType]: PublishedDataSchema<T>;
};

/** The payload a backend supplies for notification type `T`: exactly the catalogue's fields. */
export type NotificationPayload<T extends NotificationType> = z.infer<CatalogPayload<T>>;

/**
 * The full `data` a client receives for type `T`: payload, shared fields, and any field the
 * catalogue does not know yet.
 */
export type NotificationData<T extends NotificationType> = z.infer<DataSchema<T>>;

/** A notification envelope of known type `T`, as delivered to clients. */
export type Notification<T extends NotificationType = NotificationType> = {
  [K in T]: { event: K; data: NotificationData<K>; id?: Envelope['id'] };
}[T];
