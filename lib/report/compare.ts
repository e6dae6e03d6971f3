/**
 * The report's comparisons: every run of a kind against the first of that
 * kind, made by `compare`'s own core (lib/compare/), so the page and
 * `netspeed compare` show the same intervals and verdicts. Pure.
 *
 * @module
 */
import { compareRuns, type Comparison, DEFAULT_COMPARE_SETTINGS } from "../compare/comparison.ts";
import { fromReportRun } from "../compare/inputs.ts";
import type { ReportRun } from "./load_run.ts";

/** A run compared with the baseline of its kind. */
export interface RunComparison {
  base: string;
  other: string;
  comparison: Comparison;
}

/** Comparisons of every run of a kind with the first of that kind. */
export function comparisonsOf(runs: readonly ReportRun[]): RunComparison[] {
  if (runs.length < 2) return [];
  const base = fromReportRun(runs[0], runs[0].csvPath, runs[0].label);
  return runs.slice(1).map((run) => ({
    base: runs[0].label,
    other: run.label,
    comparison: compareRuns([base], [fromReportRun(run, run.csvPath, run.label)], {
      ...DEFAULT_COMPARE_SETTINGS,
      percentiles: [...DEFAULT_COMPARE_SETTINGS.percentiles],
    }),
  }));
}
