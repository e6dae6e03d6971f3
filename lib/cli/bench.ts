/**
 * Flags of `netspeed bench`.
 *
 * @module
 */
import type { Register } from "./program.ts";
import { bench, type BenchOptions, DEFAULT_BENCH_OPTIONS } from "../commands/bench.ts";
import { parseDurationMs, parseHostPort } from "../units.ts";

/** Raw flag values as commander hands them over. */
export interface BenchFlags {
  target?: string;
  out: string;
  duration: string;
}

/** Pure: validates raw flags into options. */
export function parseBenchFlags(flags: BenchFlags): BenchOptions {
  return {
    target: flags.target === undefined ? undefined : parseHostPort(flags.target),
    resultsDir: flags.out,
    durationMs: parseDurationMs(flags.duration, "--duration"),
  };
}

export const registerBench: Register = (program, select) => {
  const d = DEFAULT_BENCH_OPTIONS;
  program
    .command("bench")
    .description(
      "Run the whole suite locally against netspeed's own server (or --target) and save the results",
    )
    .option("--target <host:port>", "test this echo server instead of starting one")
    .option("-o, --out <dir>", "parent folder of the timestamped results folder", d.resultsDir)
    .option("-d, --duration <duration>", "length of the latency test", `${d.durationMs / 1000}s`)
    .action((flags: BenchFlags) => {
      const options = parseBenchFlags(flags);
      select({ command: "bench", run: () => bench(options) });
    });
};
