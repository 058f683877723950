import { describe, expect, it } from 'vitest';
import { type MetricSources, ServiceMetrics } from '../src/metrics.js';

function metricsWith(
  state: { redis: boolean; draining: boolean; connections: number },
  more: Partial<MetricSources> = {},
) {
  return new ServiceMetrics(
    {
      connections: () => state.connections,
      users: () => Math.ceil(state.connections / 2),
      redisConnected: () => state.redis,
      subscribedChannels: () => 7,
      draining: () => state.draining,
      ...more,
    },
    { defaultMetrics: false },
  );
}

/** The value of one sample line, e.g. `huleedu_ws_connections 3`. */
function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('ServiceMetrics', () => {
  it('reports live gauges read at scrape time', async () => {
    const state = { redis: false, draining: false, connections: 3 };
    const metrics = metricsWith(state);
    let { body } = await metrics.render();
    expect(sample(body, 'huleedu_ws_connections')).toBe(3);
    expect(sample(body, 'huleedu_ws_users')).toBe(2);
    expect(sample(body, 'huleedu_ws_redis_connected')).toBe(0);
    expect(sample(body, 'huleedu_ws_subscribed_channels')).toBe(7);
    expect(sample(body, 'huleedu_ws_draining')).toBe(0);

    state.redis = true;
    state.draining = true;
    state.connections = 0;
    ({ body } = await metrics.render());
    expect(sample(body, 'huleedu_ws_redis_connected')).toBe(1);
    expect(sample(body, 'huleedu_ws_draining')).toBe(1);
    expect(sample(body, 'huleedu_ws_connections')).toBe(0);
  });

  it('publishes the hot-path tallies as counters', async () => {
    const metrics = metricsWith({ redis: true, draining: false, connections: 0 });
    metrics.redisMessages += 5;
    metrics.framesDelivered += 12;
    metrics.malformedPayloads += 1;
    metrics.heartbeatFrames += 2;
    metrics.ignoredFrames += 4;
    metrics.unroutedMessages += 1;
    const { body, contentType } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain/);
    expect(body).toContain('# TYPE huleedu_ws_redis_messages_total counter');
    expect(sample(body, 'huleedu_ws_redis_messages_total')).toBe(5);
    expect(sample(body, 'huleedu_ws_frames_delivered_total')).toBe(12);
    expect(sample(body, 'huleedu_ws_malformed_payloads_total')).toBe(1);
    expect(sample(body, 'huleedu_ws_heartbeat_frames_total')).toBe(2);
    expect(sample(body, 'huleedu_ws_ignored_frames_total')).toBe(4);
    expect(sample(body, 'huleedu_ws_unrouted_messages_total')).toBe(1);
    // Scraping twice does not double count.
    expect(sample((await metrics.render()).body, 'huleedu_ws_frames_delivered_total')).toBe(12);
  });

  it('counts connections, rejections and server closes by bounded reasons, starting at zero', async () => {
    const metrics = metricsWith({ redis: true, draining: false, connections: 0 });
    let { body } = await metrics.render();
    expect(sample(body, 'huleedu_ws_connections_rejected_total{reason="token_expired"}')).toBe(0);
    expect(sample(body, 'huleedu_ws_server_closes_total{reason="dead_peer"}')).toBe(0);

    metrics.connectionAccepted();
    metrics.connectionRejected('token_expired');
    metrics.connectionRejected('token_expired');
    metrics.connectionRejected('connection_limit');
    metrics.serverClosed('dead_peer');
    ({ body } = await metrics.render());
    expect(sample(body, 'huleedu_ws_connections_accepted_total')).toBe(1);
    expect(sample(body, 'huleedu_ws_connections_rejected_total{reason="token_expired"}')).toBe(2);
    expect(sample(body, 'huleedu_ws_connections_rejected_total{reason="connection_limit"}')).toBe(
      1,
    );
    expect(sample(body, 'huleedu_ws_server_closes_total{reason="dead_peer"}')).toBe(1);
  });

  it('reports the Redis subscriber connections, reading 0 when the source is absent', async () => {
    const stats = { total: 3, ready: 2, resubscribes: 4, subscribeFailures: 1 };
    const metrics = new ServiceMetrics(
      {
        connections: () => 0,
        users: () => 0,
        redisConnected: () => false,
        subscribedChannels: () => 0,
        draining: () => false,
        redisSubscribers: () => stats,
      },
      { defaultMetrics: false },
    );
    const { body } = await metrics.render();
    expect(sample(body, 'huleedu_ws_redis_subscribers')).toBe(3);
    expect(sample(body, 'huleedu_ws_redis_subscribers_ready')).toBe(2);
    expect(sample(body, 'huleedu_ws_redis_resubscribes_total')).toBe(4);
    expect(sample(body, 'huleedu_ws_redis_subscribe_failures_total')).toBe(1);
    const bare = (await metricsWith({ redis: true, draining: false, connections: 0 }).render())
      .body;
    expect(sample(bare, 'huleedu_ws_redis_subscribers')).toBe(0);
    expect(sample(bare, 'huleedu_ws_redis_resubscribes_total')).toBe(0);
  });

  it('counts history syncing: resumes by outcome, resyncs, catch-ups, reads and their state', async () => {
    const metrics = metricsWith(
      { redis: true, draining: false, connections: 0 },
      { history: () => ({ syncingSockets: 4, readsInFlight: 2, readsQueued: 9 }) },
    );
    let { body } = await metrics.render();
    // Every series exists from the start, at 0.
    expect(sample(body, 'huleedu_ws_resumes_total{outcome="recovered",reason="none"}')).toBe(0);
    expect(sample(body, 'huleedu_ws_resumes_total{outcome="resync",reason="replay_limit"}')).toBe(
      0,
    );
    expect(sample(body, 'huleedu_ws_history_catchups_total{cause="resubscribe"}')).toBe(0);
    expect(sample(body, 'huleedu_ws_history_read_failures_total{reason="timeout"}')).toBe(0);

    metrics.resumed('recovered', 'none');
    metrics.resumed('resync', 'history_trimmed');
    metrics.resyncSent('history_trimmed');
    metrics.resyncSent('history_lost');
    metrics.caughtUp('resubscribe');
    metrics.caughtUp('gap');
    metrics.caughtUp('gap');
    metrics.historyReadFailed('error');
    metrics.unpositionedMessages += 3;
    metrics.duplicatesDropped += 2;
    metrics.replayedMessages += 17;
    metrics.historyReads += 5;
    ({ body } = await metrics.render());
    expect(sample(body, 'huleedu_ws_resumes_total{outcome="recovered",reason="none"}')).toBe(1);
    expect(
      sample(body, 'huleedu_ws_resumes_total{outcome="resync",reason="history_trimmed"}'),
    ).toBe(1);
    expect(sample(body, 'huleedu_ws_resyncs_total{reason="history_lost"}')).toBe(1);
    expect(sample(body, 'huleedu_ws_history_catchups_total{cause="gap"}')).toBe(2);
    expect(sample(body, 'huleedu_ws_history_read_failures_total{reason="error"}')).toBe(1);
    expect(sample(body, 'huleedu_ws_unpositioned_messages_total')).toBe(3);
    expect(sample(body, 'huleedu_ws_duplicates_dropped_total')).toBe(2);
    expect(sample(body, 'huleedu_ws_replayed_messages_total')).toBe(17);
    expect(sample(body, 'huleedu_ws_history_reads_total')).toBe(5);
    expect(sample(body, 'huleedu_ws_history_syncing_sockets')).toBe(4);
    expect(sample(body, 'huleedu_ws_history_reads_in_flight')).toBe(2);
    expect(sample(body, 'huleedu_ws_history_reads_queued')).toBe(9);
  });

  it('never labels a metric with a user', async () => {
    const { body } = await metricsWith({ redis: true, draining: false, connections: 1 }).render();
    const labels = [...body.matchAll(/\{([a-z_]+)=/g)].map((m) => m[1]);
    // `le` is a histogram's bucket bound.
    expect(new Set(labels)).toEqual(new Set(['reason', 'outcome', 'cause', 'le']));
  });

  it('observes delivery latency from published_ms by the wall clock, skipping messages without one', async () => {
    const metrics = metricsWith({ redis: true, draining: false, connections: 1 });
    let { body } = await metrics.render();
    // The series exist (at 0) before the first message.
    expect(sample(body, 'huleedu_ws_delivery_latency_seconds_count')).toBe(0);
    metrics.deliveredLive(Date.now() - 30); // about 30 ms ago
    metrics.deliveredLive(Date.now() + 5_000); // a clock ahead of this one: counted as 0
    for (const missing of [undefined, '1700000000000', Number.NaN, null]) {
      metrics.deliveredLive(missing);
    }
    ({ body } = await metrics.render());
    expect(sample(body, 'huleedu_ws_delivery_latency_seconds_count')).toBe(2);
    expect(sample(body, 'huleedu_ws_delivery_latency_seconds_bucket{le="0.001"}')).toBe(1);
    expect(sample(body, 'huleedu_ws_delivery_latency_seconds_bucket{le="0.025"}')).toBe(1);
    expect(sample(body, 'huleedu_ws_delivery_latency_seconds_bucket{le="10"}')).toBe(2);
    expect(sample(body, 'huleedu_ws_delivery_latency_seconds_sum')).toBeGreaterThanOrEqual(0.03);
  });

  it('times handshakes by outcome, both outcomes present from the start', async () => {
    const metrics = metricsWith({ redis: true, draining: false, connections: 1 });
    let { body } = await metrics.render();
    expect(sample(body, 'huleedu_ws_handshake_duration_seconds_count{outcome="admitted"}')).toBe(0);
    expect(sample(body, 'huleedu_ws_handshake_duration_seconds_count{outcome="refused"}')).toBe(0);
    metrics.handshakeFinished('admitted', performance.now() - 20);
    ({ body } = await metrics.render());
    expect(sample(body, 'huleedu_ws_handshake_duration_seconds_count{outcome="admitted"}')).toBe(1);
    expect(
      sample(body, 'huleedu_ws_handshake_duration_seconds_bucket{le="0.01",outcome="admitted"}'),
    ).toBe(0);
    expect(
      sample(body, 'huleedu_ws_handshake_duration_seconds_bucket{le="+Inf",outcome="admitted"}'),
    ).toBe(1);
  });

  it('includes Node.js process metrics unless turned off', async () => {
    const metrics = new ServiceMetrics({
      connections: () => 0,
      users: () => 0,
      redisConnected: () => true,
      subscribedChannels: () => 0,
      draining: () => false,
    });
    const { body } = await metrics.render();
    expect(body).toContain('process_resident_memory_bytes');
    expect(body).toContain('nodejs_eventloop_lag_seconds');
  });
});
