/**
 * A run's samples cut into blocks for the block bootstrap: consecutive
 * time windows when the samples carry their start times (a CSV), random
 * blocks when they do not (a histogram in a JSON summary, which has lost
 * the time order). Each block is a histogram on a fine logarithmic grid
 * (0.1% wide buckets, the resolution of netspeed's HDR histograms), so a
 * 10-million-row run is a few dozen arrays, not 10 million numbers.
 *
 * Throughput runs are blocks of per-interval rates ({@linkcode ValueBlocks}):
 * intervals are few, and always in time order.
 *
 * @module
 */
import type { Histogram } from "../histogram.ts";
import { seededRandom } from "../report/reservoir.ts";

/** Blocks a run is cut into, at least (when it has that many samples). */
export const TARGET_BLOCKS = 20;

/** Relative width of a bucket of the fine grid: 0.1%. */
export const FINE_RESOLUTION = 0.001;

const LOG_STEP = Math.log1p(FINE_RESOLUTION);
/** Values at or below this (µs) share the lowest bucket: 1 ns. */
const LOWEST_US = 0.001;

/** Bucket of `valueUs` on the fine grid. */
export function fineIndex(valueUs: number): number {
  return Math.floor(Math.log(Math.max(valueUs, LOWEST_US)) / LOG_STEP);
}

/** The value (µs) a bucket stands for: its geometric middle, within 0.05% of any value in it. */
export function fineValue(index: number): number {
  return Math.exp((index + 0.5) * LOG_STEP);
}

/**
 * Histograms of a run's blocks on one common bucket range, cumulative so a
 * resampled block set finds a quantile by binary search.
 */
export interface HistogramBlocks {
  /** Bucket index of position 0 of every `cumulative` array. */
  first: number;
  /** Per block, counts at or below each bucket (the last entry is the block's count). */
  cumulative: Uint32Array[];
  /** Samples in all blocks. */
  total: number;
  /** Smallest and largest value (µs), exact when the samples were. */
  minUs: number;
  maxUs: number;
  /** "time": consecutive time windows; "random": no time order was known. */
  order: "time" | "random";
}

/** Counts of one block, on a range that grows as values arrive. */
class BlockCounts {
  first = 0;
  counts = new Uint32Array(0);
  n = 0;

  add(index: number, count = 1): void {
    if (this.counts.length === 0) {
      this.first = index - 256;
      this.counts = new Uint32Array(512);
    } else if (index < this.first || index >= this.first + this.counts.length) {
      const low = Math.min(this.first, index - 256);
      const high = Math.max(this.first + this.counts.length, index + 256);
      const grown = new Uint32Array(high - low);
      grown.set(this.counts, this.first - low);
      this.counts = grown;
      this.first = low;
    }
    this.counts[index - this.first] += count;
    this.n += count;
  }

  merge(other: BlockCounts): void {
    for (let i = 0; i < other.counts.length; i++) {
      if (other.counts[i] > 0) this.add(other.first + i, other.counts[i]);
    }
  }
}

/**
 * Folds timed samples into time-window blocks of equal width. The width
 * starts at 1 ms and doubles (merging neighbours) whenever the run spans
 * more than twice {@linkcode TARGET_BLOCKS} windows, so a run of any length
 * ends with 20 to 40 windows, in any row order.
 */
export class TimeBlocks {
  #widthUs = 1000;
  readonly #blocks = new Map<number, BlockCounts>();
  #low = Infinity;
  #high = -Infinity;
  #minUs = Infinity;
  #maxUs = -Infinity;

