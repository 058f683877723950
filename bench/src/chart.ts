import type { TargetKind } from './config.js';
import type { BenchReport } from './report.js';
import type { TargetResult } from './scenario.js';

/** One panel of the chart: a metric, one bar per target. */
interface Panel {
  title: string;
  note: string;
  value(result: TargetResult): number | null;
  format(value: number): string;
}

const panels: readonly Panel[] = [
  {
    title: 'connect rate (sockets/s)',
    note: 'higher is better',
    value: (r) => r.connect.perSecond,
    format: (v) => Math.round(v).toLocaleString('en-US'),
  },
  {
    title: 'burst delivered/s',
    note: 'higher is better',
    value: (r) => r.burst?.deliveredPerSecond ?? null,
    format: (v) => Math.round(v).toLocaleString('en-US'),
  },
  {
    title: 'p99 latency at fixed rate (ms)',
    note: 'lower is better',
    value: (r) => r.fixedRate?.p99Ms ?? null,
    format: (v) => v.toFixed(v < 10 ? 2 : 1),
  },
  {
    title: 'RSS per idle socket (KiB)',
    note: 'lower is better',
    value: (r) => r.memory.perSocketBytes / 1024,
    format: (v) => v.toFixed(2),
  },
];

const colors: Record<TargetKind, string> = {
  service: '#0f766e',
  relay: '#64748b',
  socketio: '#c2410c',
  'service-history': '#7c3aed',
  'relay-durable': '#94a3b8',
  'service-default': '#0369a1',
};

function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

const PANEL_WIDTH = 230;
const PANEL_GAP = 20;
const PLOT_TOP = 70;
const PLOT_HEIGHT = 200;
const MARGIN = 20;

/**
 * The results as a standalone SVG bar chart: one panel per headline metric, one bar per
 * target, the value printed on each bar. Written as text; no chart library.
 */
export function renderChart(report: BenchReport): string {
  const results = report.results;
  const width = MARGIN * 2 + panels.length * PANEL_WIDTH + (panels.length - 1) * PANEL_GAP;
  const legendY = PLOT_TOP + PLOT_HEIGHT + 45;
  const height = legendY + 50;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN}" y="28" font-size="16" font-weight="600" fill="#0f172a">${escapeXml(
      `${report.config.sockets.toLocaleString('en-US')} sockets (${report.config.users.toLocaleString('en-US')} users x ${report.config.tabs}), burst ${report.config.burst.toLocaleString('en-US')} messages, fixed rate ${report.config.rate.toLocaleString('en-US')} msg/s`,
    )}</text>`,
  ];
  panels.forEach((panel, p) => {
    const x0 = MARGIN + p * (PANEL_WIDTH + PANEL_GAP);
    const values = results.map((r) => panel.value(r));
    const max = Math.max(0, ...values.map((v) => v ?? 0));
    parts.push(
      `<text x="${x0}" y="${PLOT_TOP - 22}" font-size="13" font-weight="600" fill="#0f172a">${escapeXml(panel.title)}</text>`,
      `<text x="${x0}" y="${PLOT_TOP - 8}" font-size="11" fill="#64748b">${escapeXml(panel.note)}</text>`,
      `<line x1="${x0}" y1="${PLOT_TOP + PLOT_HEIGHT}" x2="${x0 + PANEL_WIDTH}" y2="${PLOT_TOP + PLOT_HEIGHT}" stroke="#cbd5e1"/>`,
    );
    const slot = PANEL_WIDTH / Math.max(1, results.length);
    const barWidth = Math.min(50, slot * 0.6);
    results.forEach((result, i) => {
      const value = values[i] ?? null;
      const cx = x0 + slot * i + slot / 2;
      if (value === null) {
        parts.push(
          `<text x="${cx}" y="${PLOT_TOP + PLOT_HEIGHT - 6}" font-size="11" text-anchor="middle" fill="#94a3b8">n/a</text>`,
        );
        return;
      }
      const h = max > 0 ? (value / max) * (PLOT_HEIGHT - 20) : 0;
      const y = PLOT_TOP + PLOT_HEIGHT - h;
      parts.push(
        `<rect x="${(cx - barWidth / 2).toFixed(1)}" y="${y.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${h.toFixed(1)}" fill="${colors[result.kind]}" rx="2"/>`,
        `<text x="${cx.toFixed(1)}" y="${(y - 5).toFixed(1)}" font-size="11" text-anchor="middle" fill="#0f172a">${escapeXml(panel.format(value))}</text>`,
      );
    });
  });
  let lx = MARGIN;
  for (const result of results) {
    parts.push(
      `<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${colors[result.kind]}" rx="2"/>`,
      `<text x="${lx + 18}" y="${legendY}" font-size="12" fill="#0f172a">${escapeXml(result.label)}</text>`,
    );
    lx += 30 + result.label.length * 7;
  }
  const m = report.machine;
  parts.push(
    `<text x="${MARGIN}" y="${legendY + 28}" font-size="11" fill="#64748b">${escapeXml(
      `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, Redis ${m.redis}; ${report.generatedAt}`,
    )}</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
