import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import {
  authFailureReasons,
  closeActionFor,
  closeCodes,
  closeReasons,
  disconnectDataSchema,
  historyKeys,
  isRevoked,
  notificationTypes,
  revocationKey,
  userCommands,
} from '../src/index.js';

describe('revocation contract', () => {
  it('keeps the key in the hash slot of the user channel, beside the history', () => {
    expect(revocationKey('teacher-1')).toBe('{ws:teacher-1}:revoked_before');
    expect(revocationKey('u:1', 'staging')).toBe('{staging:u:1}:revoked_before');
    const tag = (key: string) => key.slice(0, key.indexOf('}') + 1);
    expect(tag(revocationKey('t9'))).toBe(tag(historyKeys('t9').stream));
  });

  it('names a command no notification type can collide with', () => {
    expect(userCommands.DISCONNECT).toBe('ws.disconnect');
    expect(notificationTypes).not.toContain(userCommands.DISCONNECT);
  });

  it('closes with 1008 token_revoked, which a client answers by fetching a fresh token', () => {
    expect(authFailureReasons).toContain(closeReasons.TOKEN_REVOKED);
    expect(closeActionFor(closeCodes.AUTH_FAILED)).toBe('refresh_token');
  });

  it('accepts a disconnect with or without issued_before and names what is wrong otherwise', () => {
    expect(z.safeParse(disconnectDataSchema, { reason: 'logout' }).success).toBe(true);
    expect(
      z.safeParse(disconnectDataSchema, {
        reason: 'password_changed',
        issued_before: 1_800_000_000,
      }).success,
    ).toBe(true);
    const bad = z.safeParse(disconnectDataSchema, { reason: 'two words', issued_before: 1.5 });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((issue) => issue.path.join('.'))).toEqual([
      'reason',
      'issued_before',
    ]);
    expect(z.safeParse(disconnectDataSchema, { reason: 'x'.repeat(65) }).success).toBe(false);
  });

  it('refuses tokens issued in an earlier second, or without iat; passes the same second', () => {
    expect(isRevoked(99, 100)).toBe(true);
    expect(isRevoked(99.9, 100.5)).toBe(true);
    expect(isRevoked(100, 100.7)).toBe(false);
    expect(isRevoked(101, 100)).toBe(false);
    expect(isRevoked(undefined, 100)).toBe(true);
  });
});
