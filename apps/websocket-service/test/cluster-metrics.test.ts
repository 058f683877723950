import { describe, expect, it } from 'vitest';
import { ServiceMetrics } from '../src/metrics.js';
import { metricsUnavailable, WorkerMetrics } from '../src/workers/worker-metrics.js';

/** One worker's metrics as the worker would export them. */
function workerMetrics(slot: number, connections: number, defaultMetrics = false) {
  return new ServiceMetrics(
    {
      connections: () => connections,
      users: () => connections,
      redisConnected: () => true,
      subscribedChannels: () => connections,
      draining: () => false,
    },
    { defaultMetrics, workerSlot: slot },
  );
}

function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const primary = new WorkerMetrics({ configured: () => 3, ready: () => 2, restarts: () => 1 });

describe('WorkerMetrics', () => {
  it('sums counters and gauges across workers and keeps a per-worker connection count', async () => {
    const a = workerMetrics(0, 3);
    const b = workerMetrics(1, 4);
    a.framesDelivered = 10;
    b.framesDelivered = 5;
    a.connectionRejected('token_expired');
    b.connectionRejected('token_expired');
    b.connectionRejected('connection_limit');

    const { body, contentType, status } = await primary.render([
      await a.registry.getMetricsAsJSON(),
      await b.registry.getMetricsAsJSON(),
    ]);
    expect(status).toBeUndefined();
    expect(contentType).toMatch(/^text\/plain/);
    expect(sample(body, 'huleedu_ws_connections')).toBe(7);
    expect(sample(body, 'huleedu_ws_frames_delivered_total')).toBe(15);
    expect(sample(body, 'huleedu_ws_connections_rejected_total{reason="token_expired"}')).toBe(2);
    expect(sample(body, 'huleedu_ws_connections_rejected_total{reason="connection_limit"}')).toBe(
      1,
    );
    // A summed 0/1 gauge reads as "how many workers": here both subscribers are connected.
    expect(sample(body, 'huleedu_ws_redis_connected')).toBe(2);
    expect(sample(body, 'huleedu_ws_worker_connections{worker="0"}')).toBe(3);
    expect(sample(body, 'huleedu_ws_worker_connections{worker="1"}')).toBe(4);
    // What only the primary knows.
    expect(sample(body, 'huleedu_ws_workers')).toBe(3);
    expect(sample(body, 'huleedu_ws_workers_ready')).toBe(2);
    expect(sample(body, 'huleedu_ws_worker_restarts_total')).toBe(1);
    // Each metric appears once, as Prometheus requires.
    expect(body.match(/^# TYPE huleedu_ws_connections gauge$/gm)).toHaveLength(1);
  });

  it("aggregates the workers' process metrics: memory summed, start time dropped", async () => {
    const a = await workerMetrics(0, 0, true).registry.getMetricsAsJSON();
    const b = await workerMetrics(1, 0, true).registry.getMetricsAsJSON();
    const rssOf = (snapshot: typeof a) =>
      snapshot.find((m) => m.name === 'process_resident_memory_bytes')?.values[0]?.value ?? 0;
    const { body } = await primary.render([a, b]);
    expect(sample(body, 'process_resident_memory_bytes')).toBe(rssOf(a) + rssOf(b));
    expect(body).not.toContain('process_start_time_seconds ');
  });

  it('sums histograms bucket by bucket, so quantiles over the whole service stay right', async () => {
    const a = workerMetrics(0, 1);
    const b = workerMetrics(1, 1);
    a.deliveredLive(Date.now()); // under 1 ms
    b.deliveredLive(Date.now() - 200); // 200 ms: between 0.1 and 0.25
    b.deliveredLive(Date.now() - 200);
    a.handshakeFinished('refused', performance.now());
    const { body } = await primary.render([
      await a.registry.getMetricsAsJSON(),
      await b.registry.getMetricsAsJSON(),
    ]);
    const latency = 'huleedu_ws_delivery_latency_seconds';
    expect(sample(body, `${latency}_count`)).toBe(3);
    expect(sample(body, `${latency}_bucket{le="0.1"}`)).toBe(1);
    expect(sample(body, `${latency}_bucket{le="0.25"}`)).toBe(3);
    expect(sample(body, `${latency}_bucket{le="+Inf"}`)).toBe(3);
    expect(sample(body, `${latency}_sum`)).toBeGreaterThanOrEqual(0.4);
    const handshakes = 'huleedu_ws_handshake_duration_seconds';
    expect(sample(body, `${handshakes}_count{outcome="refused"}`)).toBe(1);
    expect(sample(body, `${handshakes}_count{outcome="admitted"}`)).toBe(0);
    expect(body.match(new RegExp(`^# TYPE ${latency} histogram$`, 'gm'))).toHaveLength(1);
  });

  it('reports only the primary metrics when no worker answered', async () => {
    const { body } = await primary.render([]);
    expect(sample(body, 'huleedu_ws_workers')).toBe(3);
    expect(sample(body, 'huleedu_ws_connections')).toBeUndefined();
  });
});

describe('metricsUnavailable', () => {
  it('is a 503 with a JSON reason', () => {
    expect(metricsUnavailable('worker(s) 2 did not answer within 3000 ms')).toEqual({
      status: 503,
      contentType: 'application/json',
      body: '{"error":"metrics_unavailable","reason":"worker(s) 2 did not answer within 3000 ms"}',
    });
  });
});
