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
  /** Host name of the machine that ran the command ("" when it cannot be read). */
  hostname: string;
}

/** Captures the identity of a run starting now (on {@linkcode sharedClockMs}). */
export function newRunInfo(now: Date = new Date(sharedClockMs())): RunInfo {
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
    hostname: hostname(),
  };
}

/** The host name, or "" without the permission to read it. */
export function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}

/**
 * Test hook: `NETSPEED_CLOCK_OFFSET_MS` shifts this process's wall clock,
 * so a test on one machine (where every network namespace shares a clock)
 * can play a node whose clock is off and prove that `merge` notices.
 * Undocumented on purpose: it falsifies every timestamp.
 */
const CLOCK_OFFSET_MS = (() => {
  try {
    const value = Number(Deno.env.get("NETSPEED_CLOCK_OFFSET_MS") ?? "0");
    return Number.isFinite(value) ? value : 0;
  } catch {
    return 0;
  }
})();

/**
 * Milliseconds since the Unix epoch with sub-millisecond resolution, on a
 * clock that every Worker shares: each thread has its own
 * `performance.timeOrigin`, so `performance.now()` alone is not comparable
 * across workers, while `timeOrigin + now()` is.
 */
export function sharedClockMs(): number {
  return performance.timeOrigin + performance.now() + CLOCK_OFFSET_MS;
}

/** The `performance.now()` time of an instant on {@linkcode sharedClockMs}. */
export function perfOfSharedMs(epochMs: number): number {
  return epochMs - performance.timeOrigin - CLOCK_OFFSET_MS;
}

/** The {@linkcode sharedClockMs} instant of a `performance.now()` time. */
export function sharedMsOfPerf(perfMs: number): number {
  return performance.timeOrigin + perfMs + CLOCK_OFFSET_MS;
}

/**
 * The {@linkcode sharedClockMs} instant of the latest of some
 * `performance.now()` times; null when none is finite (none happened).
 */
export function sharedMsOfLatest(...perfMs: number[]): number | null {
  const latest = Math.max(...perfMs);
  return Number.isFinite(latest) ? sharedMsOfPerf(latest) : null;
}
