import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { historyKeys } from '@huleedu/ws-protocol';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientSocket } from '../src/client-socket.js';
import { createDelivery } from '../src/delivery.js';
import {
  HistoryReader,
  type HistoryReadRequest,
  type HistorySnapshot,
} from '../src/history/reader.js';
import { HistorySync, READ_ATTEMPTS } from '../src/history/sync.js';
import { RateLimitedLog } from '../src/rate-limited-log.js';
import { ConnectionRegistry } from '../src/registry.js';
import { captureLogger, registryMetrics, socketPairs, textFrames } from './helpers.js';
import { publishPositioned } from './integration/history.js';

// HistorySync and the live path together, against a real Redis (the shared publish script, the
// real reader) and real sockets. The reader can be gated: its answer is held back until
// released, to put live messages exactly where a race would.

let redis: RedisHandle;
let publisher: Redis;
let teardown: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  redis = await startRedis();
  publisher = new Redis(redis.url);
});

afterEach(async () => {
  for (const step of teardown.reverse()) await step();
  teardown = [];
});

afterAll(async () => {
  publisher?.disconnect();
  await redis?.stop();
});

/** A real reader whose answers wait at a gate while it is closed. */
class GatedReader {
  readonly reader: HistoryReader;
  readonly requests: HistoryReadRequest[] = [];
  /** Answers Redis gave that wait at the closed gate. */
  held = 0;
  /** Reads waiting at the closed gate before they are sent to Redis. */
  unsent = 0;
  #closed = false;
  #beforeSend = false;
  #waiting: Array<() => void> = [];

  constructor(timeoutMs: number) {
    const log = captureLogger();
    this.reader = new HistoryReader({
      redis: { mode: 'standalone', url: redis.url },
      channelPrefix: 'ws',
      logger: log.logger,
      timeoutMs,
    });
    this.reader.start();
  }

  /** Closes the gate: answers wait until {@link open}. */
  hold(): void {
    this.#closed = true;
  }

  /** Closes the gate in front of Redis: reads are not sent until {@link open}. */
  holdBeforeSend(): void {
    this.#beforeSend = true;
  }

