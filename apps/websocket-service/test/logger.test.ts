import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { captureLogger } from './helpers.js';

const run = promisify(execFile);
const loggerModule = pathToFileURL(
  join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'logger.js'),
).href;

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

  it('redacts the Sec-WebSocket-Protocol header, which carries the bearer subprotocol', () => {
    const log = captureLogger('info');
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.sig';
    const header = `huleedu.v1, huleedu.bearer.${token}`;
    log.logger.info({ 'sec-websocket-protocol': header }, 'a');
    log.logger.info({ request: { headers: { 'sec-websocket-protocol': header } } }, 'b');
    log.logger.info({ handshake: { 'sec-websocket-protocol': header }, protocols: header }, 'c');
    expect(log.text()).not.toContain(token);
  });

  it('keeps the last lines before process.exit, in the order they were logged', async () => {
    // What a shutdown does: log, log again at once, exit. With pino's asynchronous default the
    // first line was still in flight in about one exit in ten, and landed after the second.
    const script = `
      const { createLogger } = await import(${JSON.stringify(loggerModule)});
      const logger = createLogger({ level: 'info' });
      setTimeout(() => {
        logger.info('worker exited');
        logger.info('stopped');
        Promise.resolve().then(() => process.exit(0));
      }, 1);`;
    const runs = Array.from({ length: 40 }, () =>
      run(process.execPath, ['--input-type=module', '-e', script]).then(({ stdout }) =>
        stdout
          .trim()
          .split('\n')
          .map((line) => (JSON.parse(line) as { msg: string }).msg)
          .join(' > '),
      ),
    );
    const orders = await Promise.all(runs);
    expect(new Set(orders)).toEqual(new Set(['worker exited > stopped']));
  });
});
