import { describe, expect, it } from 'vitest';
import {
  categories,
  checkPayload,
  notificationCatalog,
  notificationTypes,
  priorities,
  validateNotification,
} from '../src/index.js';
import { sampleMeta as meta } from './samples.js';

describe('notification catalogue', () => {
  it('lists every type in DESIGN.md with a valid category and priority', () => {
    expect(notificationTypes).toHaveLength(18);
    for (const type of notificationTypes) {
      const spec = notificationCatalog[type];
      expect(categories).toContain(spec.category);
      expect(priorities).toContain(spec.priority);
    }
    expect(notificationCatalog.batch_results_ready).toMatchObject({
      category: 'processing_results',
      priority: 'high',
    });
    expect(notificationCatalog.pipeline_denied_insufficient_credits.actionRequired).toBe(true);
  });

  it('validates a known notification and keeps extra fields', () => {
    const result = validateNotification({
      event: 'batch_results_ready',
      data: { ...meta, batch_id: 'b1', results_count: 3, message: 'done', extra: 1 },
    });
    expect(result).toMatchObject({ ok: true, known: true });
    if (result.ok && result.known) expect(result.notification.data).toMatchObject({ extra: 1 });
  });

  it('accepts what Python backends send: naive and offset ISO times, null class', () => {
    const result = validateNotification({
      event: 'batch_results_ready',
      data: {
        ...meta,
        timestamp: '2026-11-22T10:00:00.123456',
        deadline: '2026-11-23T10:00:00+01:00',
        class_id: null,
        batch_id: 'b1',
        results_count: 0,
        message: 'done',
      },
    });
    expect(result).toMatchObject({ ok: true, known: true });
  });

  it('names every bad field of a known type', () => {
    const result = validateNotification({
      event: 'batch_results_ready',
      data: { ...meta, priority: 'urgent', batch_id: '', results_count: 'three', message: 'done' },
    });
    expect(result).toEqual({
      ok: false,
      reason:
        'batch_results_ready: data.batch_id: expected a non-empty string, got ""; ' +
        'data.results_count: expected a whole number >= 0, got "three"; ' +
        'data.priority: expected one of critical|immediate|high|standard|low, got "urgent"',
    });
  });

  it('checks a payload alone, for publishers', () => {
    expect(checkPayload('class_created', { class_id: 'c1', message: 'New class' })).toEqual([]);
    expect(checkPayload('pipeline_completed', { batch_id: 'b', message: 'm' })).toEqual([
      'data.completed_phases: expected a list of strings, got nothing',
      'data.final_status: expected a string, got nothing',
    ]);
    expect(checkPayload('class_created', 'nope')).toEqual(['data: expected an object, got "nope"']);
  });

  it('lets unknown types through as unknown', () => {
    expect(validateNotification({ event: 'future_type', data: {} })).toMatchObject({
      ok: true,
      known: false,
    });
  });
});

describe('links in notifications', () => {
  const results = { batch_id: 'b1', message: 'ready', results_count: 1 };
  it('accepts http(s) URLs and paths on the app origin', () => {
    for (const url of [
      'https://huleedu.example/batches/b1/results.zip',
      'http://localhost:3000/r?x=1#top',
      'HTTPS://HULEEDU.EXAMPLE',
      '/batches/b1/results',
      '/',
    ]) {
      expect(checkPayload('batch_results_ready', { ...results, download_url: url }), url).toEqual(
        [],
      );
    }
  });

  it('refuses javascript:, data:, other schemes, protocol-relative and userinfo URLs', () => {
    for (const url of [
      'javascript:alert(1)',
      'JavaScript:alert(1)',
      ' javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox',
      'file:///etc/passwd',
      'ftp://host/x',
      '//evil.example/x',
      '/\\evil.example/x',
      'https://huleedu.example@evil.example/',
      'https:///x',
      'https://host/a b',
      'results.zip',
      '',
    ]) {
      expect(checkPayload('batch_results_ready', { ...results, download_url: url }), url).toEqual([
        expect.stringContaining('data.download_url: expected an http(s) URL'),
      ]);
    }
  });

  it('is refused by readers too, so a client never shows such a link', () => {
    const checked = validateNotification({
      event: 'batch_results_ready',
      data: { ...results, ...meta, download_url: 'javascript:alert(1)' },
    });
    expect(checked.ok).toBe(false);
  });
});
