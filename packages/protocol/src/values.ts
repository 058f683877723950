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
