import type { NotificationData } from '@huleedu/ws-protocol';

/** A valid `batch_results_ready` data object, as a backend would publish it. */
export function resultsReady(batchId: string): NotificationData<'batch_results_ready'> {
  return {
    batch_id: batchId,
    class_id: null,
    results_count: 24,
    message: `Results for ${batchId} are ready`,
    category: 'processing_results',
    priority: 'high',
    action_required: false,
    deadline: null,
    correlation_id: `corr-${batchId}`,
    timestamp: '2025-01-01T12:00:00Z',
  };
}

/** The wire frame `{"event", "data"}` for `event` and `data`. */
export function frame(event: string, data: unknown): string {
  return JSON.stringify({ event, data });
}
