import type { PublishPayload } from '@huleedu/notify';
import type { NotificationType } from '@huleedu/ws-client';

/** A believable payload for every notification type, published by the demo's buttons. */
export const samplePayloads: { [T in NotificationType]: PublishPayload<T> } = {
  batch_files_uploaded: {
    batch_id: 'batch-2041',
    class_id: 'class-9b',
    filename: 'essays-week-12.zip',
    files_uploaded: 28,
    message: '28 essays uploaded to "Week 12: persuasive writing"',
  },
  batch_file_removed: {
    batch_id: 'batch-2041',
    class_id: 'class-9b',
    file_upload_id: 'upload-77',
    filename: 'duplicate-essay.docx',
    message: 'duplicate-essay.docx was removed from the batch',
  },
  batch_validation_failed: {
    batch_id: 'batch-2042',
    class_id: 'class-9b',
    validation_error: 'three files are empty',
    message: 'Batch 2042 could not be validated: three files are empty',
  },
  class_created: {
    class_id: 'class-9c',
    class_name: '9C English',
    message: 'Class 9C English was created',
  },
  student_added_to_class: {
    class_id: 'class-9c',
    student_id: 'student-311',
    student_name: 'Alva Lindqvist',
    message: 'Alva Lindqvist joined 9C English',
  },
  validation_timeout_processed: {
    batch_id: 'batch-2041',
    class_id: 'class-9b',
    auto_confirmed_count: 4,
    message: '4 student matches were confirmed automatically after the timeout',
  },
  student_associations_confirmed: {
    batch_id: 'batch-2041',
    class_id: 'class-9b',
    confirmed_count: 27,
    message: 'All 27 essays are matched to students',
  },
  student_matching_confirmation_required: {
    batch_id: 'batch-2041',
    class_id: 'class-9b',
    unmatched_count: 3,
    message: '3 essays need you to confirm which student wrote them',
  },
  batch_processing_started: {
    batch_id: 'batch-2041',
    class_id: 'class-9b',
    essays_total: 28,
    message: 'Processing of 28 essays has started',
  },
  batch_processing_completed: {
    batch_id: 'batch-2041',
    class_id: 'class-9b',
    essays_processed: 28,
    processing_duration_seconds: 312,
    message: 'All 28 essays were processed in 5 minutes',
  },
  batch_processing_failed: {
    batch_id: 'batch-2043',
    class_id: 'class-9b',
    error_message: 'the assessment service timed out',
    message: 'Processing of batch 2043 failed: the assessment service timed out',
  },
  batch_spellcheck_completed: {
    batch_id: 'batch-2041',
    class_id: 'class-9b',
    essays_processed: 28,
    message: 'Spellcheck finished for 28 essays',
  },
  batch_cj_assessment_completed: {
    batch_id: 'batch-2041',
    class_id: 'class-9b',
    essays_processed: 28,
    message: 'Comparative judgement finished for 28 essays',
  },
  phase_skipped: {
    batch_id: 'batch-2041',
    class_id: 'class-9b',
    phase: 'ai_feedback',
    reason: 'not enabled for this class',
    message: 'AI feedback was skipped: not enabled for this class',
  },
  pipeline_completed: {
    batch_id: 'batch-2041',
    class_id: 'class-9b',
    completed_phases: ['spellcheck', 'cj_assessment'],
    final_status: 'completed',
    processing_duration_seconds: 540,
    message: 'The pipeline for batch 2041 completed',
  },
  pipeline_denied_insufficient_credits: {
    batch_id: 'batch-2044',
    class_id: 'class-9b',
    required_credits: 28,
    available_credits: 10,
    message: 'Batch 2044 needs 28 credits; your school has 10 left',
  },
  batch_results_ready: {
    batch_id: 'batch-2041',
    class_id: 'class-9b',
    results_count: 28,
    download_url: '/batches/batch-2041/results',
    message: 'Results for "Week 12: persuasive writing" are ready',
  },
  batch_assessment_completed: {
    batch_id: 'batch-2041',
    class_id: 'class-9b',
    essays_processed: 28,
    message: 'Assessment of 28 essays is complete',
  },
};

/** Every type the demo can publish, in catalogue order. */
export const sampleTypes = Object.keys(samplePayloads) as NotificationType[];

/** True when `value` names a type the demo has a sample for. */
export function isSampleType(value: unknown): value is NotificationType {
  return typeof value === 'string' && Object.hasOwn(samplePayloads, value);
}
