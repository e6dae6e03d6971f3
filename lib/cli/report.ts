/**
 * Flags of `netspeed report`, turned into {@linkcode ReportOptions}.
 *
 * @module
 */
import type { Register } from "./program.ts";
import { UsageError } from "../errors.ts";
import { report } from "../commands/report.ts";
import type { ReportOptions } from "../report/options.ts";

/** Raw flag values as commander hands them over. */
export interface ReportFlags {
  output?: string;
  title?: string;
}

/** Pure: validates the inputs and raw flags into options. */
export function parseReportFlags(inputs: string[], flags: ReportFlags): ReportOptions {
  if (inputs.length === 0) throw new UsageError("Missing CSV file: give at least one");
  if (flags.output !== undefined) {
    if (flags.output.trim() === "") {
      throw new UsageError(`Invalid --output "${flags.output}": empty`);
    }
    if (/\.csv$/i.test(flags.output)) {
      throw new UsageError(
        `Invalid --output "${flags.output}": the report is HTML, not CSV (did you mean ${
          flags.output.replace(/\.csv$/i, ".html")
        }?)`,
      );
    }
  }
  return { inputs, outputPath: flags.output, title: flags.title };
}

/** Adds `netspeed report`. */
export const registerReport: Register = (program, select) => {
  program
    .command("report")
    .description(
      "Write one self-contained, interactive HTML report (Vega-Lite, works offline) from latency, throughput, connect and responsiveness CSVs; several runs are compared",
    )
    .argument(
      "<csv...>",
      "CSV files written by --csv (or folders of them, such as a bench results folder); the first run of each kind is the baseline",
    )
    .option("-o, --output <file>", "HTML file to write (default: the first CSV's name with .html)")
    .option("--title <text>", "page title")
    .action((inputs: string[], flags: ReportFlags) => {
      const options = parseReportFlags(inputs, flags);
      select({ command: "report", run: () => report(options) });
    });
};
