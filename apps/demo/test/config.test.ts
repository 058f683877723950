import { describe, expect, it } from 'vitest';
import { DemoConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('binds to 127.0.0.1:3000 and points at a local service by default', () => {
    expect(loadConfig({ JWT_SECRET_KEY: 's' })).toEqual({
      host: '127.0.0.1',
      port: 3000,
      publicWebSocketUrl: 'ws://localhost:8080/ws',
      redisUrl: 'redis://localhost:6379',
      channelPrefix: 'ws',
      jwtSecret: 's',
      audience: undefined,
      issuer: undefined,
      userId: 'teacher-1',
      tokenTtlSeconds: 900,
    });
  });

  it('reads every setting from the environment', () => {
    const config = loadConfig({
      JWT_SECRET_KEY: 'secret',
      DEMO_PORT: '4100',
      DEMO_HOST: '0.0.0.0',
      WEBSOCKET_PUBLIC_URL: 'wss://notifications.example/ws',
      WEBSOCKET_REDIS_URL: 'redis://redis:6379',
      DEMO_USER_ID: 'teacher-7',
      DEMO_TOKEN_TTL_SECONDS: '60',
    });
    expect(config).toMatchObject({
      port: 4100,
      host: '0.0.0.0',
      publicWebSocketUrl: 'wss://notifications.example/ws',
      redisUrl: 'redis://redis:6379',
      userId: 'teacher-7',
      tokenTtlSeconds: 60,
    });
  });

  it('refuses to start without JWT_SECRET_KEY and says what to set', () => {
    expect(() => loadConfig({})).toThrow(DemoConfigError);
    expect(() => loadConfig({})).toThrow(/JWT_SECRET_KEY: required/);
  });

  it('names every bad variable at once', () => {
    let message = '';
    try {
      loadConfig({
        JWT_SECRET_KEY: 's',
        DEMO_PORT: 'eighty',
        WEBSOCKET_PUBLIC_URL: 'http://localhost:8080/ws',
        WEBSOCKET_REDIS_URL: 'localhost:6379',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('DEMO_PORT=eighty: expected an integer from 0 to 65535');
    expect(message).toContain(
      'WEBSOCKET_PUBLIC_URL=http://localhost:8080/ws: expected a ws:// or wss:// URL',
    );
    expect(message).toContain('WEBSOCKET_REDIS_URL=localhost:6379');
  });

  it('takes a blank value as unset, and an empty secret as missing', () => {
    expect(loadConfig({ JWT_SECRET_KEY: 's', DEMO_PORT: ' ', DEMO_USER_ID: '' })).toMatchObject({
      port: 3000,
      userId: 'teacher-1',
    });
    expect(() => loadConfig({ JWT_SECRET_KEY: '' })).toThrow(
      'invalid demo configuration:\n  JWT_SECRET_KEY: required; set it to the same secret the websocket service verifies tokens with',
    );
  });

  it('refuses a token lifetime outside 10 s to a day, and a fractional port', () => {
    expect(() => loadConfig({ JWT_SECRET_KEY: 's', DEMO_TOKEN_TTL_SECONDS: '5' })).toThrow(
      'DEMO_TOKEN_TTL_SECONDS=5: expected an integer from 10 to 86400',
    );
    expect(() => loadConfig({ JWT_SECRET_KEY: 's', DEMO_PORT: '80.5' })).toThrow(
      'DEMO_PORT=80.5: expected an integer from 0 to 65535',
    );
  });
});
