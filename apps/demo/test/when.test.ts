import { describe, expect, it } from 'vitest';
import { formatNotificationTime, notificationTime } from '../src/page/when.js';

// Local-time dates, so the tests hold in any time zone.
const arrivedAt = new Date(2026, 10, 29, 14, 30, 15);

describe('notificationTime', () => {
  it("takes the notification's own timestamp when it is a valid time", () => {
    expect(notificationTime('2026-01-15T08:30:00Z', arrivedAt)).toEqual(
      new Date('2026-01-15T08:30:00Z'),
    );
  });

  it('falls back to the arrival moment when the timestamp is missing or not a time', () => {
    for (const timestamp of [undefined, null, 1_764_400_000_000, '', 'yesterday']) {
      expect(notificationTime(timestamp, arrivedAt)).toBe(arrivedAt);
    }
  });
});

describe('formatNotificationTime', () => {
  const now = new Date(2026, 10, 29, 18, 0, 0);

  it('shows only the time of day for a moment earlier today', () => {
    expect(formatNotificationTime(new Date(2026, 10, 29, 9, 5, 0), now, 'en-GB')).toBe('09:05:00');
  });

  it('shows the date as well for any other day', () => {
    expect(formatNotificationTime(new Date(2026, 10, 28, 9, 5, 0), now, 'en-GB')).toBe(
      '28 Nov 2026, 09:05:00',
    );
    // Same day of the month, another month or year: still another day.
    expect(formatNotificationTime(new Date(2026, 9, 29, 9, 5, 0), now, 'en-GB')).toContain(
      '29 Oct 2026',
    );
    expect(formatNotificationTime(new Date(2025, 10, 29, 9, 5, 0), now, 'en-GB')).toContain(
      '29 Nov 2025',
    );
  });
});
