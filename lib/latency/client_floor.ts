/**
 * The client's own floor: the round trip of the engine in use against an
 * echo in this same process, on loopback, measured before a run so the
 * result can say how much of a figure is the client's own cost. Pure
 * parts (the summary field, the warning, the line) and the measurement.
 *
 * @module
 */
import { createHistogram, decodeHistogram, type Histogram, latencyStats } from "../histogram.ts";
import { RunError } from "../errors.ts";
import { startServerThread } from "../server/server_thread.ts";
import { DEFAULT_TCP_SERVICES_OPTIONS } from "../server/tcp_services.ts";
import { sharedClockMs } from "../run_info.ts";
import { measure, WorkerGroup } from "../worker_group.ts";
import type { FromLatencyWorker, LatencyJob, ToLatencyWorker } from "../worker_protocol.ts";
import type { EngineName } from "../engine/socket_engine.ts";

const WORKER_URL = new URL("./worker.ts", import.meta.url).href;

/** Batches timed for the floor; the floor is the best batch's p50. */
export const FLOOR_BATCHES = 5;
/** Round trips timed per batch (after {@linkcode FLOOR_WARMUP} unrecorded ones). */
export const FLOOR_ROUND_TRIPS = 1000;
/** Unrecorded round trips before each batch is timed. */
export const FLOOR_WARMUP = 1000;
/** A p50 within this factor of the floor is mostly the client's own cost. */
export const FLOOR_WARNING_FACTOR = 2;

/** The floor as the JSON summary carries it. */
export interface ClientFloor {
  /** Median round trip against the in-process echo, µs (full round trip), of the best batch. */
  p50Us: number;
  /** That batch's 99th percentile, µs. */
  p99Us: number;
  /** Round trips timed in that batch. */
  roundTrips: number;
  /** Batches timed; the best is kept, as others may have met a busy machine. */
  batches: number;
  engine: EngineName;
  sizeBytes: number;
  /** Timed like the run: to the kernel's receive time of each echo. */
  kernelTimestamps?: true;
  /** What answered: netspeed's echo on a Worker thread of the same process, on 127.0.0.1. */
  echo: "in-process netspeed echo on 127.0.0.1";
}

/**
 * Measures the floor: one connection of `engine`, `sizeBytes` per round
 * trip, against netspeed's echo started on its own Worker thread on a
 * free loopback port, stopped again before this resolves. The best of
 * {@linkcode FLOOR_BATCHES} short batches is kept: a floor is the least
 * the client costs, and a batch that met another process's burst says
 * more about that process. With `kernelTimestamps` each round trip ends
 * at the kernel's receive time, as the run's will.
 */
export async function measureClientFloor(
  engine: EngineName,
  sizeBytes: number,
  kernelTimestamps = false,
): Promise<ClientFloor> {
  const server = await startServerThread({
    ...DEFAULT_TCP_SERVICES_OPTIONS,
    host: "127.0.0.1",
    ports: { echo: 0, discard: null, chargen: null },
  });
  try {
    let best: ReturnType<typeof latencyStats> | undefined;
    for (let batch = 0; batch < FLOOR_BATCHES; batch++) {
      const stats = await floorBatch(engine, sizeBytes, server.port("echo"), kernelTimestamps);
      if (stats.count > 0 && (best === undefined || stats.p50Us < best.p50Us)) best = stats;
    }
    if (best === undefined) {
      throw new RunError(
        "Cannot measure this client's floor: no round trip to the in-process echo",
      );
    }
    return {
      p50Us: best.p50Us,
      p99Us: best.p99Us,
      roundTrips: best.count,
      batches: FLOOR_BATCHES,
      engine,
      sizeBytes,
      ...(kernelTimestamps ? { kernelTimestamps } : {}),
      echo: "in-process netspeed echo on 127.0.0.1",
    };
  } finally {
    await server.stop();
  }
}

/** One batch: a latency Worker with one connection, its histogram's figures. */
async function floorBatch(
  engine: EngineName,
  sizeBytes: number,
  port: number,
  kernelTimestamps: boolean,
) {
  const job: LatencyJob = {
    workerId: 0,
    connectionIds: [0],
    host: "127.0.0.1",
    port,
    sizeBytes,
    count: FLOOR_ROUND_TRIPS,
    warmup: FLOOR_WARMUP,
    timeoutMs: 5000,
    verify: true,
    runStartEpochMs: sharedClockMs(),
    engine,
    kernelTimestamps,
  };
  let histogram: Histogram = createHistogram();
  const group = WorkerGroup.start<LatencyJob, ToLatencyWorker, FromLatencyWorker>({
    url: WORKER_URL,
    name: "calibrate",
    jobs: [job],
    onMessage(message) {
      if (message.type === "done") histogram = decodeHistogram(message.histogram);
    },
  });
  await measure(group, { go: () => ({ type: "go" as const }), stop: { type: "stop" as const } });
  return latencyStats(histogram);
}

/** The line printed beside a result. */
export function formatClientFloor(floor: ClientFloor): string {
  return `This client's floor on this machine: ${
    floor.p50Us.toFixed(1)
  } µs p50 (engine ${floor.engine}, ${floor.sizeBytes} B, against an in-process echo on loopback)`;
}

/** The warning when a p50 is within {@linkcode FLOOR_WARNING_FACTOR}× of the floor, else undefined. */
export function clientFloorWarning(p50Us: number, floor: ClientFloor): string | undefined {
  if (!(p50Us > 0) || p50Us >= FLOOR_WARNING_FACTOR * floor.p50Us) return undefined;
  return `The p50 (${
    p50Us.toFixed(1)
  } µs) is within ${FLOOR_WARNING_FACTOR}x of this client's floor (${
    floor.p50Us.toFixed(1)
  } µs): the client's own cost is a large part of this figure`;
}
