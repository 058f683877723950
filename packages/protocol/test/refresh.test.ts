import { describe, expect, it } from 'vitest';
import {
  parseEnvelope,
  parseRefreshTokenFrame,
  refreshEvents,
  refreshTokenFrame,
  tokenRefreshedDataSchema,
  tokenRefreshedFrame,
} from '../src/index.js';

describe('in-band token refresh', () => {
  it('round-trips a refresh frame', () => {
    const frame = refreshTokenFrame('a.b.c');
    expect(JSON.parse(frame)).toEqual({ event: 'ws.refresh_token', data: { token: 'a.b.c' } });
    expect(parseRefreshTokenFrame(frame)).toEqual({ ok: true, token: 'a.b.c' });
  });

  it('refuses what is not a refresh, without quoting the token', () => {
    expect(parseRefreshTokenFrame('ping')).toEqual({ ok: false, reason: 'not JSON' });
    const other = parseRefreshTokenFrame('{"event":"ws.resync","data":{"token":"secret.x.y"}}');
    expect(other).toEqual({ ok: false, reason: 'event: expected "ws.refresh_token"' });
    const empty = parseRefreshTokenFrame('{"event":"ws.refresh_token","data":{"token":""}}');
    expect(empty).toMatchObject({
      ok: false,
      reason: 'data.token: expected a token (1-8192 characters)',
    });
    const missing = parseRefreshTokenFrame('{"event":"ws.refresh_token","data":{}}');
    expect(missing.ok).toBe(false);
    expect(JSON.stringify(other)).not.toContain('secret');
  });

  it("answers with the new expiry, an envelope a client's parser reads", () => {
    const frame = tokenRefreshedFrame(1_767_225_600_000);
    const parsed = parseEnvelope(frame);
    expect(parsed.ok && parsed.envelope.event).toBe(refreshEvents.TOKEN_REFRESHED);
    expect(parsed.ok && tokenRefreshedDataSchema.safeParse(parsed.envelope.data).success).toBe(
      true,
    );
    expect(tokenRefreshedDataSchema.safeParse({ expires_at: 1.5 }).success).toBe(false);
  });
});
