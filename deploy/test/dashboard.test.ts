import { describe, expect, it } from 'vitest';
import {
  checkExpressions,
  dashboard,
  dashboardQueries,
  seriesNames,
  withoutGrafanaVariables,
} from './promql.js';

const board = dashboard();
const queries = dashboardQueries(board);

describe('deploy/grafana/websocket-service.json', () => {
  it('is a dashboard with a stable uid, unique panel ids and panels inside the 24-column grid', () => {
    expect(board.uid).toBe('huleedu-websocket-service');
    const ids = board.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of board.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      if (panel.type === 'row') continue;
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      // The data source is chosen when the dashboard is imported ($datasource).
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax.
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
    expect(board.templating.list.map((v) => v.name)).toEqual(['datasource', 'job', 'instance']);
  });

  it('has valid PromQL in every query (promtool)', () => {
    expect(queries.length).toBeGreaterThan(20);
    expect(checkExpressions(queries.map((q) => withoutGrafanaVariables(q.expr)))).toMatch(
      /SUCCESS/,
    );
  });

  it('shows connections, handshakes, deliveries, resumes, slow consumers, Redis, event-loop lag, memory and latency', () => {
    const named = new Set(queries.flatMap((q) => [...seriesNames(q.expr)]));
    const expected = {
      connections: 'huleedu_ws_connections',
      'handshakes admitted': 'huleedu_ws_connections_accepted_total',
      'handshakes refused': 'huleedu_ws_connections_rejected_total',
      'handshake latency': 'huleedu_ws_handshake_duration_seconds_bucket',
      deliveries: 'huleedu_ws_frames_delivered_total',
      'delivery latency': 'huleedu_ws_delivery_latency_seconds_bucket',
      resumes: 'huleedu_ws_resumes_total',
      'slow consumers': 'huleedu_ws_server_closes_total',
      redis: 'huleedu_ws_redis_subscribers_ready',
      'event-loop lag': 'nodejs_eventloop_lag_p99_seconds',
      memory: 'process_resident_memory_bytes',
    };
    for (const [topic, series] of Object.entries(expected)) {
      expect(named.has(series), `${topic}: ${series}`).toBe(true);
    }
  });
});
