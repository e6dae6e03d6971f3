/**
 * Flags of `netspeed merge`, turned into {@linkcode MergeOptions}.
 *
 * @module
 */
import type { Register } from "./program.ts";
import { UsageError } from "../errors.ts";
import { merge, type MergeOptions } from "../commands/merge.ts";

/** Raw flag values as commander hands them over. */
export interface MergeFlags {
  output?: string;
  csv: boolean;
}

/** Pure: validates the inputs and raw flags into options. */
export function parseMergeFlags(inputs: string[], flags: MergeFlags): MergeOptions {
  if (inputs.length === 0) throw new UsageError("Missing input: give results to merge");
  if (flags.output === undefined || flags.output.trim() === "") {
    throw new UsageError("Missing -o, --output <dir>: the folder the merged files go to");
  }
  if (inputs.filter((i) => i === "-").length > 1) {
    throw new UsageError('Invalid input "-" given twice: stdin can be read once');
  }
  return { inputs, outputDir: flags.output, csv: flags.csv };
}

/** Adds `netspeed merge`. */
export const registerMerge: Register = (program, select) => {
  program
    .command("merge")
    .description(
      "Merge the results of many nodes into one: histograms summed (exact percentiles), rows of every node with a node column, throughput summed per interval on the wall clock",
    )
    .argument(
      "<input...>",
      'result folders, JSON summaries (--json) or CSVs of one kind; "-" reads a stream of one-line summaries (--json -) from stdin, e.g. kubectl logs',
    )
    .option("-o, --output <dir>", "folder to write merged.json and merged.csv to")
    .option("--no-csv", "do not write merged.csv")
    .action((inputs: string[], flags: MergeFlags) => {
      const options = parseMergeFlags(inputs, flags);
      select({ command: "merge", run: () => merge(options) });
    });
};
