/**
 * `netspeed bench` (what `deno task bench` runs): starts netspeed's own
 * server on a Worker thread on free loopback ports (or uses `--target`),
 * runs the test suite with defaults that finish in about ten seconds, and
 * saves everything under `results/<timestamp>/`.
 *
 * @module
 */
import { join } from "node:path";
import { ExitCode, type ExitCodeValue, RunError } from "../errors.ts";
import { DEFAULT_LATENCY_OPTIONS, type LatencyOptions } from "../latency/options.ts";
import type { LatencySummary } from "../latency/summary.ts";
import { newRunInfo, type RunInfo } from "../run_info.ts";
import { type ServerThread, startServerThread } from "../server/server_thread.ts";
import { DEFAULT_TCP_SERVICES_OPTIONS } from "../server/tcp_services.ts";
import type { HostPort } from "../units.ts";
import { runLatency } from "./latency.ts";

/** Options of `netspeed bench`. */
export interface BenchOptions {
  /** Echo server to test; `undefined` starts netspeed's own on loopback. */
  target?: HostPort;
  /** Parent of the timestamped results folder. @default {"results"} */
  resultsDir: string;
  /** Length of the latency test. @default {8000} */
  durationMs: number;
}

/** Defaults of `netspeed bench`. */
export const DEFAULT_BENCH_OPTIONS: Readonly<BenchOptions> = Object.freeze({
  resultsDir: "results",
  durationMs: 8000,
});

/** The contents of `summary.json`. */
export interface BenchSummary {
  command: "bench";
  run: RunInfo;
  target: string;
  /** Whether the server was netspeed's own, started for this run. */
  ownServer: boolean;
  latency: LatencySummary;
}

/** Folder name for a run started at `date`: sortable, no colons. */
export function resultsFolderName(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z").replaceAll(":", "-");
}

/** Runs the suite; resolves with the worst exit code of its tests. */
export async function bench(options: BenchOptions): Promise<ExitCodeValue> {
  const run = newRunInfo();
  const dir = join(options.resultsDir, resultsFolderName(new Date(run.startEpochMs)));
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (error) {
    throw new RunError(`Cannot create results folder "${dir}": ${(error as Error).message}`);
  }

  let server: ServerThread | undefined;
  let target = options.target;
  if (!target) {
    server = await startServerThread({
      ...DEFAULT_TCP_SERVICES_OPTIONS,
      host: "127.0.0.1",
      ports: { echo: 0, discard: 0, chargen: 0 },
    });
    target = { host: "127.0.0.1", port: server.port("echo") };
    console.log(`Started netspeed's server on its own thread: echo on 127.0.0.1:${target.port}\n`);
  }

  try {
    const latencyOptions: LatencyOptions = {
      ...DEFAULT_LATENCY_OPTIONS,
      target,
      workers: 2,
      connections: 4,
      count: undefined,
      durationMs: options.durationMs,
      warmup: 100,
      csvPath: join(dir, "latency.csv"),
      jsonPath: join(dir, "latency.json"),
    };
    const latency = await runLatency(latencyOptions);
    const summary: BenchSummary = {
      command: "bench",
      run,
      target: latency.summary.target,
      ownServer: server !== undefined,
      latency: latency.summary,
    };
    const summaryPath = join(dir, "summary.json");
    await Deno.writeTextFile(summaryPath, JSON.stringify(summary, null, 2) + "\n");
    console.log(`\nResults in ${dir}/: latency.csv, latency.json, summary.json`);
    return latency.exitCode === ExitCode.ok ? ExitCode.ok : latency.exitCode;
  } finally {
    await server?.stop();
  }
}
