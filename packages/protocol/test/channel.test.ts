import { describe, expect, it } from 'vitest';
import {
  channelPrefixProblem,
  DEFAULT_CHANNEL_PREFIX,
  hashTagProblem,
  historyKeys,
  MAX_USER_ID_LENGTH,
  readPublishScriptReply,
  subjectPatternProblem,
  userChannel,
  userIdFromChannel,
  userIdProblem,
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

describe('what publishers accept as a user id or channel prefix', () => {
  it('accepts ids and refuses whitespace, control, glob characters and overlong ids', () => {
    for (const ok of ['teacher-1', 'u:1', 'anna@school.se', 'über', 'x'.repeat(256)]) {
      expect(userIdProblem(ok), ok).toBeUndefined();
    }
    expect(userIdProblem('')).toBe('must not be empty');
    expect(userIdProblem(7)).toBe('expected a string, got number');
    expect(userIdProblem('a b')).toContain('contains " "');
    expect(userIdProblem('a*')).toContain('contains "*"');
    expect(userIdProblem('x'.repeat(257))).toBe(
      `too long (257 characters, maximum ${MAX_USER_ID_LENGTH})`,
    );
  });

  it('refuses a prefix with "}", which would move keys to another cluster slot', () => {
    expect(channelPrefixProblem('ws')).toBeUndefined();
    expect(channelPrefixProblem('staging:ws')).toBeUndefined();
    expect(channelPrefixProblem('ws}')).toContain('another Redis Cluster slot');
    expect(channelPrefixProblem('w s')).toContain('contains " "');
    expect(hashTagProblem('u}1')).toContain('contains "}"');
  });

  it('refuses a subject pattern that admits user ids publishers refuse', () => {
    const whole = (source: string) => (id: string) => new RegExp(`^(?:${source})$`, 'u').test(id);
    expect(subjectPatternProblem(whole('[A-Za-z0-9._:@-]{1,128}'))).toBeUndefined();
    expect(subjectPatternProblem(whole('[0-9]+'))).toContain('characters)');
    expect(subjectPatternProblem(whole('.+'))).toContain('admits " "');
    expect(subjectPatternProblem(whole('\\S+'))).toContain('a user id publishers refuse');
    expect(subjectPatternProblem(whole('[a-z}]+'))).toContain('admits "}"');
    // A length bound beside the pattern, as the service applies it, makes [0-9]+ safe.
    const bounded = (id: string) => id.length <= 128 && whole('[0-9]+')(id);
    expect(subjectPatternProblem(bounded)).toBeUndefined();
  });
});
