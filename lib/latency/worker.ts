/**
 * The latency Worker: drives its share of connections in closed-loop
 * ping-pong (write a payload, read exactly as many bytes back, verify,
 * repeat), records every attempt into transferable batches and keeps an HDR
 * histogram the main thread merges.
 *
 * Started by `lib/commands/latency.ts` from its module URL, so
 * `deno compile --include lib/latency/worker.ts` can embed it.
 *
 * @module
 */
import { waitUntil } from "../pacer.ts";
/// <reference lib="deno.worker" />
import { createHistogram, encodeHistogram, recordUs } from "../histogram.ts";
import {
  classifyError,
  connectTcp,
  MismatchError,
  readExactly,
  TimeoutError,
  writeAll,
} from "../net_io.ts";
import { perfOfSharedMs, sharedClockMs, sharedMsOfPerf } from "../run_info.ts";
import {
  errorCode,
  type FromLatencyWorker,
  type LatencyJob,
  type ToLatencyWorker,
} from "../worker_protocol.ts";
import { answerLifecycle } from "../worker_lifecycle.ts";
import { SampleBuffer } from "./sample_buffer.ts";

type GoMessage = Extract<ToLatencyWorker, { type: "go" }>;

/** Batches are flushed at least this often, so CSV rows and progress keep up. */
const FLUSH_EVERY_MS = 200;
/** Payloads kept per connection, at most this many bytes in all. */
const PAYLOAD_POOL_BYTES = 8 * 1024 * 1024;

function post(message: FromLatencyWorker, transfer: ArrayBuffer[] = []): void {
  self.postMessage(message, transfer);
}

const liveConns = new Set<Deno.TcpConn>();
const lifecycle = answerLifecycle<LatencyJob, GoMessage>(run, () => {
  // A round trip waiting on a silent peer would hold the stop; close it.
  for (const conn of liveConns) close(conn);
});

