/**
 * A small histogram with logarithmic buckets (200 per decade, 1.16% wide)
 * for the many partial distributions a report needs: one per second, per
 * worker and per connection. Storage covers only the range seen, so a
 * histogram of a connection whose round trips span two decades holds about
 * 400 counters; the run's exact percentiles still come from its HDR
 * histogram.
 *
 * @module
 */

/** Buckets per factor of ten: bucket i covers [10^(i/200), 10^((i+1)/200)) µs. */
export const BUCKETS_PER_DECADE = 200;

/** Values at or below this (µs) share the lowest bucket: 1 ns. */
export const LOWEST_US = 0.001;

/** Index of the lowest bucket. */
const LOWEST_INDEX = Math.floor(Math.log10(LOWEST_US) * BUCKETS_PER_DECADE);

/** Extra buckets allocated on each side when the range grows, so growth is rare. */
const SLACK = 64;

/** Bucket index of a value in µs. */
export function bucketIndex(valueUs: number): number {
  return valueUs <= LOWEST_US ? LOWEST_INDEX : Math.floor(Math.log10(valueUs) * BUCKETS_PER_DECADE);
}

/** Lower edge of bucket `index`, µs. */
export function bucketLowUs(index: number): number {
  return 10 ** (index / BUCKETS_PER_DECADE);
}

/** Counts of values in logarithmic buckets, with exact count, min, max and sum. */
export class LogHistogram {
  #counts = new Uint32Array(0);
  /** Bucket index of `#counts[0]`. */
  #first = 0;
  /** Number of values added. */
  count = 0;
  /** Smallest value added (µs); Infinity when empty. */
  minUs = Infinity;
  /** Largest value added (µs); -Infinity when empty. */
  maxUs = -Infinity;
  /** Sum of values added (µs), for the mean. */
  sumUs = 0;

  /** Adds a value in µs; pass its {@linkcode bucketIndex} when already known. */
  add(valueUs: number, index: number = bucketIndex(valueUs)): void {
    let slot = index - this.#first;
    if (slot < 0 || slot >= this.#counts.length) {
      this.#cover(index, index);
      slot = index - this.#first;
    }
    this.#counts[slot]++;
    this.count++;
    this.sumUs += valueUs;
    if (valueUs < this.minUs) this.minUs = valueUs;
    if (valueUs > this.maxUs) this.maxUs = valueUs;
  }

  /** Adds every value of `other`. */
  merge(other: LogHistogram): void {
    if (other.count === 0) return;
    const otherFirst = other.#first;
    const otherCounts = other.#counts;
    this.#cover(otherFirst, otherFirst + otherCounts.length - 1);
    const offset = otherFirst - this.#first;
    for (let i = 0; i < otherCounts.length; i++) this.#counts[offset + i] += otherCounts[i];
    this.count += other.count;
    this.sumUs += other.sumUs;
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
  }

  /** Mean in µs (0 when empty). */
  get meanUs(): number {
    return this.count === 0 ? 0 : this.sumUs / this.count;
  }

  /**
   * The value at quantile `q` (0…1) by nearest rank, to within half a bucket
   * (0.6%): the bucket's geometric middle, clamped to the exact min and max.
   * 0 when empty.
   */
  valueAt(q: number): number {
    if (this.count === 0) return 0;
    if (q <= 0) return this.minUs;
    if (q >= 1) return this.maxUs;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i];
      if (seen >= rank) {
        const middle = 10 ** ((this.#first + i + 0.5) / BUCKETS_PER_DECADE);
        return Math.min(this.maxUs, Math.max(this.minUs, middle));
      }
    }
    return this.maxUs;
  }

  /**
   * Mean of the values at or below the `percentile`-th percentile (nearest
   * rank), the trimmed mean of the responsiveness draft, each value taken
   * as its bucket's geometric middle clamped to the exact min and max: within
   * 0.6%. NaN when empty.
   */
  trimmedMeanUs(percentile: number): number {
    if (this.count === 0) return NaN;
    const keep = Math.max(1, Math.ceil(this.count * percentile / 100));
    let left = keep;
    let sum = 0;
    for (let i = 0; i < this.#counts.length && left > 0; i++) {
      const n = Math.min(left, this.#counts[i]);
      if (n === 0) continue;
      const middle = 10 ** ((this.#first + i + 0.5) / BUCKETS_PER_DECADE);
      sum += n * Math.min(this.maxUs, Math.max(this.minUs, middle));
      left -= n;
    }
    return sum / keep;
  }

  /** Non-empty buckets in increasing order, as [index, count]. */
  *buckets(): Generator<[number, number]> {
    for (let i = 0; i < this.#counts.length; i++) {
      if (this.#counts[i] > 0) yield [this.#first + i, this.#counts[i]];
    }
  }

  /** Grows the storage so that indexes `low`…`high` have a counter. */
  #cover(low: number, high: number): void {
    const length = this.#counts.length;
    if (length > 0 && low >= this.#first && high < this.#first + length) return;
    const first = length === 0 ? low - SLACK : Math.min(this.#first, low - SLACK);
    const last = length === 0 ? high + SLACK : Math.max(this.#first + length - 1, high + SLACK);
    const counts = new Uint32Array(last - first + 1);
    if (length > 0) counts.set(this.#counts, this.#first - first);
    this.#counts = counts;
    this.#first = first;
  }
}
