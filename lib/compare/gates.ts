/**
 * `--fail-if` gates for CI: "p99 > +10%", "p50 > +20us", "mean < -5%".
 * A gate fails only when the whole confidence interval of the difference
 * lies past its threshold, so noise alone never fails a build. Pure.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/** A parsed gate. */
export interface Gate {
  /** As the user wrote it. */
  text: string;
  /** "p99", "p99.9" or "mean" (the mean rate of throughput runs). */
  metric: string;
  /** The percentile (0…100) of a "pNN" gate; null for "mean". */
  percentile: number | null;
  /** Fails when the difference is above (">") or below ("<") the threshold. */
  direction: ">" | "<";
  /** The threshold: percent of the base figure, µs, or bits per second. */
  threshold: number;
  unit: "%" | "us" | "bit/s";
}

const TIME_UNITS_US: Record<string, number> = { ns: 0.001, us: 1, "µs": 1, ms: 1000, s: 1e6 };
const RATE_UNITS: Record<string, number> = {
  "bit/s": 1,
  "kbit/s": 1e3,
  "mbit/s": 1e6,
  "gbit/s": 1e9,
};

/**
 * Parses `text` such as "p99 > +10%" or "p50 > +20us". Throws
 * {@linkcode UsageError} naming the gate and what is wrong.
 */
export function parseGate(text: string): Gate {
  const match = /^\s*(p\d+(?:\.\d+)?|mean)\s*(>|<)\s*([+-−]?)\s*(\d+(?:\.\d+)?)\s*([a-zµ/%]*)\s*$/i
    .exec(text);
  const expected =
    'expected a figure, > or <, and a signed threshold with its unit, such as "p99 > +10%", "p50 > +20us" or "mean < -5%"';
  if (!match) throw new UsageError(`Invalid --fail-if "${text}": ${expected}`);
  const [, metricText, direction, sign, number, unitText] = match;
  const metric = metricText.toLowerCase();
  let percentile: number | null = null;
  if (metric !== "mean") {
    percentile = Number(metric.slice(1));
    if (!(percentile > 0 && percentile < 100)) {
      throw new UsageError(
        `Invalid --fail-if "${text}": percentile ${percentile} is not between 0 and 100`,
      );
    }
  }
  const magnitude = Number(number) * (sign === "-" || sign === "−" ? -1 : 1);
  const unitKey = unitText.toLowerCase();
  if (unitKey === "%") {
    return {
      text,
      metric,
      percentile,
      direction: direction as ">" | "<",
      threshold: magnitude,
      unit: "%",
    };
  }
  if (unitKey in TIME_UNITS_US && metric !== "mean") {
    return {
      text,
      metric,
      percentile,
      direction: direction as ">" | "<",
      threshold: magnitude * TIME_UNITS_US[unitKey],
      unit: "us",
    };
  }
  if (unitKey in RATE_UNITS && metric === "mean") {
    return {
      text,
      metric,
      percentile,
      direction: direction as ">" | "<",
      threshold: magnitude * RATE_UNITS[unitKey],
      unit: "bit/s",
    };
  }
  throw new UsageError(
    `Invalid --fail-if "${text}": ${
      unitText === "" ? "the threshold needs a unit" : `unit "${unitText}" does not fit ${metric}`
    }: % for any figure, ns/us/ms/s for a percentile, bit/s, kbit/s, Mbit/s or Gbit/s for mean`,
  );
}

/** What a gate found on one compared row. */
export interface GateResult {
  gate: string;
  /** The row it judged: kind and group, such as "latency rtt" or "throughput up". */
  row: string;
  /** "failed": the whole interval is past the threshold; "passed"; or not judged, and why. */
  outcome: "failed" | "passed" | "not judged";
  reason: string;
}

/**
 * Judges `gate` on a row's interval. `base` converts a percent threshold;
 * a row without an interval between runs is not judged (and does not fail).
 */
export function judgeGate(
  gate: Gate,
  row: {
    name: string;
    base: number;
    low: number | null;
    high: number | null;
    method: string;
    verdict: string;
  },
): GateResult {
  const notJudged = (reason: string): GateResult => ({
    gate: gate.text,
    row: row.name,
    outcome: "not judged",
    reason,
  });
  if (row.low === null || row.high === null) return notJudged(row.verdict);
  if (row.method !== "between runs") {
    return notJudged(
      "one run per side cannot tell a change from run-to-run variation (give several runs per side)",
    );
  }
  const scale = gate.unit === "%" ? 100 / row.base : 1;
  const low = row.low * scale;
  const high = row.high * scale;
  const failed = gate.direction === ">" ? low > gate.threshold : high < gate.threshold;
  return {
    gate: gate.text,
    row: row.name,
    outcome: failed ? "failed" : "passed",
    reason: failed
      ? `the whole interval is ${gate.direction === ">" ? "above" : "below"} the threshold`
      : "the interval reaches the threshold",
  };
}
