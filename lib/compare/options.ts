/**
 * Options of `netspeed compare`: plain data.
 *
 * @module
 */
import type { Gate } from "./gates.ts";

/** What `netspeed compare` reads, how it judges, and what it writes. */
export interface CompareOptions {
  /**
   * The baseline: paths separated by commas, each a CSV, a JSON summary or
   * a folder of them; several runs of a kind are repeated runs.
   */
  base: string;
  /** The runs compared with the baseline, in the same form. */
  new: string;
  /** Percentiles to compare, 0…100 exclusive. @default {[50, 90, 99, 99.9]} */
  percentiles: number[];
  /** Confidence of the intervals, 0…1 exclusive. @default {0.95} */
  confidence: number;
  /** `--fail-if` gates: exit 1 when one fails. */
  gates: Gate[];
  /** Where to write the comparison as JSON. */
  jsonPath?: string;
}
