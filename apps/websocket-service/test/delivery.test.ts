import type { Duplex } from 'node:stream';
import { waitFor } from '@huleedu/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ClientSocket } from '../src/client-socket.js';
import { createDelivery } from '../src/delivery.js';
import { syncStates } from '../src/history/socket-state.js';
import type { LiveHistory } from '../src/history/sync.js';
import { RateLimitedLog } from '../src/rate-limited-log.js';
import { ConnectionRegistry } from '../src/registry.js';
import { captureLogger, closeOf, registryMetrics, socketPairs, textFrames } from './helpers.js';

let teardown: (() => Promise<void>) | undefined;
afterEach(async () => {
  await teardown?.();
  teardown = undefined;
});

async function setup(maxBufferedBytes = 1024 * 1024, history?: LiveHistory) {
  const pairs = await socketPairs();
  teardown = pairs.close;
  const registry = new ConnectionRegistry<ClientSocket>(5);
  const metrics = registryMetrics(registry);
  const log = captureLogger();
  const dropLog = new RateLimitedLog({ logger: log.logger, linesPerInterval: 10 });
  const deliverBytes = createDelivery({
    registry,
    metrics,
    dropLog,
    maxBufferedBytes,
    ...(history === undefined ? {} : { history }),
  });
  const deliver = (userId: string, text: string) => deliverBytes(userId, Buffer.from(text));
  const connect = async (userId: string) => {
    const pair = await pairs.open();
    registry.add(userId, pair.server);
    return { ...pair, frames: textFrames(pair.client) };
  };
  return { registry, metrics, log, dropLog, deliver, deliverBytes, connect };
}

