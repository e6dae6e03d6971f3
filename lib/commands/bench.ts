/**
 * `netspeed bench` (what `deno task bench` runs): starts netspeed's own
 * server on a Worker thread on free loopback ports (or uses `--target`),
 * runs the test suite with defaults that finish in about ten seconds, and
 * saves everything under `results/<timestamp>/`.
 *
 * @module
 */
import { join } from "node:path";
import { ExitCode, type ExitCodeValue, RunError, UsageError } from "../errors.ts";
import { DEFAULT_LATENCY_OPTIONS, type LatencyOptions } from "../latency/options.ts";
import type { LatencySummary } from "../latency/summary.ts";
import { newRunInfo, type RunInfo } from "../run_info.ts";
import { type ServerThread, startServerThread } from "../server/server_thread.ts";
import { DEFAULT_TCP_SERVICES_OPTIONS } from "../server/tcp_services.ts";
import type { HostPort } from "../units.ts";
import { runLatency } from "./latency.ts";
import { writeFolderReport } from "./report.ts";
import { CsvWriter } from "../csv_writer.ts";
import type { ConnectSummary } from "../connect/summary.ts";
import { DEFAULT_CONNECT_OPTIONS } from "../connect/options.ts";
import { DEFAULT_THROUGHPUT_OPTIONS, type ThroughputOptions } from "../throughput/options.ts";
import { THROUGHPUT_CSV_HEADER } from "../throughput/csv_rows.ts";
import { combineThroughputSummaries, type ThroughputSummary } from "../throughput/summary.ts";
import { runThroughput } from "./throughput.ts";
import { runConnect } from "./connect.ts";
import { DEFAULT_RESPONSIVENESS_OPTIONS } from "../responsiveness/options.ts";
import type { ResponsivenessSummary } from "../responsiveness/summary.ts";
import { runResponsiveness } from "./responsiveness.ts";

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
  /** Throughput up to discard, then down from chargen (null when it could not run). */
  throughput: ThroughputSummary | null;
  /** TCP connection set-up against the echo port (null when it could not run). */
  connect: ConnectSummary | null;
  /** Round trips idle, then under load both ways, and RPM (null when it could not run). */
  responsiveness: ResponsivenessSummary | null;
}

/** Measured time of each throughput direction in `bench`. */
export const BENCH_THROUGHPUT_MS = 3000;
/** Idle and loaded probing of `bench`'s responsiveness test. */
export const BENCH_RESPONSIVENESS = Object.freeze({ idleMs: 3000, loadedMs: 5000, streams: 2 });
/** Connections per worker in `bench`'s connect test (2 workers). */
export const BENCH_CONNECTIONS = 2000;

/** Runs a step of the suite; a step that cannot run is reported and the others go on. */
async function step<T>(name: string, body: () => Promise<T>): Promise<T | null> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof RunError)) throw error;
    console.error(`netspeed: ${name} skipped: ${error.message}`);
    return null;
  }
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
      // The client's own round trip first, printed beside the result and kept in the JSON.
      calibrate: true,
      csvPath: join(dir, "latency.csv"),
      jsonPath: join(dir, "latency.json"),
    };
    const latency = await runLatency(latencyOptions);
    const exitCodes: ExitCodeValue[] = [latency.exitCode];
    // Ctrl-C during one test stops the suite; what was measured is saved.
    const interrupted = () => exitCodes.includes(ExitCode.interrupted);
    const host = target.host;

    // Throughput: up to discard, then down from chargen, 2 streams each,
    // rows of both runs in one throughput.csv.
    console.log("");
    const throughputRuns: ThroughputSummary[] = [];
    const throughputCsv = await CsvWriter.create(
      join(dir, "throughput.csv"),
      THROUGHPUT_CSV_HEADER,
    );
    try {
      for (const direction of ["up", "down"] as const) {
        if (interrupted()) break;
        const throughputOptions: ThroughputOptions = {
          ...DEFAULT_THROUGHPUT_OPTIONS,
          host,
          ports: {
            echo: target.port,
            discard: server ? server.port("discard") : DEFAULT_THROUGHPUT_OPTIONS.ports.discard,
            chargen: server ? server.port("chargen") : DEFAULT_THROUGHPUT_OPTIONS.ports.chargen,
          },
          direction,
          streams: 2,
          durationMs: BENCH_THROUGHPUT_MS,
          intervalMs: 500,
          omitMs: 500,
        };
        const result = await step(
          `throughput ${direction}`,
          () => runThroughput(throughputOptions, throughputCsv),
        );
        if (result) {
          throughputRuns.push(result.summary);
          exitCodes.push(result.exitCode);
        } else {
          exitCodes.push(ExitCode.failed);
        }
        console.log("");
      }
    } finally {
      throughputCsv.close();
    }
    const throughput = throughputRuns.length > 0
      ? combineThroughputSummaries(newRunInfo(), throughputRuns)
      : null;
    if (throughput) {
      await Deno.writeTextFile(
        join(dir, "throughput.json"),
        JSON.stringify(throughput, null, 2) + "\n",
      );
    }

    // Connection set-up: 2 workers, one connection at a time each.
    const connect = interrupted() ? null : await step("connect", () =>
      runConnect({
        ...DEFAULT_CONNECT_OPTIONS,
        target: target!,
        workers: 2,
        count: BENCH_CONNECTIONS,
        csvPath: join(dir, "connect.csv"),
        jsonPath: join(dir, "connect.json"),
      }));
    if (!interrupted()) exitCodes.push(connect ? connect.exitCode : ExitCode.failed);

    // Responsiveness: probes idle, then while streams load the path up and down at once.
    console.log("");
    const responsiveness = interrupted()
      ? null
      : await step("responsiveness", () =>
        runResponsiveness({
          ...DEFAULT_RESPONSIVENESS_OPTIONS,
          ...BENCH_RESPONSIVENESS,
          host,
          ports: {
            echo: target!.port,
            discard: server ? server.port("discard") : DEFAULT_RESPONSIVENESS_OPTIONS.ports.discard,
            chargen: server ? server.port("chargen") : DEFAULT_RESPONSIVENESS_OPTIONS.ports.chargen,
          },
          csvPath: join(dir, "responsiveness.csv"),
          jsonPath: join(dir, "responsiveness.json"),
        }));
    if (!interrupted()) {
      exitCodes.push(responsiveness ? responsiveness.exitCode : ExitCode.failed);
    }

    const summary: BenchSummary = {
      command: "bench",
      run,
      target: latency.summary.target,
      ownServer: server !== undefined,
      latency: latency.summary,
      throughput,
      connect: connect?.summary ?? null,
      responsiveness: responsiveness?.summary ?? null,
    };
    const summaryPath = join(dir, "summary.json");
    await Deno.writeTextFile(summaryPath, JSON.stringify(summary, null, 2) + "\n");
    console.log(
      `\nResults in ${dir}/: latency.csv, latency.json, throughput.csv, throughput.json, connect.csv, connect.json, responsiveness.csv, responsiveness.json, summary.json`,
    );

    // The report: every CSV of the folder on one page. A report that cannot
    // be built costs only itself; the measurements are saved already.
    try {
      await writeFolderReport(dir);
    } catch (error) {
      if (!(error instanceof UsageError || error instanceof RunError)) throw error;
      console.error(`netspeed: report skipped: ${error.message}`);
    }

    if (interrupted()) return ExitCode.interrupted;
    return exitCodes.find((code) => code !== ExitCode.ok) ?? ExitCode.ok;
  } finally {
    await server?.stop();
  }
}