  /** Adds a sample that started `startUs` after the run's start. */
  add(startUs: number, valueUs: number): void {
    let slot = Math.floor(startUs / this.#widthUs);
    while (Math.max(this.#high, slot) - Math.min(this.#low, slot) >= 2 * TARGET_BLOCKS) {
      this.#widen();
      slot = Math.floor(startUs / this.#widthUs);
    }
    if (slot < this.#low) this.#low = slot;
    if (slot > this.#high) this.#high = slot;
    let block = this.#blocks.get(slot);
    if (!block) this.#blocks.set(slot, block = new BlockCounts());
    block.add(fineIndex(valueUs));
    if (valueUs < this.#minUs) this.#minUs = valueUs;
    if (valueUs > this.#maxUs) this.#maxUs = valueUs;
  }

  #widen(): void {
    const merged = new Map<number, BlockCounts>();
    for (const [slot, block] of this.#blocks) {
      const to = Math.floor(slot / 2);
      const existing = merged.get(to);
      if (existing) existing.merge(block);
      else merged.set(to, block);
    }
    this.#blocks.clear();
    for (const [slot, block] of merged) this.#blocks.set(slot, block);
    this.#widthUs *= 2;
    this.#low = Math.floor(this.#low / 2);
    this.#high = Math.floor(this.#high / 2);
  }

  /** The blocks, empty windows left out. */
  finish(): HistogramBlocks {
    const ordered = [...this.#blocks].sort((a, b) => a[0] - b[0]).map(([, b]) => b);
    return cumulativeBlocks(ordered, this.#minUs, this.#maxUs, "time");
  }
}

/** The parts of hdr-histogram-js's histogram that list its buckets. */
interface HdrBuckets {
  countsArrayLength: number;
  getCountAtIndex(index: number): number;
  valueFromIndex(index: number): number;
  medianEquivalentValue(value: number): number;
}

/**
 * Blocks of a histogram (ns, HDR) whose time order is unknown: every
 * sample goes to one of {@linkcode TARGET_BLOCKS} blocks at random, which
 * makes the block bootstrap the ordinary bootstrap of independent samples.
 * Deterministic for a given `seed`.
 */
export function randomBlocks(histogram: Histogram, seed = 1): HistogramBlocks {
  const h = histogram as unknown as HdrBuckets;
  const blocks = Array.from({ length: TARGET_BLOCKS }, () => new BlockCounts());
  const random = seededRandom(seed);
  let minUs = Infinity;
  let maxUs = -Infinity;
  for (let i = 0; i < h.countsArrayLength; i++) {
    const count = h.getCountAtIndex(i);
    if (count === 0) continue;
    const valueUs = h.medianEquivalentValue(h.valueFromIndex(i)) / 1000;
    minUs = Math.min(minUs, valueUs);
    maxUs = Math.max(maxUs, valueUs);
    const index = fineIndex(valueUs);
    for (let k = 0; k < count; k++) blocks[Math.floor(random() * TARGET_BLOCKS)].add(index);
  }
  if (histogram.totalCount > 0) {
    minUs = Math.max(minUs, histogram.minNonZeroValue / 1000);
    maxUs = Math.min(maxUs, histogram.maxValue / 1000);
  }
  return cumulativeBlocks(blocks.filter((b) => b.n > 0), minUs, maxUs, "random");
}

function cumulativeBlocks(
  blocks: BlockCounts[],
  minUs: number,
  maxUs: number,
  order: HistogramBlocks["order"],
): HistogramBlocks {
  if (blocks.length === 0) {
    return { first: 0, cumulative: [], total: 0, minUs: 0, maxUs: 0, order };
  }
  let first = Infinity;
  let end = -Infinity;
  for (const b of blocks) {
    let lo = 0;
    while (b.counts[lo] === 0) lo++;
    let hi = b.counts.length - 1;
    while (b.counts[hi] === 0) hi--;
    first = Math.min(first, b.first + lo);
    end = Math.max(end, b.first + hi + 1);
  }
  const length = end - first;
  let total = 0;
  const cumulative = blocks.map((b) => {
    const c = new Uint32Array(length);
    let sum = 0;
    for (let i = 0; i < length; i++) {
      const j = first + i - b.first;
      if (j >= 0 && j < b.counts.length) sum += b.counts[j];
      c[i] = sum;
    }
    total += sum;
    return c;
  });
  return { first, cumulative, total, minUs, maxUs, order };
}

/** Quantile `q` (0…1) of all blocks together, by nearest rank, µs; NaN when empty. */
export function blocksQuantile(blocks: HistogramBlocks, q: number): number {
  return pooledQuantile([blocks], q);
}

/**
 * The nearest rank of quantile `q` among `n` values, 1-based. The epsilon
 * keeps float noise from moving it: 99.9 / 100 is 0.9990000000000001, and
 * 0.9990000000000001 × 20,000 would otherwise round up to rank 19,981.
 */
export function nearestRank(q: number, n: number): number {
  return Math.min(n, Math.max(1, Math.ceil(q * n - 1e-9)));
}

/** Quantile `q` (0…1) of several runs' samples pooled, by nearest rank, µs; NaN when empty. */
export function pooledQuantile(runs: readonly HistogramBlocks[], q: number): number {
  const used = runs.filter((r) => r.total > 0);
  const total = used.reduce((a, r) => a + r.total, 0);
  if (total === 0) return NaN;
  const rank = nearestRank(q, total);
  const first = Math.min(...used.map((r) => r.first));
  const end = Math.max(...used.map((r) => r.first + r.cumulative[0].length));
  const atOrBelow = (index: number) => {
    let n = 0;
    for (const r of used) {
      const i = Math.min(index - r.first, r.cumulative[0].length - 1);
      if (i < 0) continue;
      for (const c of r.cumulative) n += c[i];
    }
    return n;
  };
  let lo = first;
  let hi = end - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (atOrBelow(mid) >= rank) hi = mid;
    else lo = mid + 1;
  }
  const minUs = Math.min(...used.map((r) => r.minUs));
  const maxUs = Math.max(...used.map((r) => r.maxUs));
  return Math.min(maxUs, Math.max(minUs, fineValue(lo)));
}

/**
 * Quantiles `qs` of one resampled set of blocks: block k taken
 * `multiplicity[k]` times. Writes them into `out`.
 */
export function resampledQuantiles(
  blocks: HistogramBlocks,
  multiplicity: Int32Array,
  qs: readonly number[],
  out: Float64Array,
): void {
  const c = blocks.cumulative;
  const last = c[0].length - 1;
  let total = 0;
  for (let k = 0; k < c.length; k++) total += multiplicity[k] * c[k][last];
  for (let j = 0; j < qs.length; j++) {
    const rank = nearestRank(qs[j], total);
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      let n = 0;
      for (let k = 0; k < c.length; k++) {
        if (multiplicity[k] !== 0) n += multiplicity[k] * c[k][mid];
      }
      if (n >= rank) hi = mid;
      else lo = mid + 1;
    }
    out[j] = Math.min(blocks.maxUs, Math.max(blocks.minUs, fineValue(blocks.first + lo)));
  }
}

/** Per-interval values (a throughput run's rates) in consecutive blocks. */
export interface ValueBlocks {
  /** Per block, the sum of its values and their number. */
  sums: number[];
  counts: number[];
  /** Values in all blocks. */
  total: number;
}

/**
 * Cuts time-ordered values into at most {@linkcode TARGET_BLOCKS}
 * consecutive blocks of (nearly) equal size.
 */
export function valueBlocks(values: readonly number[]): ValueBlocks {
  const k = Math.min(TARGET_BLOCKS, values.length);
  const sums = new Array<number>(k).fill(0);
  const counts = new Array<number>(k).fill(0);
  values.forEach((v, i) => {
    const b = Math.floor(i * k / values.length);
    sums[b] += v;
    counts[b]++;
  });
  return { sums, counts, total: values.length };
}

/** Mean of all values (NaN when none). */
export function blocksMean(blocks: ValueBlocks): number {
  return pooledMean([blocks]);
}

/** Mean of several runs' values pooled (NaN when none). */
export function pooledMean(runs: readonly ValueBlocks[]): number {
  let sum = 0;
  let n = 0;
  for (const r of runs) {
    for (let k = 0; k < r.sums.length; k++) {
      sum += r.sums[k];
      n += r.counts[k];
    }
  }
  return n === 0 ? NaN : sum / n;
}

/** Mean of one resampled set of blocks. */
export function resampledMean(blocks: ValueBlocks, multiplicity: Int32Array): number {
  let sum = 0;
  let n = 0;
  for (let k = 0; k < blocks.sums.length; k++) {
    sum += multiplicity[k] * blocks.sums[k];
    n += multiplicity[k] * blocks.counts[k];
  }
  return n === 0 ? NaN : sum / n;
}