describe('createDelivery', () => {
  it('sends the published bytes unchanged, as text, to every tab of the user and nobody else', async () => {
    const { deliver, connect, metrics } = await setup();
    const tabA = await connect('teacher-1');
    const tabB = await connect('teacher-1');
    const other = await connect('teacher-2');
    // Python's json.dumps output: spaces after separators, non-ASCII escaped. Kept byte for byte.
    const legacy =
      '{"event": "batch_results_ready", "data": {"batch_id": "b-1", "message": "Kl\\u00e4r"}}';
    deliver('teacher-1', legacy);
    const unicode = '{"event":"class_created","data":{"class_name":"Svenska 1 – ÅÄÖ"}}';
    deliver('teacher-1', unicode);

    await waitFor(() => tabA.frames.length === 2 && tabB.frames.length === 2, {
      message: 'both tabs received both messages',
    });
    expect(tabA.frames).toEqual([legacy, unicode]);
    expect(tabB.frames).toEqual([legacy, unicode]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(other.frames).toEqual([]);
    expect(metrics.redisMessages).toBe(2);
    expect(metrics.framesDelivered).toBe(4);
  });

  it('observes publish-to-write latency once per message that carries published_ms, not per tab', async () => {
    const { deliver, connect, metrics } = await setup();
    const tabA = await connect('teacher-1');
    const tabB = await connect('teacher-1');
    const stamped = JSON.stringify({
      position: 1,
      epoch: 'e',
      published_ms: Date.now() - 50,
      event: 'class_created',
      data: {},
    });
    deliver('teacher-1', stamped);
    // A legacy raw PUBLISH has no publish time: delivered, not observed.
    deliver('teacher-1', '{"event":"class_created","data":{}}');
    // Nobody is online: nothing written, nothing observed.
    deliver('teacher-9', stamped);
    await waitFor(() => tabA.frames.length === 2 && tabB.frames.length === 2, {
      message: 'both tabs received both messages',
    });
    const { body } = await metrics.render();
    expect(body).toMatch(/^huleedu_ws_delivery_latency_seconds_count 1$/m);
    expect(body).toMatch(/^huleedu_ws_delivery_latency_seconds_bucket\{le="0.025"\} 0$/m);
    expect(body).toMatch(/^huleedu_ws_delivery_latency_seconds_bucket\{le="0.1"\} 1$/m);
  });

  it('drops malformed payloads with a warning and a metric, and keeps delivering after them', async () => {
    const { deliver, connect, metrics, log } = await setup();
    const tab = await connect('teacher-1');
    const bad = [
      'not json',
      '[1,2]',
      '{"data":{}}',
      '{"event":"x","data":"text"}',
      '{"event":"","data":{}}',
    ];
    for (const payload of bad) deliver('teacher-1', payload);
    deliver('teacher-1', '{"event":"ok","data":{}}');

    await waitFor(() => tab.frames.length === 1, { message: 'valid message delivered' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(tab.frames).toEqual(['{"event":"ok","data":{}}']);
    expect(tab.client.readyState).toBe(tab.client.OPEN);
    expect(metrics.malformedPayloads).toBe(bad.length);
    const warnings = log.lines.filter((l) => l.msg === 'dropped malformed notification payload');
    expect(warnings).toHaveLength(bad.length);
    expect(warnings[0]).toMatchObject({ level: 'warn', userId: 'teacher-1', reason: 'not JSON' });
    // The protocol package words the reason; it names the bad field.
    expect(String(warnings[2]?.reason)).toMatch(/^event: /);
  });

  it('logs a flood of malformed payloads at a bounded rate, every one counted', async () => {
    const { deliver, connect, metrics, log, dropLog } = await setup();
    const tab = await connect('teacher-1');
    for (let i = 0; i < 500; i++) deliver('teacher-1', `not json ${i}`);
    deliver('teacher-1', '{"event":"ok","data":{}}');
    await waitFor(() => tab.frames.length === 1, { message: 'valid message delivered' });
    expect(metrics.malformedPayloads).toBe(500);
    const warnings = () =>
      log.lines.filter((l) => l.msg === 'dropped malformed notification payload');
    expect(warnings()).toHaveLength(10);
    // The interval's end (here: close) writes one line with how many were left out.
    dropLog.close();
    expect(log.text()).toContain('490');
    expect(dropLog.suppressedTotal).toBe(490);
  });

  it('drops payloads that are not UTF-8 instead of sending a text frame browsers would reject', async () => {
    const { deliverBytes, connect, metrics, log } = await setup();
    const tab = await connect('teacher-1');
    const invalid = Buffer.concat([
      Buffer.from('{"event":"x","data":{"name":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}}'),
    ]);
    deliverBytes('teacher-1', invalid);
    deliverBytes('teacher-1', Buffer.from('{"event":"ok","data":{}}'));
    await waitFor(() => tab.frames.length === 1, { message: 'valid message delivered' });
    expect(tab.frames).toEqual(['{"event":"ok","data":{}}']);
    expect(metrics.malformedPayloads).toBe(1);
    expect(log.lines.find((l) => l.reason === 'not UTF-8')).toMatchObject({ level: 'warn' });
  });

  it('sends its own copy, unaffected if the Redis buffer is reused right after', async () => {
    const { deliverBytes, connect } = await setup();
    const tab = await connect('teacher-1');
    const payload = Buffer.from('{"event":"copy","data":{"n":1}}');
    deliverBytes('teacher-1', payload);
    payload.fill(0x20); // what a reused parser buffer would do to a frame still queued
    await waitFor(() => tab.frames.length === 1, { message: 'delivered' });
    expect(tab.frames).toEqual(['{"event":"copy","data":{"n":1}}']);
  });

  it('skips sockets that are closing and counts messages for users who already left', async () => {
    const { deliver, connect, metrics, registry } = await setup();
    const leaving = await connect('teacher-1');
    const staying = await connect('teacher-1');
    const closed = closeOf(leaving.client);
    leaving.server.close(1000);
    deliver('teacher-1', '{"event":"e","data":{}}');
    await closed;
    await waitFor(() => staying.frames.length === 1, { message: 'delivered to the open tab' });
    expect(leaving.frames).toEqual([]);
    expect(metrics.framesDelivered).toBe(1);

    registry.remove('teacher-1', leaving.server);
    registry.remove('teacher-1', staying.server);
    deliver('teacher-1', '{"event":"e","data":{}}');
    expect(metrics.unroutedMessages).toBe(1);
  });

  it('drops a reader that stopped draining once its backlog passes the limit, and keeps serving the others', async () => {
    const { deliver, connect, metrics } = await setup(64 * 1024);
    const stalled = await connect('teacher-1');
    const healthy = await connect('teacher-2');
    // The stalled tab stops reading: the kernel buffers fill, then the service's queue grows.
    const clientSocket = (stalled.client as unknown as { _socket: Duplex })._socket;
    clientSocket.pause();
    const big = `{"event":"e","data":{"pad":"${'x'.repeat(64 * 1024)}"}}`;
    for (let i = 0; i < 2000 && metrics.framesDelivered === i; i++) {
      deliver('teacher-1', big);
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(metrics.framesDelivered).toBeLessThan(2000);
    expect(stalled.server.readyState).not.toBe(WebSocket.OPEN);
    const { body } = await metrics.render();
    expect(body).toContain('huleedu_ws_server_closes_total{reason="slow_consumer"} 1');

    deliver('teacher-2', '{"event":"after","data":{}}');
    await waitFor(() => healthy.frames.length === 1, { message: 'the healthy tab still served' });
    // Once the stalled tab reads again it finds the connection dropped, without a close frame.
    const dropped = closeOf(stalled.client);
    clientSocket.resume();
    expect((await dropped).code).toBe(1006);
  });
});

/** A positioned message as the publish script writes it. */
const positioned = (position: number, epoch = 'E1') =>
  `{"position":${position},"epoch":"${epoch}","event":"numbered","data":{}}`;
const positionOf = (frame: string) => (JSON.parse(frame) as { position?: number }).position;

/** What the live path asked of the history: held messages and gaps, recorded. */
function recordingHistory() {
  const calls = { gaps: [] as string[], holding: new Set<string>(), held: [] as number[] };
  const history: LiveHistory = {
    hold: (userId, position) => {
      if (!calls.holding.has(userId)) return false;
      calls.held.push(position);
      return true;
    },
    gap: (userId) => {
      calls.gaps.push(userId);
    },
  };
  return { history, calls };
}

describe('createDelivery with history: positioned messages in order', () => {
  it('sends each socket the position after its own, drops what it has, and reports a gap', async () => {
    const { history, calls } = recordingHistory();
    const { deliver, connect, metrics } = await setup(1024 * 1024, history);
    const tab = await connect('teacher-1');
    // Synced at 2 of epoch E1.
    tab.server.position = 2;
    tab.server.epoch = 'E1';
    deliver('teacher-1', positioned(3));
    deliver('teacher-1', positioned(3)); // a duplicate (e.g. replayed and live)
    deliver('teacher-1', positioned(2));
    deliver('teacher-1', positioned(5)); // 4 is missing: not sent, the gap is reported
    deliver('teacher-1', positioned(4, 'E2')); // another epoch: not sent either
    await waitFor(() => tab.frames.length === 1, { message: 'position 3' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(tab.frames.map(positionOf)).toEqual([3]);
    expect(tab.server.position).toBe(3);
    expect(metrics.duplicatesDropped).toBe(2);
    expect(calls.gaps).toEqual(['teacher-1', 'teacher-1']);
    expect(metrics.framesDelivered).toBe(1);
  });

  it('observes the latency of a positioned message only when a socket got it', async () => {
    const { history } = recordingHistory();
    const { deliver, connect, metrics } = await setup(1024 * 1024, history);
    const tab = await connect('teacher-1');
    tab.server.position = 2;
    tab.server.epoch = 'E1';
    const stamped = (position: number) =>
      `{"position":${position},"epoch":"E1","published_ms":${Date.now()},"event":"numbered","data":{}}`;
    deliver('teacher-1', stamped(3));
    deliver('teacher-1', stamped(3)); // a duplicate: not written, not observed
    await waitFor(() => tab.frames.length === 1, { message: 'position 3' });
    const { body } = await metrics.render();
    expect(body).toMatch(/^huleedu_ws_delivery_latency_seconds_count 1$/m);
  });

  it('lets a socket without an epoch take position 1 of any epoch, and no other', async () => {
    const { history, calls } = recordingHistory();
    const { deliver, connect } = await setup(1024 * 1024, history);
    const tab = await connect('teacher-1');
    deliver('teacher-1', positioned(2, 'NEW'));
    expect(calls.gaps).toEqual(['teacher-1']);
    deliver('teacher-1', positioned(1, 'NEW'));
    deliver('teacher-1', positioned(2, 'NEW'));
    await waitFor(() => tab.frames.length === 2, { message: '1 and 2' });
    expect(tab.frames.map(positionOf)).toEqual([1, 2]);
    expect(tab.server.epoch).toBe('NEW');
  });

  it('holds positioned messages back while the user is read for, and from syncing sockets', async () => {
    const { history, calls } = recordingHistory();
    const { deliver, connect, metrics } = await setup(1024 * 1024, history);
    const live = await connect('teacher-1');
    const syncing = await connect('teacher-1');
    syncing.server.syncState = syncStates.SYNCING;
    deliver('teacher-1', positioned(1));
    calls.holding.add('teacher-1');
    deliver('teacher-1', positioned(2));
    // Unpositioned (legacy) messages are never held: every open socket gets them, counted.
    const legacy = '{"event": "legacy", "data": {}}';
    deliver('teacher-1', legacy);
    await waitFor(() => live.frames.length === 2 && syncing.frames.length === 1, {
      message: 'delivered',
    });
    expect(live.frames).toEqual([positioned(1), legacy]);
    expect(syncing.frames).toEqual([legacy]);
    expect(calls.held).toEqual([2]);
    expect(calls.gaps).toEqual([]);
    expect(metrics.unpositionedMessages).toBe(1);
    expect(live.server.position).toBe(1);
  });

  it('lets a socket whose history could not be read (ADOPT) take up the stream at any position', async () => {
    const { history } = recordingHistory();
    const { deliver, connect } = await setup(1024 * 1024, history);
    const tab = await connect('teacher-1');
    tab.server.syncState = syncStates.ADOPT;
    tab.server.position = 3;
    tab.server.epoch = 'OLD';
    deliver('teacher-1', positioned(41, 'E9'));
    deliver('teacher-1', positioned(42, 'E9'));
    await waitFor(() => tab.frames.length === 2, { message: '41 and 42' });
    expect(tab.server.syncState).toBe(syncStates.LIVE);
    expect(tab.frames.map(positionOf)).toEqual([41, 42]);
  });

  it('without history sends positioned messages as they come, like any other', async () => {
    const { deliver, connect, metrics } = await setup();
    const tab = await connect('teacher-1');
    deliver('teacher-1', positioned(7));
    deliver('teacher-1', positioned(7));
    deliver('teacher-1', positioned(3));
    deliver('teacher-1', '{"event":"x","data":{},"position":"7","epoch":"E1"}');
    await waitFor(() => tab.frames.length === 4, { message: 'all four' });
    expect(metrics.duplicatesDropped).toBe(0);
    // A position that is not a whole number >= 1 makes a message unpositioned.
    expect(metrics.unpositionedMessages).toBe(1);
  });
});
