import { waitFor } from '@huleedu/test-support';
import { closeCodes, closeReasons } from '@huleedu/ws-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientSocket } from '../src/client-socket.js';
import { createDelivery } from '../src/delivery.js';
import { RateLimitedLog } from '../src/rate-limited-log.js';
import { ConnectionRegistry } from '../src/registry.js';
import { createUserCommandHandler, isUserCommand } from '../src/user-commands.js';
import { captureLogger, closeOf, registryMetrics, socketPairs, textFrames } from './helpers.js';

let teardown: (() => Promise<void>) | undefined;
afterEach(async () => {
  await teardown?.();
  teardown = undefined;
});

/** Delivery with the command handler, over real sockets (the close is what sessions sends). */
async function setup(withHandler = true) {
  const pairs = await socketPairs();
  teardown = pairs.close;
  const registry = new ConnectionRegistry<ClientSocket>(5);
  const metrics = registryMetrics(registry);
  const log = captureLogger();
  const dropLog = new RateLimitedLog({ logger: log.logger });
  const closed: ClientSocket[] = [];
  const onUserCommand = createUserCommandHandler({
    socketsOf: (userId) => registry.socketsOf(userId),
    closeRevoked: (socket) => {
      closed.push(socket);
      socket.close(closeCodes.AUTH_FAILED, closeReasons.TOKEN_REVOKED);
    },
    metrics,
    dropLog,
  });
  const deliver = createDelivery({
    registry,
    metrics,
    dropLog,
    maxBufferedBytes: 1 << 20,
    ...(withHandler ? { onUserCommand } : {}),
  });
  const connect = async (userId: string) => {
    const pair = await pairs.open();
    registry.add(userId, pair.server);
    return { ...pair, frames: textFrames(pair.client), closed: closeOf(pair.client) };
  };
  const publish = (userId: string, message: unknown) =>
    deliver(userId, Buffer.from(JSON.stringify(message)));
  return { connect, publish, closed, metrics, log };
}

describe('user commands (ws.disconnect)', () => {
  it('recognises only the disconnect command', () => {
    expect(isUserCommand({ event: 'ws.disconnect', data: {} })).toBe(true);
    expect(isUserCommand({ event: 'ws.synced', data: {} })).toBe(false);
    expect(isUserCommand({ event: 'batch_results_ready', data: {} })).toBe(false);
  });

  it('closes every socket of the user with 1008 token_revoked, forwards nothing, logs who and why', async () => {
    const { connect, publish, log } = await setup();
    const tabA = await connect('teacher-1');
    const tabB = await connect('teacher-1');
    const other = await connect('teacher-2');
    publish('teacher-1', {
      event: 'ws.disconnect',
      data: { reason: 'password_changed', issued_before: 1_800_000_000 },
    });
    expect(await tabA.closed).toEqual({ code: 1008, reason: 'token_revoked' });
    expect(await tabB.closed).toEqual({ code: 1008, reason: 'token_revoked' });
    publish('teacher-2', { event: 'class_created', data: {} });
    await waitFor(() => other.frames.length === 1, { message: 'teacher-2 still served' });
    expect([...tabA.frames, ...tabB.frames]).toEqual([]);
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        kind: 'user_disconnected',
        userId: 'teacher-1',
        reason: 'password_changed',
        sockets: 2,
        issuedBefore: 1_800_000_000,
      }),
    );
  });

  it('closes the sockets even when the data is malformed, and says so', async () => {
    const { connect, publish, log, metrics } = await setup();
    const tab = await connect('teacher-1');
    publish('teacher-1', { event: 'ws.disconnect', data: { reason: 'a b' } });
    expect(await tab.closed).toEqual({ code: 1008, reason: 'token_revoked' });
    expect(tab.frames).toEqual([]);
    expect(metrics.malformedPayloads).toBe(1);
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        kind: 'malformed_command',
        reason: expect.stringContaining('reason'),
      }),
    );
  });

  it('never forwards a command, even without a handler', async () => {
    const { connect, publish } = await setup(false);
    const tab = await connect('teacher-1');
    publish('teacher-1', { event: 'ws.disconnect', data: { reason: 'logout' } });
    publish('teacher-1', { event: 'class_created', data: {} });
    await waitFor(() => tab.frames.length === 1, { message: 'the notification' });
    expect(tab.frames).toEqual(['{"event":"class_created","data":{}}']);
  });
});
