/**
 * Options of `netspeed report`, and the per-run budgets that keep a report
 * small (under 5 MB) whatever the length and number of runs: plain data
 * and pure functions.
 *
 * @module
 */
import type { RunLimits } from "./load_run.ts";

/** What `netspeed report` reads and writes. */
export interface ReportOptions {
  /**
   * CSV files (latency, throughput or connect, told apart by their header),
   * or folders whose `*.csv` files are all read. The first run of each kind
   * is the baseline the others are compared with.
   */
  inputs: string[];
  /** The HTML file to write; by default beside the first input (`run.csv` → `run.html`). */
  outputPath?: string;
  /** Page title. @default {"netspeed report"} */
  title?: string;
}

/** Budgets over all runs of a report, split evenly between runs. */
export const REPORT_BUDGET = Object.freeze({
  /** Scatter points over all runs. */
  samplePoints: 40_000,
  /** Scatter points of one run, at most. */
  samplePointsPerRun: 20_000,
  /** Time bins over all runs. */
  timeBins: 7_200,
  /** Time bins of one run, at most: per-second bins for runs up to an hour. */
  timeBinsPerRun: 3_600,
  /** Per-connection rows over all runs. */
  connections: 4_000,
  /** Per-connection rows of one run, at most. */
  connectionsPerRun: 2_000,
});

/** What each of `runs` runs may keep so that the report stays within {@linkcode REPORT_BUDGET}. */
export function runLimits(runs: number): RunLimits {
  const n = Math.max(1, runs);
  const b = REPORT_BUDGET;
  return {
    sampleCapacity: Math.min(b.samplePointsPerRun, Math.floor(b.samplePoints / n)),
    maxBins: Math.max(60, Math.min(b.timeBinsPerRun, Math.floor(b.timeBins / n))),
    maxConnections: Math.max(100, Math.min(b.connectionsPerRun, Math.floor(b.connections / n))),
  };
}

/**
 * Short names for runs: the file name without `.csv`, with as many parent
 * folders as it takes to tell apart files of the same name.
 *
 * @example
 * ```ts
 * runLabels(["a/latency.csv", "b/latency.csv", "x/connect.csv"]);
 * // ["a/latency", "b/latency", "connect"]
 * ```
 */
export function runLabels(paths: readonly string[]): string[] {
  const parts = paths.map((p) =>
    p.replace(/\.csv$/i, "").split(/[\\/]+/).filter((s) => s !== "" && s !== ".")
  );
  const depth = parts.map(() => 1);
  const label = (i: number) => parts[i].slice(-depth[i]).join("/");
  for (let round = 0; round < 64; round++) {
    const labels = parts.map((_, i) => label(i));
    const clashes = labels.map((l, i) => labels.indexOf(l) !== i || labels.lastIndexOf(l) !== i);
    if (!clashes.includes(true)) return labels;
    let grew = false;
    clashes.forEach((clash, i) => {
      if (clash && depth[i] < parts[i].length) {
        depth[i]++;
        grew = true;
      }
    });
    if (!grew) break;
  }
  // Same path given twice: number them.
  const labels = parts.map((_, i) => label(i));
  return labels.map((l, i) =>
    labels.indexOf(l) === labels.lastIndexOf(l)
      ? l
      : `${l} (${labels.slice(0, i + 1).filter((x) => x === l).length})`
  );
}

/** Where the report goes when no output is given: `run.csv` → `run.html`, a folder → `folder/report.html`. */
export function defaultOutputPath(firstInput: string, isFolder: boolean): string {
  if (isFolder) return `${firstInput.replace(/[\\/]+$/, "")}/report.html`;
  return /\.csv$/i.test(firstInput) ? firstInput.replace(/\.csv$/i, ".html") : `${firstInput}.html`;
}
