import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CHANNEL_PREFIX,
  historyKeys,
  readPublishScriptReply,
  userChannel,
  userIdFromChannel,
} from '../src/index.js';

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

describe("a user's history keys and the publish script's reply", () => {
  it('puts every key of a user in the slot of the user channel', () => {
    expect(historyKeys('teacher-1')).toEqual({
      stream: '{ws:teacher-1}:history',
      meta: '{ws:teacher-1}:meta',
    });
  });

  it('reads [position, epoch, receivers, duplicate] and refuses any other shape', () => {
    expect(readPublishScriptReply([3, 'e1', 2, 0])).toEqual({
      position: 3,
      epoch: 'e1',
      receivers: 2,
      duplicate: false,
    });
    expect(readPublishScriptReply([3, 'e1', 0, 1])?.duplicate).toBe(true);
    for (const reply of [
      'OK',
      null,
      [3, 'e1', 2],
      [3, 'e1', 2, 2],
      ['3', 'e1', 2, 0],
      [3, 7, 2, 0],
    ]) {
      expect(readPublishScriptReply(reply), JSON.stringify(reply)).toBeUndefined();
    }
  });
});
