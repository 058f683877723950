import type { NotificationMeta, NotificationPayload, NotificationType } from '../src/index.js';

/** The shared fields of a notification, as `@huleedu/notify` fills them. */
export const sampleMeta: NotificationMeta = {
  category: 'processing_results',
  priority: 'high',
  action_required: false,
  deadline: null,
  correlation_id: 'c-1',
  timestamp: '2026-11-22T10:00:00.000Z',
};

const batch = { batch_id: 'b1', class_id: 'c1', message: 'Something happened' };

/** One valid payload per notification type; the compiler insists on every type. */
export const samplePayloads: { [T in NotificationType]: NotificationPayload<T> } = {
  batch_files_uploaded: { ...batch, file_upload_id: 'u1', filename: 'a.docx', files_uploaded: 2 },
  batch_file_removed: { ...batch, file_upload_id: 'u1', filename: 'a.docx' },
  batch_validation_failed: { ...batch, validation_error: 'no essays' },
  class_created: { class_id: 'c1', class_name: 'Svenska 1', message: 'Class created' },
  student_added_to_class: { class_id: 'c1', student_id: 's1', student_name: 'Ada', message: 'm' },
  validation_timeout_processed: { ...batch, auto_confirmed_count: 3 },
  student_associations_confirmed: { ...batch, confirmed_count: 4 },
  student_matching_confirmation_required: { ...batch, unmatched_count: 1 },
  batch_processing_started: { ...batch, essays_total: 30 },
  batch_processing_completed: { ...batch, essays_processed: 30, processing_duration_seconds: 12.5 },
  batch_processing_failed: { ...batch, error_message: 'spellcheck failed' },
  batch_spellcheck_completed: { ...batch, essays_processed: 30 },
  batch_cj_assessment_completed: { ...batch, essays_processed: 30 },
  phase_skipped: { ...batch, phase: 'cj_assessment', reason: 'not requested' },
  pipeline_completed: {
    ...batch,
    class_id: null,
    completed_phases: ['spellcheck', 'cj_assessment'],
    final_status: 'completed',
    processing_duration_seconds: 300,
  },
  pipeline_denied_insufficient_credits: { ...batch, required_credits: 30, available_credits: 5 },
  batch_results_ready: { ...batch, results_count: 30, download_url: 'https://x.test/r.zip' },
  batch_assessment_completed: { ...batch, essays_processed: 30 },
};
