/**
 * How an open-loop run is split over workers and connections: which
 * connection sends how many messages, and when sending must stop. Pure.
 *
 * @module
 */
import type { OpenLoopJob } from "../worker_protocol.ts";
import type { LatencyOptions } from "./options.ts";
import { messagesInWindow, scheduleWindowMs, sendCutoffMs, type SendSchedule } from "./schedule.ts";

/** The schedule of an open-loop run; throws if the options have no rate. */
export function scheduleOf(options: LatencyOptions): SendSchedule {
  if (options.ratePerSec === undefined) throw new Error("An open-loop run needs a rate");
  return {
    ratePerSec: options.ratePerSec,
    totalConnections: options.workers * options.connections,
  };
}

/**
 * The window the schedule fills: `durationMs` when bounded by time, else
 * the time `count` messages per connection take at the rate.
 */
export function openLoopWindowMs(options: LatencyOptions): number {
  const schedule = scheduleOf(options);
  if (options.durationMs !== undefined) return options.durationMs;
  return scheduleWindowMs(schedule, (options.count ?? 0) * schedule.totalConnections);
}

/** Messages connection `connection` (global id) sends. */
export function openLoopCount(options: LatencyOptions, connection: number): number {
  if (options.durationMs === undefined) return options.count ?? 0;
  return messagesInWindow(scheduleOf(options), connection, options.durationMs);
}

/** Messages the run plans over all connections. */
export function openLoopPlanned(options: LatencyOptions): number {
  const total = options.workers * options.connections;
  let planned = 0;
  for (let k = 0; k < total; k++) planned += openLoopCount(options, k);
  return planned;
}

/**
 * One job per worker: worker w drives connections w·C … w·C + C − 1, as in
 * the closed loop, and connection k keeps slot k of the common schedule.
 */
export function planOpenLoopWorkers(
  options: LatencyOptions,
  runStartEpochMs: number,
  /** The target's address resolved once, for engines that want one. */
  address?: string,
): OpenLoopJob[] {
  const schedule = scheduleOf(options);
  const cutoffMs = sendCutoffMs(openLoopWindowMs(options));
  return Array.from({ length: options.workers }, (_, workerId) => {
    const connectionIds = Array.from(
      { length: options.connections },
      (_, i) => workerId * options.connections + i,
    );
    return {
      workerId,
      connectionIds,
      counts: connectionIds.map((k) => openLoopCount(options, k)),
      totalConnections: schedule.totalConnections,
      ratePerSec: schedule.ratePerSec,
      sendCutoffMs: cutoffMs,
      transport: options.transport ?? "tcp",
      host: address ?? options.target.host,
      port: options.target.port,
      sizeBytes: options.sizeBytes,
      warmup: options.warmup,
      timeoutMs: options.timeoutMs,
      verify: options.verify,
      runStartEpochMs,
      engine: options.engine ?? "deno",
      kernelTimestamps: options.kernelTimestamps === true,
    };
  });
}
