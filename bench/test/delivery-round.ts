import type { DeliverySummary } from '../src/scenario.js';

/** One publishing round's summary for unit tests: 1,000 deliveries, none lost, unless told. */
export function deliveryRound(fields: Partial<DeliverySummary> = {}): DeliverySummary {
  return {
    published: 500,
    expected: 1000,
    delivered: 1000,
    lost: 0,
    extra: 0,
    duplicates: 0,
    durationMs: 100,
    deliveredPerSecond: 10_000,
    cpuSeconds: 0.1,
    clientCpuSeconds: 0.1,
    p50Ms: 1,
    p99Ms: 5,
    maxMs: 9,
    meanMs: 2,
    ...fields,
  };
}
