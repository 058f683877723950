/**
 * @huleedu/bench: the load generator and the side-by-side benchmark of the WebSocket service
 * against a minimal reference relay and Socket.IO. The commands are `pnpm bench` and
 * `pnpm bench:100k`; this surface is what the smoke test and other scripts drive.
 */
export { type RunBenchOptions, runBench, type WrittenReport, writeReport } from './bench.js';
export { renderChart } from './chart.js';
export {
  type BenchConfig,
  benchOptions,
  parseBenchConfig,
  type TargetKind,
  targetKinds,
} from './config.js';
export { renderLatestSection, replaceMarkedSection } from './docs.js';
export { BenchError, type BenchErrorCode } from './errors.js';
export { type HistogramSnapshot, LatencyHistogram } from './histogram.js';
export { benchEnvelope, benchEnvelopeJson, readSentAt } from './message.js';
export {
  type BenchReport,
  type Comparison,
  consoleTable,
  type Goal,
  markdownTable,
} from './report.js';
export type {
  BurstResult,
  DeliverySummary,
  FixedRateResult,
  LoadAverage,
  TargetResult,
} from './scenario.js';
