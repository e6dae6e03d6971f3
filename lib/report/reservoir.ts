/**
 * A bounded uniform sample of a stream of unknown length (reservoir
 * sampling, Vitter's algorithm R), with a seeded generator so the same CSV
 * always gives the same report.
 *
 * @module
 */

/** A seeded pseudo-random generator (mulberry32) returning numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Keeps at most `capacity` items of a stream such that every item offered
 * has the same chance, capacity / offered, of being kept. Items are
 * fixed-width numeric records stored column-wise in typed arrays.
 */
export class Reservoir {
  readonly capacity: number;
  readonly columns: Float64Array[];
  #offered = 0;
  #random: () => number;

  /** `width` numbers per item; `seed` fixes which items are kept. */
  constructor(capacity: number, width: number, seed = 1) {
    this.capacity = capacity;
    this.columns = Array.from({ length: width }, () => new Float64Array(capacity));
    this.#random = seededRandom(seed);
  }

  /** Items offered so far. */
  get offered(): number {
    return this.#offered;
  }

  /** Items kept: min(offered, capacity). */
  get size(): number {
    return Math.min(this.#offered, this.capacity);
  }

  /**
   * Returns the slot the next item goes to, or -1 when it is not kept; the
   * caller writes its numbers into `columns[c][slot]`.
   */
  offer(): number {
    const i = this.#offered++;
    if (i < this.capacity) return i;
    const j = Math.floor(this.#random() * (i + 1));
    return j < this.capacity ? j : -1;
  }
}
