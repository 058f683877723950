import type { FieldSpecs, FieldsValue } from './fields.js';
import type { Category, Priority } from './values.js';

/**
 * Fields every teacher notification carries in `data`, next to its type-specific payload.
 * `@huleedu/notify` fills them from the catalogue and the clock when the caller leaves them out.
 */
export const notificationMetaFields = {
  category: 'category',
  priority: 'priority',
  action_required: 'flag',
  deadline: 'time|null',
  correlation_id: 'id',
  timestamp: 'time',
} as const satisfies FieldSpecs;

/** The shared fields of every notification's `data`. */
export type NotificationMeta = FieldsValue<typeof notificationMetaFields>;

/** How the catalogue describes one notification type. */
export interface NotificationSpec {
  readonly category: Category;
  readonly priority: Priority;
  readonly actionRequired: boolean;
  /** The payload's schema: one spec per field (see {@link FieldSpecs}); extra fields pass. */
  readonly fields: FieldSpecs;
}

// Every batch notification names its batch, its class when there is one, and says what happened.
const batch = { batch_id: 'id', class_id: 'id|null?', message: 'text' } as const;

/**
 * The catalogue: every notification type the platform sends, with its payload schema, category,
 * default priority and whether the teacher must act. This table is the schema: the TypeScript
 * types, the run-time checks and the zod schemas (`@huleedu/ws-protocol/zod`) all derive from it.
 */
export const notificationCatalog = {
  batch_files_uploaded: {
    category: 'file_operations',
    priority: 'standard',
    actionRequired: false,
    fields: { ...batch, file_upload_id: 'id?', filename: 'text?', files_uploaded: 'count' },
  },
  batch_file_removed: {
    category: 'file_operations',
    priority: 'standard',
    actionRequired: false,
    fields: { ...batch, file_upload_id: 'id', filename: 'text?' },
  },
  batch_validation_failed: {
    category: 'system_alerts',
    priority: 'immediate',
    actionRequired: true,
    fields: { ...batch, validation_error: 'text' },
  },
  class_created: {
    category: 'class_management',
    priority: 'standard',
    actionRequired: false,
    fields: { class_id: 'id', class_name: 'text?', message: 'text' },
  },
  student_added_to_class: {
    category: 'class_management',
    priority: 'low',
    actionRequired: false,
    fields: { class_id: 'id', student_id: 'id?', student_name: 'text?', message: 'text' },
  },
  validation_timeout_processed: {
    category: 'student_workflow',
    priority: 'immediate',
    actionRequired: false,
    fields: { ...batch, auto_confirmed_count: 'count?' },
  },
  student_associations_confirmed: {
    category: 'student_workflow',
    priority: 'high',
    actionRequired: false,
    fields: { ...batch, confirmed_count: 'count?' },
  },
  student_matching_confirmation_required: {
    category: 'student_workflow',
    priority: 'high',
    actionRequired: true,
    fields: { ...batch, unmatched_count: 'count?' },
  },
  batch_processing_started: {
    category: 'batch_progress',
    priority: 'low',
    actionRequired: false,
    fields: { ...batch, essays_total: 'count?' },
  },
  batch_processing_completed: {
    category: 'batch_progress',
    priority: 'standard',
    actionRequired: false,
    fields: { ...batch, essays_processed: 'count', processing_duration_seconds: 'seconds?' },
  },
  batch_processing_failed: {
    category: 'batch_progress',
    priority: 'immediate',
    actionRequired: false,
    fields: { ...batch, error_message: 'text' },
  },
  batch_spellcheck_completed: {
    category: 'batch_progress',
    priority: 'low',
    actionRequired: false,
    fields: { ...batch, essays_processed: 'count?' },
  },
  batch_cj_assessment_completed: {
    category: 'batch_progress',
    priority: 'standard',
    actionRequired: false,
    fields: { ...batch, essays_processed: 'count?' },
  },
  phase_skipped: {
    category: 'batch_progress',
    priority: 'low',
    actionRequired: false,
    fields: { ...batch, phase: 'text', reason: 'text?' },
  },
  pipeline_completed: {
    category: 'batch_progress',
    priority: 'high',
    actionRequired: false,
    fields: {
      ...batch,
      completed_phases: 'texts',
      final_status: 'text',
      processing_duration_seconds: 'seconds?',
    },
  },
  pipeline_denied_insufficient_credits: {
    category: 'batch_progress',
    priority: 'immediate',
    actionRequired: true,
    fields: { ...batch, required_credits: 'count?', available_credits: 'count?' },
  },
  batch_results_ready: {
    category: 'processing_results',
    priority: 'high',
    actionRequired: false,
    fields: { ...batch, results_count: 'count', download_url: 'text?' },
  },
  batch_assessment_completed: {
    category: 'processing_results',
    priority: 'standard',
    actionRequired: false,
    fields: { ...batch, essays_processed: 'count?' },
  },
} as const satisfies Record<string, NotificationSpec>;

/** The name of every notification type in the catalogue. */
export type NotificationType = keyof typeof notificationCatalog;

/** Every notification type, in catalogue order. */
export const notificationTypes = Object.keys(notificationCatalog) as NotificationType[];

/**
 * The type-specific payload a backend supplies for notification type `T`. Extra fields are allowed
 * (payloads are loose), so a backend can send a field before the catalogue knows it.
 */
export type NotificationPayload<T extends NotificationType> = FieldsValue<
  (typeof notificationCatalog)[T]['fields']
> & { [extra: string]: unknown };

/** The full `data` a client receives for notification type `T`: payload plus shared fields. */
export type NotificationData<T extends NotificationType> = NotificationPayload<T> &
  NotificationMeta;

/** A notification envelope of known type `T`, as delivered to clients. */
export type Notification<T extends NotificationType = NotificationType> = {
  [K in T]: { event: K; data: NotificationData<K>; id?: string };
}[T];

/** True when `event` names a notification type in the catalogue. */
export function isNotificationType(event: string): event is NotificationType {
  return Object.hasOwn(notificationCatalog, event);
}