/** Random payloads, prepared before timing, so no round trip pays for them. */
function makePayloads(sizeBytes: number): Uint8Array[] {
  const count = Math.max(2, Math.min(8, Math.floor(PAYLOAD_POOL_BYTES / sizeBytes)));
  return Array.from({ length: count }, () => {
    const payload = new Uint8Array(sizeBytes);
    // getRandomValues fills at most 64 KiB per call.
    for (let offset = 0; offset < sizeBytes; offset += 65536) {
      crypto.getRandomValues(payload.subarray(offset, Math.min(sizeBytes, offset + 65536)));
    }
    return payload;
  });
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function run(job: LatencyJob): Promise<void> {
  const histogram = createHistogram();
  const samples = new SampleBuffer(job.workerId);
  const flush = () => {
    if (samples.length === 0) return;
    const { batch, transfer } = samples.take();
    post({ type: "batch", batch }, transfer);
  };
  const flushTimer = setInterval(flush, FLUSH_EVERY_MS);
  const record = (
    connection: number,
    seq: number,
    startMs: number,
    rttUs: number,
    bytes: number,
    error: number,
  ) => {
    const startUs = (startMs - job.runStartEpochMs) * 1000;
    if (samples.push({ connection, seq, startUs, rttUs, bytes, error })) flush();
  };

  // Phase 1: connect and warm up every connection, then wait for the go.
  const ready = await Promise.all(job.connectionIds.map((id) => prepare(job, id, record)));
  const live = ready.filter((c): c is Prepared => c !== undefined);
  post({ type: "ready", workerId: job.workerId, liveConnections: live.length });
  const go = await lifecycle.go;
  // Told early, at --start-at, the worker waits for the instant itself.
  if (go?.startEpochMs !== undefined) {
    await waitUntil(perfOfSharedMs(go.startEpochMs), () => lifecycle.stopping);
  }
  const deadlineEpochMs = go?.deadlineEpochMs;

  // Phase 2: measure.
  const stopWatchdog = watchdog(job, live);
  await Promise.all(live.map((c) => measure(job, c, deadlineEpochMs, histogram, record)));
  stopWatchdog();
  clearInterval(flushTimer);
  flush();
  post({ type: "done", workerId: job.workerId, histogram: encodeHistogram(histogram) });
}

interface Prepared {
  id: number;
  conn: Deno.TcpConn;
  payloads: Uint8Array[];
  received: Uint8Array;
  /** performance.now() at the start of the round trip in flight, or -1. */
  roundTripStartMs: number;
  timedOut: boolean;
}

type Recorder = (
  connection: number,
  seq: number,
  startMs: number,
  rttUs: number,
  bytes: number,
  error: number,
) => void;

async function prepare(
  job: LatencyJob,
  id: number,
  record: Recorder,
): Promise<Prepared | undefined> {
  const startMs = sharedClockMs();
  let conn: Deno.TcpConn;
  try {
    conn = await connectTcp(job.host, job.port, job.timeoutMs);
  } catch (error) {
    record(id, 0, startMs, NaN, 0, errorCode(classifyError(error)));
    return undefined;
  }
  liveConns.add(conn);
  const prepared: Prepared = {
    id,
    conn,
    payloads: makePayloads(job.sizeBytes),
    received: new Uint8Array(job.sizeBytes),
    roundTripStartMs: -1,
    timedOut: false,
  };
  const stopWatchdog = watchdog(job, [prepared]);
  try {
    for (let i = 0; i < job.warmup && !lifecycle.stopping; i++) {
      await roundTrip(job, prepared, prepared.payloads[i % prepared.payloads.length]);
    }
  } catch (error) {
    if (!lifecycle.stopping) {
      record(id, 0, sharedClockMs(), NaN, 0, errorCode(classifyError(error)));
    }
    close(conn);
    return undefined;
  } finally {
    stopWatchdog();
  }
  return prepared;
}

/**
 * One round trip. Its time limit is kept by {@linkcode watchdog}, not by a
 * timer per round trip, which would cost more than the loopback round trip
 * we are measuring is long.
 */
async function roundTrip(job: LatencyJob, c: Prepared, payload: Uint8Array): Promise<void> {
  c.roundTripStartMs = performance.now();
  try {
    await writeAll(c.conn, payload);
    await readExactly(c.conn, c.received);
  } catch (error) {
    if (c.timedOut) throw new TimeoutError(`no echo within ${job.timeoutMs} ms`);
    throw error;
  } finally {
    c.roundTripStartMs = -1;
  }
  if (job.verify && !equalBytes(payload, c.received)) {
    throw new MismatchError("echo differs from the payload");
  }
}

/**
 * Closes connections whose round trip has run past the time limit, which
 * makes their pending read fail; checked ten times per limit, so a timeout
 * fires between 1 and 1.1 times `timeoutMs` after the round trip began.
 */
function watchdog(job: LatencyJob, connections: Prepared[]): () => void {
  const timer = setInterval(() => {
    const now = performance.now();
    for (const c of connections) {
      if (c.roundTripStartMs >= 0 && now - c.roundTripStartMs > job.timeoutMs) {
        c.timedOut = true;
        close(c.conn);
      }
    }
  }, Math.max(1, job.timeoutMs / 10));
  return () => clearInterval(timer);
}

async function measure(
  job: LatencyJob,
  c: Prepared,
  deadlineEpochMs: number | undefined,
  histogram: ReturnType<typeof createHistogram>,
  record: Recorder,
): Promise<void> {
  const count = job.count ?? Infinity;
  const pool = c.payloads;
  // Convert the shared-clock deadline to this thread's performance.now().
  const deadlinePerf = deadlineEpochMs === undefined ? Infinity : perfOfSharedMs(deadlineEpochMs);
  try {
    for (let seq = 0; seq < count && !lifecycle.stopping; seq++) {
      const t0 = performance.now();
      if (t0 >= deadlinePerf) break;
      try {
        await roundTrip(job, c, pool[seq % pool.length]);
      } catch (error) {
        // A round trip cut short by Ctrl-C is neither a success nor a failure.
        if (!lifecycle.stopping) {
          record(c.id, seq, sharedMsOfPerf(t0), NaN, 0, errorCode(classifyError(error)));
        }
        return;
      }
      const rttUs = (performance.now() - t0) * 1000;
      recordUs(histogram, rttUs);
      record(c.id, seq, sharedMsOfPerf(t0), rttUs, job.sizeBytes, 0);
    }
  } finally {
    close(c.conn);
  }
}

function close(conn: Deno.TcpConn): void {
  liveConns.delete(conn);
  try {
    conn.close();
  } catch { /* already closed */ }
}
