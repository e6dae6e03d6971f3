/**
 * Flags of `netspeed compare`, turned into {@linkcode CompareOptions}.
 *
 * @module
 */
import type { Register } from "./program.ts";
import { UsageError } from "../errors.ts";
import { compare } from "../commands/compare.ts";
import { DEFAULT_COMPARE_SETTINGS } from "../compare/comparison.ts";
import { parseGate } from "../compare/gates.ts";
import type { CompareOptions } from "../compare/options.ts";

/** Raw flag values as commander hands them over. */
export interface CompareFlags {
  percentiles?: string;
  confidence?: string;
  failIf?: string[];
  json?: string;
}

/** Parses "50,90,99,99.9" (a leading "p" allowed) into percentiles. */
export function parsePercentiles(text: string): number[] {
  const parts = text.split(",").map((p) => p.trim()).filter((p) => p !== "");
  if (parts.length === 0) {
    throw new UsageError(`Invalid --percentiles "${text}": expected a list such as 50,90,99,99.9`);
  }
  const values = parts.map((part) => {
    const value = /^p?\d+(\.\d+)?$/i.test(part) ? Number(part.replace(/^p/i, "")) : NaN;
    if (!(value > 0 && value < 100)) {
      throw new UsageError(
        `Invalid --percentiles "${text}": "${part}" is not a percentile between 0 and 100`,
      );
    }
    return value;
  });
  return [...new Set(values)].sort((a, b) => a - b);
}

/** Parses "95", "95%" or "0.95" into 0.95. */
export function parseConfidence(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  let value = match ? Number(match[1]) : NaN;
  if (match && (match[2] === "%" || value > 1)) value /= 100;
  if (!(value >= 0.5 && value < 1)) {
    throw new UsageError(
      `Invalid --confidence "${text}": expected a level from 50% to under 100%, such as 95 or 0.99`,
    );
  }
  return value;
}

/** Pure: validates the sides and raw flags into options. */
export function parseCompareFlags(base: string, next: string, flags: CompareFlags): CompareOptions {
  const gates = (flags.failIf ?? []).map(parseGate);
  let percentiles = flags.percentiles === undefined
    ? [...DEFAULT_COMPARE_SETTINGS.percentiles]
    : parsePercentiles(flags.percentiles);
  // A gate on a percentile not listed still needs that percentile's row.
  const gated = gates.flatMap((g) => g.percentile === null ? [] : [g.percentile]);
  percentiles = [...new Set([...percentiles, ...gated])].sort((a, b) => a - b);
  if (flags.json !== undefined && flags.json.trim() === "") {
    throw new UsageError(`Invalid --json "${flags.json}": empty`);
  }
  return {
    base,
    new: next,
    percentiles,
    confidence: flags.confidence === undefined
      ? DEFAULT_COMPARE_SETTINGS.confidence
      : parseConfidence(flags.confidence),
    gates,
    jsonPath: flags.json,
  };
}

/** Adds `netspeed compare`. */
export const registerCompare: Register = (program, select) => {
  program
    .command("compare")
    .description(
      "Compare runs: per percentile (or mean rate) the difference, its confidence interval and a verdict; gates for CI",
    )
    .argument(
      "<base>",
      "baseline runs: a CSV, a JSON summary, a folder or - (summaries on stdin); several separated by commas (repeated runs)",
    )
    .argument("<new>", "runs to compare with the baseline, in the same form")
    .option("--percentiles <list>", "percentiles to compare (default 50,90,99,99.9)")
    .option("--confidence <level>", "confidence of the intervals: 95, 99 or 0.9 (default 95)")
    .option(
      "--fail-if <gate>",
      'exit 1 when the whole interval is past the threshold, e.g. "p99 > +10%", "p50 > +20us", "mean < -5%" (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option("--json <file>", "write the comparison as JSON")
    .action((base: string, next: string, flags: CompareFlags) => {
      const options = parseCompareFlags(base, next, flags);
      select({ command: "compare", run: () => compare(options) });
    });
};