  open(): void {
    this.#closed = false;
    this.#beforeSend = false;
    for (const release of this.#waiting.splice(0)) release();
  }

  async read(userId: string, request: HistoryReadRequest): Promise<HistorySnapshot> {
    this.requests.push(request);
    if (this.#beforeSend) {
      this.unsent++;
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    const snapshot = await this.reader.read(userId, request);
    if (this.#closed) {
      this.held++;
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    return snapshot;
  }
}

async function setup(options: { readConcurrency?: number; timeoutMs?: number } = {}) {
  const pairs = await socketPairs();
  const source = new GatedReader(options.timeoutMs ?? 2000);
  teardown.push(pairs.close, () => source.reader.close());
  const registry = new ConnectionRegistry<ClientSocket>(5);
  const metrics = registryMetrics(registry);
  const log = captureLogger();
  const dropLog = new RateLimitedLog({ logger: log.logger });
  teardown.push(() => dropLog.close());
  const history = new HistorySync({
    registry,
    source,
    settings: {
      replayMaxMessages: 50,
      recentMax: 10,
      readConcurrency: options.readConcurrency ?? 8,
      readTimeoutMs: options.timeoutMs ?? 2000,
    },
    isSubscribed: () => true,
    metrics,
    logger: log.logger,
    dropLog,
    maxBufferedBytes: 1024 * 1024,
  });
  teardown.push(() => history.close());
  const deliver = createDelivery({
    registry,
    metrics,
    dropLog,
    maxBufferedBytes: 1024 * 1024,
    history,
  });
  /** Admits a socket of `userId` as a first connect (or resume), as sessions.ts does. */
  const admit = async (
    userId: string,
    request:
      | { kind: 'first'; recent: number }
      | { kind: 'resume'; position: number; epoch: string } = { kind: 'first', recent: 0 },
  ) => {
    const pair = await pairs.open();
    const frames = textFrames(pair.client);
    pair.server.userId = userId;
    registry.add(userId, pair.server);
    history.admit(pair.server, request);
    return { ...pair, frames };
  };
  return { source, history, deliver, admit, metrics };
}

/** Publishes durably and returns the exact bytes stored (what the live path would get). */
async function publish(userId: string, n: number): Promise<Buffer> {
  const { position } = await publishPositioned(publisher, userId, {
    event: 'numbered',
    data: { n },
  });
  const entries = (await publisher.xrangeBuffer(
    historyKeys(userId).stream,
    `${position}-0`,
    `${position}-0`,
  )) as [Buffer, Buffer[]][];
  return entries[0]![1][1]!;
}

/** `1`, `2`… for notifications, `synced:N` / `resync:<reason>:N` for control messages. */
function timelineOf(frames: string[]): string[] {
  return frames.map((frame) => {
    const parsed = JSON.parse(frame) as {
      event: string;
      position?: number;
      data: { position: number; reason?: string };
    };
    if (parsed.event === 'ws.synced') return `synced:${parsed.data.position}`;
    if (parsed.event === 'ws.resync') return `resync:${parsed.data.reason}:${parsed.data.position}`;
    return String(parsed.position);
  });
}

describe('HistorySync with the live path', () => {
  it('reads again when live messages overtake the read, so they arrive once, in order, after ws.synced', async () => {
    const { source, deliver, admit } = await setup();
    source.hold();
    const tab = await admit('overtaken');
    await waitFor(() => source.held === 1, { message: 'Redis answered the read' });
    // Published (and delivered live) after Redis ran the read, before its answer came back.
    deliver('overtaken', await publish('overtaken', 1));
    deliver('overtaken', await publish('overtaken', 2));
    source.open();
    await waitFor(() => tab.frames.length === 3, { message: 'synced, then 1 and 2' });
    expect(timelineOf(tab.frames)).toEqual(['synced:0', '1', '2']);
    expect(source.requests).toHaveLength(2);
    // Live from here.
    deliver('overtaken', await publish('overtaken', 3));
    await waitFor(() => tab.frames.length === 4, { message: 'live 3' });
    expect(timelineOf(tab.frames)).toEqual(['synced:0', '1', '2', '3']);
  });

  it('gives a first connect what was published after it was admitted and stored before its read ran', async () => {
    const { source, deliver, admit } = await setup();
    source.holdBeforeSend();
    const tab = await admit('newcomer');
    await waitFor(() => source.unsent === 1, { message: 'the read waits to be sent' });
    // Published after the socket was admitted: held back from it (its read is in flight), and
    // already stored when Redis runs the read, which therefore starts the socket above it.
    deliver('newcomer', await publish('newcomer', 1));
    source.open();
    await waitFor(() => tab.frames.length === 2, { message: '1, then synced' });
    expect(timelineOf(tab.frames)).toEqual(['1', 'synced:1']);
    expect(source.requests).toHaveLength(2); // read again, from the held message on
    deliver('newcomer', await publish('newcomer', 2));
    await waitFor(() => tab.frames.length === 3, { message: 'live 2' });
    expect(timelineOf(tab.frames)).toEqual(['1', 'synced:1', '2']);
  });

  it('fills a gap on the live path from history, and drops a duplicate', async () => {
    const { deliver, admit, metrics } = await setup();
    const tab = await admit('gappy');
    await waitFor(() => tab.frames.length === 1, { message: 'synced' });
    const one = await publish('gappy', 1);
    deliver('gappy', one);
    await publish('gappy', 2); // lost on its way: never delivered live
    deliver('gappy', await publish('gappy', 3));
    await waitFor(() => tab.frames.length === 4, { message: '1, then 2 and 3 from history' });
    expect(timelineOf(tab.frames)).toEqual(['synced:0', '1', '2', '3']);
    deliver('gappy', one);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(tab.frames).toHaveLength(4);
    expect(metrics.duplicatesDropped).toBe(1);
    expect(metrics.replayedMessages).toBe(2);
    const { body } = await metrics.render();
    expect(body).toContain('huleedu_ws_history_catchups_total{cause="gap"} 1');
  });

  it('serves every socket of a user with one read, each from its own position', async () => {
    const { source, admit } = await setup();
    for (let n = 1; n <= 6; n++) await publish('many-tabs', n);
    const epoch = (await publisher.hget(historyKeys('many-tabs').meta, 'epoch'))!;
    source.hold();
    const tabs = [
      await admit('many-tabs', { kind: 'resume', position: 2, epoch }),
      await admit('many-tabs', { kind: 'resume', position: 5, epoch }),
      await admit('many-tabs', { kind: 'first', recent: 1 }),
    ];
    source.open();
    await waitFor(() => tabs.every((tab) => tab.frames.at(-1)?.includes('ws.synced')), {
      message: 'all synced',
    });
    expect(timelineOf(tabs[0]!.frames)).toEqual(['3', '4', '5', '6', 'synced:6']);
    expect(timelineOf(tabs[1]!.frames)).toEqual(['6', 'synced:6']);
    expect(timelineOf(tabs[2]!.frames)).toEqual(['6', 'synced:6']);
    // The first socket's read, then one more for the two that arrived while it was in flight.
    expect(source.requests.length).toBeLessThanOrEqual(2);
  });

  it('keeps at most readConcurrency reads in flight; the rest queue and all complete', async () => {
    const { source, history, admit } = await setup({ readConcurrency: 2 });
    source.hold();
    const tabs: Awaited<ReturnType<typeof admit>>[] = [];
    for (let i = 0; i < 10; i++) tabs.push(await admit(`queued-${i}`));
    await waitFor(() => source.requests.length === 2, { message: 'two reads sent' });
    expect(history.stats()).toEqual({ syncingSockets: 10, readsInFlight: 2, readsQueued: 8 });
    source.open();
    await waitFor(() => tabs.every((tab) => tab.frames.length === 1), { message: 'all synced' });
    expect(source.requests).toHaveLength(10);
    expect(history.stats()).toEqual({ syncingSockets: 0, readsInFlight: 0, readsQueued: 0 });
  });

  it(`tells a socket history_unavailable when ${READ_ATTEMPTS} reads in a row time out, then takes up the live stream`, async () => {
    const { deliver, admit, metrics } = await setup({ timeoutMs: 100 });
    await publish('paused', 1);
    // Redis answers nothing for a while: the read times out.
    await publisher.client('PAUSE', 600, 'ALL');
    const tab = await admit('paused', { kind: 'first', recent: 5 });
    await waitFor(() => tab.frames.length === 1, { message: 'ws.resync' });
    expect(JSON.parse(tab.frames[0]!)).toEqual({
      event: 'ws.resync',
      data: { reason: 'history_unavailable', position: 0, epoch: null },
    });
    await new Promise((resolve) => setTimeout(resolve, 700));
    deliver('paused', await publish('paused', 2));
    deliver('paused', await publish('paused', 3));
    await waitFor(() => tab.frames.length === 3, { message: 'live after the resync' });
    expect(timelineOf(tab.frames)).toEqual(['resync:history_unavailable:0', '2', '3']);
    const { body } = await metrics.render();
    expect(body).toContain(
      `huleedu_ws_history_read_failures_total{reason="timeout"} ${READ_ATTEMPTS}`,
    );
    expect(body).toContain('huleedu_ws_resyncs_total{reason="history_unavailable"} 1');
  });

  it('reads again after a timed-out read: a stall shorter than the attempts costs no resync', async () => {
    const { admit, metrics } = await setup({ timeoutMs: 150 });
    await publish('stalled', 1);
    // Redis answers nothing for longer than one read timeout, shorter than three.
    await publisher.client('PAUSE', 200, 'ALL');
    const tab = await admit('stalled', { kind: 'first', recent: 5 });
    await waitFor(() => tab.frames.length === 2, { message: 'replay and ws.synced' });
    expect(timelineOf(tab.frames)).toEqual(['1', 'synced:1']);
    const { body } = await metrics.render();
    expect(body).toMatch(/huleedu_ws_history_read_failures_total\{reason="timeout"\} [12]\n/);
    expect(body).not.toContain('huleedu_ws_resyncs_total{reason="history_unavailable"} 1');
  });

  it('checks stored entries like live payloads: a malformed one is dropped, counted and logged', async () => {
    const { admit, metrics } = await setup();
    await publish('hand-written', 1);
    const { stream, meta } = historyKeys('hand-written');
    const epoch = (await publisher.hget(meta, 'epoch'))!;
    // A publisher that wrote the history by hand: position 2 is not an envelope.
    await publisher.xadd(stream, '2-0', 'm', '{"position":2,"epoch":"x","no":"event"}');
    await publisher.hset(meta, 'top', 2);
    await publish('hand-written', 3);
    const tab = await admit('hand-written', { kind: 'resume', position: 0, epoch: '' });
    await waitFor(() => tab.frames.at(-1)?.includes('ws.synced'), { message: 'synced' });
    expect(timelineOf(tab.frames)).toEqual(['1', '3', 'synced:3']);
    expect(JSON.parse(tab.frames[2]!).data).toEqual({ position: 3, epoch, replayed: 2 });
    expect(metrics.malformedPayloads).toBe(1);
  });
});

describe('HistorySync: the held 101 response', () => {
  it('holds a response while reads get slots at once, and not while reads wait in the queue', async () => {
    const { source, history, admit } = await setup({ readConcurrency: 1 });
    const probe = await admit('holds-probe');
    await waitFor(() => probe.frames.length === 1, { message: 'the probe synced' });
    const transport = probe.server.transport!;
    history.holdResponse(transport);
    expect(transport.writableCorked).toBe(1);
    transport.uncork();
    // One read in flight (its answer held back) and one waiting for the only slot.
    source.hold();
    const first = await admit('holds-first');
    await admit('holds-second');
    await waitFor(() => source.held === 1, { message: 'the first read answered, held back' });
    history.holdResponse(transport);
    expect(transport.writableCorked).toBe(0);
    source.open();
    await waitFor(() => first.frames.length === 1, { message: 'the first socket synced' });
  });
});
