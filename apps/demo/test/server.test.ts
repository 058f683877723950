import { freePort, startNodeProcess } from '@huleedu/test-support';
import { describe, expect, it } from 'vitest';
import { demoServerScript } from './support/processes.js';

describe('node dist/server.js', () => {
  it('exits with a clear message when JWT_SECRET_KEY is missing', async () => {
    const demo = await startNodeProcess(demoServerScript);
    expect(await demo.exited).toEqual({ code: 2, signal: null });
    expect(demo.output()).toContain('JWT_SECRET_KEY: required');
  });

  it('listens on 127.0.0.1 by default, answers, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const demo = await startNodeProcess(demoServerScript, {
      env: {
        JWT_SECRET_KEY: 'secret',
        DEMO_PORT: String(port),
        WEBSOCKET_REDIS_URL: 'redis://127.0.0.1:1',
      },
      readyLine: /"msg":"listening"/,
    });
    try {
      expect(demo.output()).toContain(`"url":"http://127.0.0.1:${port}/"`);
      const response = await fetch(`http://127.0.0.1:${port}/api/samples`);
      expect(response.status).toBe(200);
    } finally {
      demo.child.kill('SIGTERM');
    }
    expect(await demo.exited).toEqual({ code: 0, signal: null });
  });
});
