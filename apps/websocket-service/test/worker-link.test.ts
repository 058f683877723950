import { describe, expect, it } from 'vitest';
import { ServiceMetrics } from '../src/metrics.js';
import type { PrimaryMessage, WorkerMessage } from '../src/workers/messages.js';
import { type PrimaryChannel, WorkerLink } from '../src/workers/worker-link.js';
import { captureLogger } from './helpers.js';

/**
 * The primary's side of the IPC channel, in memory: Node's cluster IPC cannot run inside a test
 * worker, and the real channel is covered by test/integration/workers.test.ts.
 */
function fakePrimary() {
  const sent: WorkerMessage[] = [];
  const listeners = new Set<(message: unknown) => void>();
  const channel: PrimaryChannel = {
    send: (message, done) => {
      sent.push(message);
      queueMicrotask(() => done(null));
    },
    onMessage: (listener) => listeners.add(listener),
    offMessage: (listener) => listeners.delete(listener),
  };
  const deliver = (message: PrimaryMessage | { type: string }) => {
    for (const listener of listeners) listener(message);
  };
  return { channel, sent, deliver, listeners };
}

function linkedService(ready: boolean) {
  const metrics = new ServiceMetrics(
    {
      connections: () => 4,
      users: () => 2,
      redisConnected: () => true,
      subscribedChannels: () => 2,
      draining: () => false,
    },
    { defaultMetrics: false, workerSlot: 1 },
  );
  return { port: 8080, metrics, isReady: () => ready };
}

const local = { ready: true, reasons: [] } as const;

describe('WorkerLink', () => {
  it('reports its readiness and port as soon as it is attached', () => {
    const primary = fakePrimary();
    const link = new WorkerLink({
      slot: 1,
      workers: 3,
      channel: primary.channel,
      logger: captureLogger().logger,
    });
    link.attach(linkedService(true));
    expect(primary.sent).toEqual([{ type: 'huleedu:worker-state', port: 8080, ready: true }]);
    link.close();
    expect(primary.listeners.size).toBe(0);
  });

  it("answers /readyz with the whole set's state from the primary", () => {
    const primary = fakePrimary();
    const link = new WorkerLink({
      slot: 0,
      workers: 3,
      channel: primary.channel,
      logger: captureLogger().logger,
    });
    expect(link.readiness(local).ready).toBe(false); // nothing heard from the primary yet
    primary.deliver({
      type: 'huleedu:cluster-state',
      state: { readyWorkers: 3, workers: 3, draining: false },
    });
    expect(link.readiness(local)).toEqual({
      ready: true,
      reasons: [],
      workers: { ready: 3, expected: 3 },
    });
    primary.deliver({
      type: 'huleedu:cluster-state',
      state: { readyWorkers: 2, workers: 3, draining: false },
    });
    expect(link.readiness(local).reasons).toEqual(['workers_not_ready']);
    primary.deliver({ type: 'something-else' }); // foreign messages are ignored
    expect(link.readiness(local).workers).toEqual({ ready: 2, expected: 3 });
    link.close();
  });

  it('answers a collection with its own snapshot, labelled with its slot', async () => {
    const primary = fakePrimary();
    const link = new WorkerLink({
      slot: 1,
      workers: 3,
      channel: primary.channel,
      logger: captureLogger().logger,
    });
    link.attach(linkedService(true));
    primary.deliver({ type: 'huleedu:metrics-collect', id: 7 });
    const snapshot = await new Promise<WorkerMessage>((resolve) => {
      const poll = () => {
        const found = primary.sent.find((m) => m.type === 'huleedu:metrics-snapshot');
        if (found) resolve(found);
        else setTimeout(poll, 5);
      };
      poll();
    });
    expect(snapshot).toMatchObject({ type: 'huleedu:metrics-snapshot', id: 7 });
    const metrics = 'metrics' in snapshot ? (snapshot.metrics ?? []) : [];
    expect(metrics.find((m) => m.name === 'huleedu_ws_worker_connections')?.values).toEqual([
      { value: 4, labels: { worker: '1' } },
    ]);
    link.close();
  });

  it("turns a scrape into one request and answers with the primary's exposition", async () => {
    const primary = fakePrimary();
    const link = new WorkerLink({
      slot: 0,
      workers: 2,
      channel: primary.channel,
      logger: captureLogger().logger,
    });
    const scrape = link.metrics();
    const request = primary.sent.at(-1);
    expect(request).toMatchObject({ type: 'huleedu:metrics-request' });
    const id = (request as { id: number }).id;
    primary.deliver({
      type: 'huleedu:metrics-result',
      id,
      exposition: { contentType: 'text/plain', body: 'm 1\n' },
    });
    expect(await scrape).toEqual({ contentType: 'text/plain', body: 'm 1\n' });
    link.close();
  });

  it('answers 503 with a log line when the primary does not answer in time', async () => {
    const primary = fakePrimary();
    const log = captureLogger();
    const link = new WorkerLink({
      slot: 0,
      workers: 2,
      channel: primary.channel,
      logger: log.logger,
      metricsTimeoutMs: 50,
    });
    const answer = await link.metrics();
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({
      error: 'metrics_unavailable',
      reason: 'the primary did not answer within 50 ms',
    });
    expect(log.lines).toContainEqual(
      expect.objectContaining({ level: 'warn', msg: 'metrics scrape: the primary did not answer' }),
    );
    link.close();
  });
});
