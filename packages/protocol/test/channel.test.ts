import { describe, expect, it } from 'vitest';
import { DEFAULT_CHANNEL_PREFIX, userChannel, userIdFromChannel } from '../src/index.js';

describe('user channels', () => {
  it('names a user channel ws:<userId> by default', () => {
    expect(DEFAULT_CHANNEL_PREFIX).toBe('ws');
    expect(userChannel('teacher-1')).toBe('ws:teacher-1');
  });

  it('honours a configured prefix and round-trips', () => {
    expect(userChannel('u:1', 'staging')).toBe('staging:u:1');
    expect(userIdFromChannel('staging:u:1', 'staging')).toBe('u:1');
  });

  it('rejects channels of another prefix or without a user', () => {
    expect(userIdFromChannel('other:u1')).toBeUndefined();
    expect(userIdFromChannel('ws:')).toBeUndefined();
  });
});
