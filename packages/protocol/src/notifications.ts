import * as z from 'zod/mini';

/** Notification categories, as the platform sends them. */
export const categories = [
  'batch_progress',
  'processing_results',
  'file_operations',
  'class_management',
  'student_workflow',
  'system_alerts',
] as const;
/** One of {@link categories}. */
export type Category = (typeof categories)[number];

/** Notification priorities, most urgent first. */
export const priorities = ['critical', 'immediate', 'high', 'standard', 'low'] as const;
/** One of {@link priorities}. */
export type Priority = (typeof priorities)[number];

/** Schema of a category value. */
export const categorySchema = z.enum(categories);
/** Schema of a priority value. */
export const prioritySchema = z.enum(priorities);

const id = z.string().check(z.minLength(1));
const count = z.int().check(z.gte(0));
const isoTime = z.iso.datetime({ offset: true });
const message = z.string();
const optionalClassId = z.optional(z.nullable(id));

/**
 * Fields every teacher notification carries in `data`, next to its type-specific payload.
 * `@huleedu/notify` fills them from the catalogue and the clock when the caller leaves them out.
 */
export const notificationMetaSchema = z.looseObject({
  category: categorySchema,
  priority: prioritySchema,
  action_required: z.boolean(),
  deadline: z.nullable(isoTime),
  correlation_id: id,
  timestamp: isoTime,
});
/** The shared fields of every notification's `data`. */
export type NotificationMeta = z.infer<typeof notificationMetaSchema>;

/**
 * The catalogue: every notification type the platform sends, with its payload schema, category,
 * default priority and whether the teacher must act. Payload objects are loose: extra fields pass
 * through, so a backend can add a field before the catalogue knows it.
 */
export const notificationCatalog = {
  batch_files_uploaded: {
    category: 'file_operations',
    priority: 'standard',
    actionRequired: false,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      file_upload_id: z.optional(id),
      filename: z.optional(z.string()),
      files_uploaded: count,
      message,
    }),
  },
  batch_file_removed: {
    category: 'file_operations',
    priority: 'standard',
    actionRequired: false,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      file_upload_id: id,
      filename: z.optional(z.string()),
      message,
    }),
  },
  batch_validation_failed: {
    category: 'system_alerts',
    priority: 'immediate',
    actionRequired: true,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      validation_error: z.string(),
      message,
    }),
  },
  class_created: {
    category: 'class_management',
    priority: 'standard',
    actionRequired: false,
    payload: z.looseObject({
      class_id: id,
      class_name: z.optional(z.string()),
      message,
    }),
  },
  student_added_to_class: {
    category: 'class_management',
    priority: 'low',
    actionRequired: false,
    payload: z.looseObject({
      class_id: id,
      student_id: z.optional(id),
      student_name: z.optional(z.string()),
      message,
    }),
  },
  validation_timeout_processed: {
    category: 'student_workflow',
    priority: 'immediate',
    actionRequired: false,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      auto_confirmed_count: z.optional(count),
      message,
    }),
  },
  student_associations_confirmed: {
    category: 'student_workflow',
    priority: 'high',
    actionRequired: false,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      confirmed_count: z.optional(count),
      message,
    }),
  },
  student_matching_confirmation_required: {
    category: 'student_workflow',
    priority: 'high',
    actionRequired: true,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      unmatched_count: z.optional(count),
      message,
    }),
  },
  batch_processing_started: {
    category: 'batch_progress',
    priority: 'low',
    actionRequired: false,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      essays_total: z.optional(count),
      message,
    }),
  },
  batch_processing_completed: {
    category: 'batch_progress',
    priority: 'standard',
    actionRequired: false,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      essays_processed: count,
      processing_duration_seconds: z.optional(z.number().check(z.gte(0))),
      message,
    }),
  },
  batch_processing_failed: {
    category: 'batch_progress',
    priority: 'immediate',
    actionRequired: false,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      error_message: z.string(),
      message,
    }),
  },
  batch_spellcheck_completed: {
    category: 'batch_progress',
    priority: 'low',
    actionRequired: false,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      essays_processed: z.optional(count),
      message,
    }),
  },
  batch_cj_assessment_completed: {
    category: 'batch_progress',
    priority: 'standard',
    actionRequired: false,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      essays_processed: z.optional(count),
      message,
    }),
  },
  phase_skipped: {
    category: 'batch_progress',
    priority: 'low',
    actionRequired: false,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      phase: z.string(),
      reason: z.optional(z.string()),
      message,
    }),
  },
  pipeline_completed: {
    category: 'batch_progress',
    priority: 'high',
    actionRequired: false,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      completed_phases: z.array(z.string()),
      final_status: z.string(),
      processing_duration_seconds: z.optional(z.number().check(z.gte(0))),
      message,
    }),
  },
  pipeline_denied_insufficient_credits: {
    category: 'batch_progress',
    priority: 'immediate',
    actionRequired: true,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      required_credits: z.optional(count),
      available_credits: z.optional(count),
      message,
    }),
  },
  batch_results_ready: {
    category: 'processing_results',
    priority: 'high',
    actionRequired: false,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      results_count: count,
      download_url: z.optional(z.string()),
      message,
    }),
  },
  batch_assessment_completed: {
    category: 'processing_results',
    priority: 'standard',
    actionRequired: false,
    payload: z.looseObject({
      batch_id: id,
      class_id: optionalClassId,
      essays_processed: z.optional(count),
      message,
    }),
  },
} as const satisfies Record<string, NotificationSpec>;

/** How the catalogue describes one notification type. */
export interface NotificationSpec {
  readonly category: Category;
  readonly priority: Priority;
  readonly actionRequired: boolean;
  readonly payload: z.ZodMiniType;
}

/** The name of every notification type in the catalogue. */
export type NotificationType = keyof typeof notificationCatalog;

/** Every notification type, in catalogue order. */
export const notificationTypes = Object.keys(notificationCatalog) as NotificationType[];

/** The type-specific payload a backend supplies for notification type `T`. */
export type NotificationPayload<T extends NotificationType> = z.input<
  (typeof notificationCatalog)[T]['payload']
>;

/** The full `data` a client receives for notification type `T`: payload plus shared fields. */
export type NotificationData<T extends NotificationType> = z.output<
  (typeof notificationCatalog)[T]['payload']
> &
  NotificationMeta;

/** A notification envelope of known type `T`, as delivered to clients. */
export interface Notification<T extends NotificationType = NotificationType> {
  event: T;
  data: NotificationData<T>;
  id?: string;
}

/** True when `event` names a notification type in the catalogue. */
export function isNotificationType(event: string): event is NotificationType {
  return Object.hasOwn(notificationCatalog, event);
}
