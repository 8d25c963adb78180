/**
 * A small HDR-style log-linear histogram of non-negative integers.
 *
 * Values below `2 ** SUB_BUCKET_BITS` are counted exactly. Above that, every
 * power-of-two range [2^e, 2^(e+1)) is split into `2 ** (SUB_BUCKET_BITS - 1)`
 * equal buckets, so a bucket is at most 1/128 of its lowest value wide and a
 * reported percentile (the bucket's midpoint) is within 0.4 % of the true
 * value — comfortably inside the 1 % the load test promises. Memory grows with
 * the largest value only: about 128 counters per power of two.
 */

// 8 bits: exact below 256, then 128 linear buckets per power of two (≤ 0.78 % wide).
const SUB_BUCKET_BITS = 8;
const EXACT_LIMIT = 2 ** SUB_BUCKET_BITS;
const HALF = EXACT_LIMIT / 2;

/** The summary the load test reports for one histogram. */
export interface HistogramSummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Index of the bucket holding `value` (a non-negative integer). */
function bucketIndex(value: number): number {
  if (value < EXACT_LIMIT) return value;
  const exponent = Math.floor(Math.log2(value));
  // Math.log2 may round up just below a power of two; correct it exactly.
  const e = 2 ** exponent > value ? exponent - 1 : exponent;
  const shift = e - (SUB_BUCKET_BITS - 1);
  const subBucket = Math.floor(value / 2 ** shift); // in [HALF, EXACT_LIMIT)
  return EXACT_LIMIT + (e - SUB_BUCKET_BITS) * HALF + (subBucket - HALF);
}

/** Lowest value and width of bucket `index`. */
function bucketRange(index: number): { low: number; width: number } {
  if (index < EXACT_LIMIT) return { low: index, width: 1 };
  const octave = Math.floor((index - EXACT_LIMIT) / HALF);
  const subBucket = HALF + ((index - EXACT_LIMIT) % HALF);
  const width = 2 ** (octave + 1);
  return { low: subBucket * width, width };
}

/** A log-linear histogram; see the module comment for its precision. */
export class Histogram {
  private counts: number[] = [];
  private total = 0;
  private sum = 0;
  private lowest = Number.POSITIVE_INFINITY;
  private highest = 0;

  /** Counts `value`, rounded to the nearest integer; negative values count as 0. */
  record(value: number): void {
    if (!Number.isFinite(value)) throw new RangeError(`cannot record ${value}`);
    const rounded = value <= 0 ? 0 : Math.round(value);
    const index = bucketIndex(rounded);
    while (this.counts.length <= index) this.counts.push(0);
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.total += 1;
    this.sum += rounded;
    if (rounded < this.lowest) this.lowest = rounded;
    if (rounded > this.highest) this.highest = rounded;
  }

  /** Adds every count of `other` to this histogram. */
  merge(other: Histogram): void {
    while (this.counts.length < other.counts.length) this.counts.push(0);
    other.counts.forEach((count, index) => {
      this.counts[index] = (this.counts[index] ?? 0) + count;
    });
    this.total += other.total;
    this.sum += other.sum;
    if (other.lowest < this.lowest) this.lowest = other.lowest;
    if (other.highest > this.highest) this.highest = other.highest;
  }

  /** How many values were recorded. */
  get count(): number {
    return this.total;
  }

  /** The largest recorded value, exactly (0 when empty). */
  get max(): number {
    return this.highest;
  }

  /** The smallest recorded value, exactly (0 when empty). */
  get min(): number {
    return this.total === 0 ? 0 : this.lowest;
  }

  /** The mean of the recorded (rounded) values, exactly (0 when empty). */
  get mean(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  /**
   * The value at `percentile` (0–100): the smallest bucket holding at least
   * that share of the values, reported as its midpoint clamped to [min, max];
   * the exact maximum for the top rank. 0 when empty.
   */
  percentile(percentile: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, percentile)) / 100) * this.total));
    // The top rank is the maximum, which is kept exactly.
    if (rank >= this.total) return this.highest;
    let seen = 0;
    for (let index = 0; index < this.counts.length; index++) {
      seen += this.counts[index] ?? 0;
      if (seen >= rank) {
        const { low, width } = bucketRange(index);
        const middle = width === 1 ? low : low + (width - 1) / 2;
        return Math.min(this.highest, Math.max(this.lowest, middle));
      }
    }
    return this.highest;
  }

  /** count, min, mean, p50, p90, p99 and max, each divided by `scale` (e.g. 1000 for µs → ms). */
  summary(scale = 1): HistogramSummary {
    return {
      count: this.total,
      min: this.min / scale,
      mean: this.mean / scale,
      p50: this.percentile(50) / scale,
      p90: this.percentile(90) / scale,
      p99: this.percentile(99) / scale,
      max: this.max / scale,
    };
  }
}
