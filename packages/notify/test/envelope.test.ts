import { notificationCatalog } from '@huleedu/ws-protocol';
import { describe, expect, it } from 'vitest';
import { createNotificationEnvelope, createRawEnvelope, serializeEnvelope } from '../src/index.js';

describe('createNotificationEnvelope', () => {
  it.each([
    [
      'student_added_to_class',
      { class_id: 'c1', message: 'Student added' },
      'class_management',
      'low',
    ],
    ['batch_processing_started', { batch_id: 'b1', message: 'Started' }, 'batch_progress', 'low'],
    [
      'pipeline_completed',
      { batch_id: 'b1', completed_phases: ['spellcheck'], final_status: 'ok', message: 'Done' },
      'batch_progress',
      'high',
    ],
    [
      'batch_files_uploaded',
      { batch_id: 'b1', files_uploaded: 2, message: 'Uploaded' },
      'file_operations',
      'standard',
    ],
  ] as const)(
    'fills category and priority of %s from the catalogue',
    (type, payload, category, priority) => {
      const envelope = createNotificationEnvelope(type, payload as never);
      expect(envelope.data).toMatchObject({ category, priority, action_required: false });
      expect(notificationCatalog[type]).toMatchObject({ category, priority });
    },
  );

  it('marks action-required types as such', () => {
    const envelope = createNotificationEnvelope('batch_validation_failed', {
      batch_id: 'b1',
      validation_error: 'no essays',
      message: 'Batch could not be validated',
    });
    expect(envelope.data).toMatchObject({
      category: 'system_alerts',
      priority: 'immediate',
      action_required: true,
    });
  });

  it('refuses a payload that is not an object', () => {
    expect(() => createNotificationEnvelope('class_created', null as never)).toThrowError(
      'class_created: data: expected an object, got null',
    );
  });
});

describe('createRawEnvelope and serializeEnvelope', () => {
  it('produces the legacy {event, data} shape plus an id', () => {
    const text = serializeEnvelope(createRawEnvelope('essay_annotated', { essay_id: 'e1' }));
    expect(JSON.parse(text)).toEqual({
      event: 'essay_annotated',
      data: { essay_id: 'e1' },
      id: expect.any(String),
    });
  });
});
