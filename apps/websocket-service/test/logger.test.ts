import { describe, expect, it } from 'vitest';
import { captureLogger } from './helpers.js';

describe('createLogger', () => {
  it('writes one JSON object per line with a level name and time', () => {
    const log = captureLogger('info');
    log.logger.info({ port: 8080 }, 'listening');
    log.logger.debug('hidden at info level');
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({
      level: 'info',
      msg: 'listening',
      port: 8080,
      service: 'websocket-service',
    });
    expect(typeof log.lines[0]?.time).toBe('string');
  });

  it('redacts fields that could carry a token', () => {
    const log = captureLogger('info');
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.sig';
    log.logger.info(
      { token, url: `/ws?token=${token}`, query: `token=${token}`, ctx: { token } },
      'x',
    );
    expect(log.text()).not.toContain(token);
    expect(log.lines[0]).toMatchObject({ token: '[redacted]', url: '[redacted]' });
  });
});
