import { describe, expect, it } from 'vitest';
import { closeActionFor, closeCodePolicies, closeCodes, closeReasons } from '../src/index.js';

describe('close-code table', () => {
  it('has a policy row for every code, keyed consistently', () => {
    for (const [name, code] of Object.entries(closeCodes)) {
      expect(closeCodePolicies[code]).toMatchObject({ code, name });
    }
  });

  it('tells a client what to do', () => {
    expect(closeActionFor(closeCodes.NORMAL)).toBe('stop');
    expect(closeActionFor(closeCodes.GOING_AWAY)).toBe('reconnect_soon');
    expect(closeActionFor(closeCodes.AUTH_FAILED)).toBe('refresh_token');
    expect(closeActionFor(closeCodes.CONNECTION_LIMIT)).toBe('backoff');
    // Sent with rate_limited: a client that floods must not reconnect at once.
    expect(closeActionFor(closeCodes.TRY_AGAIN_LATER)).toBe('backoff');
    expect(closeActionFor(1006)).toBe('backoff');
  });

  it('keeps every reason within the 123-byte close-frame limit', () => {
    for (const reason of Object.values(closeReasons)) {
      expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    }
  });
});
