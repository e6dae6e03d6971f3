/**
 * What every result file carries beside its numbers: which tool and
 * runtime measured, when, and under which run id, so a CSV or JSON file
 * found later still says where it came from.
 *
 * @module
 */

/** netspeed's own version; bump with each release. */
export const NETSPEED_VERSION = "0.1.0";

/** Identity of one run, shared by its CSV, JSON and report. */
export interface RunInfo {
  tool: "netspeed";
  version: string;
  deno: string;
  v8: string;
  typescript: string;
  os: string;
  arch: string;
  /** Random id that ties the files of one run together. */
  runId: string;
  /** Wall-clock start, ISO 8601 UTC. */
  startedAt: string;
  /** Wall-clock start in milliseconds since the Unix epoch. */
  startEpochMs: number;
}

/** Captures the identity of a run starting now. */
export function newRunInfo(now: Date = new Date()): RunInfo {
  return {
    tool: "netspeed",
    version: NETSPEED_VERSION,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: Deno.build.os,
    arch: Deno.build.arch,
    runId: crypto.randomUUID(),
    startedAt: now.toISOString(),
    startEpochMs: now.getTime(),
  };
}

/**
 * Milliseconds since the Unix epoch with sub-millisecond resolution, on a
 * clock that every Worker shares: each thread has its own
 * `performance.timeOrigin`, so `performance.now()` alone is not comparable
 * across workers, while `timeOrigin + now()` is.
 */
export function sharedClockMs(): number {
  return performance.timeOrigin + performance.now();
}
