/**
 * A log-linear latency histogram (the HdrHistogram bucket layout, written small).
 *
 * Values are non-negative integers in microseconds. Values below 2^SUB_BITS get a bucket each (exact); above
 * that, each power-of-two range is split into 2^(SUB_BITS-1) equal buckets, so a bucket is never wider than
 * 1/2^(SUB_BITS-1) of the values in it. With SUB_BITS = 8 a reported percentile (the bucket midpoint) is within
 * ±0.4 % of the true sample value, at a fixed cost of a few thousand counters — no allocation per sample.
 */

/** Default precision: 128 linear sub-buckets per power of two (±0.4 % on reported values). */
export const DEFAULT_SUB_BUCKET_BITS = 8;

/** Largest value tracked without clamping: 2^36 µs (~19 hours), far beyond any bounded bench run. */
const MAX_TRACKABLE_EXPONENT = 36;

/** A latency distribution in integer microseconds. */
export class LatencyHistogram {
  readonly subBucketBits: number;
  private readonly half: number;
  private readonly counts: Float64Array;
  private total = 0;
  private sum = 0;
  private sumSquares = 0;
  private minValue = Number.POSITIVE_INFINITY;
  private maxValue = 0;

  constructor(subBucketBits = DEFAULT_SUB_BUCKET_BITS) {
    if (!Number.isInteger(subBucketBits) || subBucketBits < 2 || subBucketBits > 16) {
      throw new RangeError(`subBucketBits must be an integer in 2..16, got ${subBucketBits}`);
    }
    this.subBucketBits = subBucketBits;
    this.half = 2 ** (subBucketBits - 1);
    this.counts = new Float64Array(this.indexOf(2 ** MAX_TRACKABLE_EXPONENT - 1) + 1);
  }

  /** Number of recorded values. */
  get count(): number {
    return this.total;
  }

  /** Smallest recorded value (exact), or 0 when empty. */
  get min(): number {
    return this.total === 0 ? 0 : this.minValue;
  }

  /** Largest recorded value (exact), or 0 when empty. */
  get max(): number {
    return this.maxValue;
  }

  /** Arithmetic mean of the recorded values (exact), or 0 when empty. */
  get mean(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  /** Population standard deviation of the recorded values, or 0 when empty. */
  get stdev(): number {
    if (this.total === 0) return 0;
    const m = this.mean;
    return Math.sqrt(Math.max(0, this.sumSquares / this.total - m * m));
  }

  /** Records one value (µs; rounded, negatives count as 0) `times` times. */
  record(valueUs: number, times = 1): void {
    const v = valueUs > 0 ? Math.round(valueUs) : 0;
    this.counts[this.indexOf(v)]! += times;
    this.total += times;
    this.sum += v * times;
    this.sumSquares += v * v * times;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  /** Adds every value of `other` (same precision) to this histogram. */
  merge(other: LatencyHistogram): void {
    if (other.subBucketBits !== this.subBucketBits)
      throw new RangeError('cannot merge histograms of different precision');
    if (other.total === 0) return;
    for (let i = 0; i < other.counts.length; i++) {
      const c = other.counts[i]!;
      if (c !== 0) this.counts[i]! += c;
    }
    this.total += other.total;
    this.sum += other.sum;
    this.sumSquares += other.sumSquares;
    if (other.minValue < this.minValue) this.minValue = other.minValue;
    if (other.maxValue > this.maxValue) this.maxValue = other.maxValue;
  }

  /**
   * The value at percentile `p` (0–100): the smallest recorded value with at least p % of the samples at or
   * below it, reported as its bucket's midpoint and clamped to the exact min and max.
   */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    if (p <= 0) return this.min;
    if (p >= 100) return this.max;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const { low, width } = this.bucketOf(i);
        const mid = width === 1 ? low : low + (width - 1) / 2;
        return Math.min(this.max, Math.max(this.min, mid));
      }
    }
    return this.max;
  }

  /** Non-empty buckets as `[lowUs, highUs, count]` (high exclusive), in value order — for reports and charts. */
  buckets(): Array<[number, number, number]> {
    const out: Array<[number, number, number]> = [];
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (c === 0) continue;
      const { low, width } = this.bucketOf(i);
      out.push([low, low + width, c]);
    }
    return out;
  }

  /** Clears all samples. */
  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
    this.sumSquares = 0;
    this.minValue = Number.POSITIVE_INFINITY;
    this.maxValue = 0;
  }

  private indexOf(value: number): number {
    const full = this.half * 2;
    if (value < full) return value;
    const capped = Math.min(value, 2 ** MAX_TRACKABLE_EXPONENT - 1);
    // Math.clz32 covers 32 bits; larger values (rare: > 71 minutes) take the floating-point path.
    const msb = capped < 2 ** 32 ? 31 - Math.clz32(capped) : Math.floor(Math.log2(capped));
    const shift = msb - (this.subBucketBits - 1);
    return shift * this.half + Math.floor(capped / 2 ** shift);
  }

  private bucketOf(index: number): { low: number; width: number } {
    const full = this.half * 2;
    if (index < full) return { low: index, width: 1 };
    const shift = Math.floor(index / this.half) - 1;
    const sub = index - shift * this.half;
    return { low: sub * 2 ** shift, width: 2 ** shift };
  }
}
