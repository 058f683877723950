/**
 * A latency histogram with bounded memory: 1 µs buckets below 1 ms, then buckets 1 % wide up to
 * about 1,000 s. Load-generator processes each fill one and the parent merges them, so percentiles
 * come from every delivery without shipping every sample over IPC.
 */
const LINEAR_US = 1000;
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = LINEAR_US + Math.ceil(Math.log(1e9 / LINEAR_US) / LOG_GROWTH) + 1;

/** The wire form of a histogram: non-empty buckets as `[index, count]` pairs plus exact extremes. */
export interface HistogramSnapshot {
  buckets: Array<[number, number]>;
  count: number;
  sumMs: number;
  minMs: number;
  maxMs: number;
}

function bucketOf(ms: number): number {
  const us = ms * 1000;
  if (us < LINEAR_US) return us <= 0 ? 0 : Math.floor(us);
  const index = LINEAR_US + Math.floor(Math.log(us / LINEAR_US) / LOG_GROWTH);
  return index < BUCKETS ? index : BUCKETS - 1;
}

/** The representative value of a bucket, in ms: its middle. */
function bucketValue(index: number): number {
  if (index < LINEAR_US) return (index + 0.5) / 1000;
  const lower = LINEAR_US * GROWTH ** (index - LINEAR_US);
  return (lower * (1 + GROWTH)) / 2 / 1000;
}

/** Collects latencies in milliseconds and answers percentiles within about 1 %. */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = 0;

  /** Records one latency; negative values (clock noise) count as 0. */
  record(ms: number): void {
    const value = Math.max(ms, 0);
    const index = bucketOf(value);
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.total++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /** Number of recorded values. */
  get count(): number {
    return this.total;
  }

  /** Adds every value of another histogram (or its snapshot) to this one. */
  merge(other: HistogramSnapshot): void {
    for (const [index, count] of other.buckets) {
      this.counts[index] = (this.counts[index] ?? 0) + count;
    }
    this.total += other.count;
    this.sum += other.sumMs;
    if (other.count > 0) {
      if (other.minMs < this.min) this.min = other.minMs;
      if (other.maxMs > this.max) this.max = other.maxMs;
    }
  }

  /** The value at percentile `p` (0-100), in ms; the exact maximum for p = 100; 0 when empty. */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    if (p >= 100) return this.max;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let index = 0; index < BUCKETS; index++) {
      seen += this.counts[index] ?? 0;
      if (seen >= rank) return Math.min(Math.max(bucketValue(index), this.min), this.max);
    }
    return this.max;
  }

  /** Mean in ms; 0 when empty. */
  mean(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  /** Exact maximum in ms; 0 when empty. */
  maxMs(): number {
    return this.max;
  }

  /** Forgets every value. */
  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = 0;
  }

  /** A compact, JSON-safe copy for IPC. */
  snapshot(): HistogramSnapshot {
    const buckets: Array<[number, number]> = [];
    for (let index = 0; index < BUCKETS; index++) {
      const count = this.counts[index] ?? 0;
      if (count > 0) buckets.push([index, count]);
    }
    return {
      buckets,
      count: this.total,
      sumMs: this.sum,
      minMs: this.total === 0 ? 0 : this.min,
      maxMs: this.max,
    };
  }
}
