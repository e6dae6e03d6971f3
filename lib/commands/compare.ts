/**
 * `netspeed compare BASE NEW`: per percentile (or mean rate), the
 * difference between two sets of runs with a confidence interval that
 * counts run-to-run variation, a verdict, and CI gates.
 *
 * @module
 */
import { ExitCode, type ExitCodeValue, UsageError } from "../errors.ts";
import { NETSPEED_VERSION } from "../run_info.ts";
import { writeSummaryJson } from "../saved_files.ts";
import { compareRuns, type Comparison } from "../compare/comparison.ts";
import { formatComparison } from "../compare/format.ts";
import { loadSide } from "../compare/inputs.ts";
import type { CompareOptions } from "../compare/options.ts";

/** Runs `netspeed compare`; resolves with 1 when a gate failed, else 0. */
export async function compare(options: CompareOptions): Promise<ExitCodeValue> {
  const comparison = await runCompare(options);
  console.log(formatComparison(comparison));
  if (options.jsonPath) {
    await writeSummaryJson(options.jsonPath, compareJson(comparison));
    console.log(`JSON: ${options.jsonPath}`);
  }
  return comparison.failed ? ExitCode.failed : ExitCode.ok;
}

/** Loads both sides and compares them; throws {@linkcode UsageError} when they share no kind. */
export async function runCompare(options: CompareOptions): Promise<Comparison> {
  const base = await loadSide(options.base, "BASE");
  const next = await loadSide(options.new, "NEW");
  const comparison = compareRuns(base, next, {
    percentiles: options.percentiles,
    confidence: options.confidence,
    gates: options.gates,
  });
  if (comparison.kinds.length === 0) {
    const kinds = (runs: typeof base) => [...new Set(runs.map((r) => r.kind))].join(" and ");
    throw new UsageError(
      `BASE "${options.base}" holds ${kinds(base)} runs and NEW "${options.new}" ${
        kinds(next)
      } runs: there is nothing of one kind to compare`,
    );
  }
  return comparison;
}

/** The comparison as `--json` writes it. */
export function compareJson(c: Comparison): Record<string, unknown> {
  return {
    command: "compare",
    version: NETSPEED_VERSION,
    confidence: c.confidence,
    percentiles: c.percentiles,
    base: c.base,
    new: c.new,
    kinds: c.kinds,
    rows: c.rows,
    warnings: c.warnings,
    notes: c.notes,
    gates: c.gates,
    failed: c.failed,
  };
}
