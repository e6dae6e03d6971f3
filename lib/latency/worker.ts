/**
 * The latency Worker: drives its share of connections in closed-loop
 * ping-pong (write a payload, read exactly as many bytes back, verify,
 * repeat), records every attempt into transferable batches and keeps an HDR
 * histogram the main thread merges.
 *
 * The engine (`job.engine`) only opens connections and moves each round
 * trip's bytes; this loop, the records and the time limits are the same
 * for all of them.
 *
 * Started by `lib/commands/latency.ts` from its module URL, so
 * `deno compile --include lib/latency/worker.ts` can embed it.
 *
 * @module
 */
import { waitUntil } from "../pacer.ts";
/// <reference lib="deno.worker" />
import { createHistogram, encodeHistogram, recordUs } from "../histogram.ts";
import { classifyError, MismatchError, PastDeadlineError } from "../net_io.ts";
import { engineNamed } from "../engine/engines.ts";
import { nowPerf } from "../engine/monotonic_clock.ts";
import { untilArrivalsStamped } from "../engine/stamping_probe.ts";
import type { SocketEngine, StreamConn } from "../engine/socket_engine.ts";
import { TurnLock, yieldIfDue } from "../engine/thread_turns.ts";
import { perfOfSharedMs, sharedClockMs, sharedMsOfPerf } from "../run_info.ts";
import {
  errorCode,
  type FromLatencyWorker,
  type LatencyJob,
  type ToLatencyWorker,
} from "../worker_protocol.ts";
import { answerLifecycle } from "../worker_lifecycle.ts";
import { batchSender } from "../column_buffer.ts";
import { SampleBuffer } from "./sample_buffer.ts";
import { type EchoComparison, equalBytes, equalBytesLibc, wordsOf } from "./echo_compare.ts";

type GoMessage = Extract<ToLatencyWorker, { type: "go" }>;

/** Batches are flushed at least this often, so CSV rows and progress keep up. */
const FLUSH_EVERY_MS = 200;
/**
 * Successful round trips a connection keeps as bare numbers before they go
 * into the histogram and the sample batch together. Code that runs right
 * after the thread wakes from its wait is slow (cold caches): recording each
 * sample there took 0.9-1.1 µs of every round trip, outside its timing but
 * inside the loop's rate. Batched (and with one clock reading fewer), the
 * FFI loop's time outside its round trips fell by 0.2-0.3 µs each, to
 * 1.5-1.7 µs (medians of two sets of 6 interleaved runs against a C echo).
 */
const RECORD_EVERY = 256;
/** Payloads kept per connection, at most this many bytes in all. */
const PAYLOAD_POOL_BYTES = 8 * 1024 * 1024;

function post(message: FromLatencyWorker, transfer: ArrayBuffer[] = []): void {
  self.postMessage(message, transfer);
}

const liveConns = new Set<StreamConn>();
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

async function run(job: LatencyJob): Promise<void> {
  const histogram = createHistogram();
  const samples = new SampleBuffer(job.workerId);
  const flush = batchSender(samples, (batch, transfer) => post({ type: "batch", batch }, transfer));
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
    if (samples.add(connection, seq, startUs, rttUs, bytes, error)) flush();
  };

  // Phase 1: connect and warm up every connection, then wait for the go.
  const engine = engineNamed(job.engine, { kernelTimestamps: job.kernelTimestamps });
  // A blocking engine runs one round trip at a time on this thread.
  const turns = engine.blocking && job.connectionIds.length > 1 ? new TurnLock() : undefined;
  const ready = await Promise.all(
    job.connectionIds.map((id) => prepare(job, engine, id, record, turns)),
  );
  const live = ready.filter((c): c is Prepared => c !== undefined);
  // The kernel may not stamp arrivals yet when these were the host's first sockets to ask.
  if (job.kernelTimestamps && live.length > 0) await untilArrivalsStamped();
  post({ type: "ready", workerId: job.workerId, liveConnections: live.length });
  const go = await lifecycle.go;
  // Told early, at --start-at, the worker waits for the instant itself.
  if (go?.startEpochMs !== undefined) {
    await waitUntil(perfOfSharedMs(go.startEpochMs), () => lifecycle.stopping);
  }
  const deadlineEpochMs = go?.deadlineEpochMs;

  // Phase 2: measure.
  const kept: Kept = { histogram, record, stamps: { kernelTimed: 0 } };
  await Promise.all(live.map((c) => measure(job, engine, c, deadlineEpochMs, kept, turns)));
  // Read before the histogram is encoded and the last rows sent, which measure nothing.
  const measuredUntilEpochMs = live.length > 0 ? sharedClockMs() : null;
  clearInterval(flushTimer);
  flush();
  post({
    type: "done",
    workerId: job.workerId,
    histogram: encodeHistogram(histogram),
    ...(job.kernelTimestamps ? { kernelTimed: kept.stamps.kernelTimed } : {}),
    measuredUntilEpochMs,
  });
}

interface Prepared {
  id: number;
  conn: StreamConn;
  payloads: Uint8Array[];
  payloadWords: Uint32Array[];
  received: Uint8Array;
  receivedWords: Uint32Array;
  /** How an echo is compared with its payload (see {@linkcode equalBytesLibc}). */
  equal: EchoComparison;
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
  engine: SocketEngine,
  id: number,
  record: Recorder,
  turns: TurnLock | undefined,
): Promise<Prepared | undefined> {
  const startMs = sharedClockMs();
  let conn: StreamConn;
  try {
    conn = await engine.connect(job.host, job.port, job.timeoutMs, () => lifecycle.stopping);
  } catch (error) {
    record(id, 0, startMs, NaN, 0, errorCode(classifyError(error)));
    return undefined;
  }
  liveConns.add(conn);
  const payloads = makePayloads(job.sizeBytes);
  const received = new Uint8Array(job.sizeBytes);
  const prepared: Prepared = {
    id,
    conn,
    payloads,
    payloadWords: payloads.map(wordsOf),
    received,
    receivedWords: wordsOf(received),
    equal: engine.blocking ? equalBytesLibc : equalBytes,
  };
  // The warm-up runs the measuring loop itself, so that loop is compiled before it is timed.
  const failed = await pingPong(job, engine, prepared, job.warmup, Infinity, undefined, turns);
  if (!failed) return prepared;
  record(id, 0, sharedMsOfPerf(failed.startPerf), NaN, 0, errorCode(classifyError(failed.error)));
  close(conn);
  return undefined;
}

function verify(job: LatencyJob, c: Prepared, k: number): void {
  if (job.verify && !c.equal(c.payloads[k], c.payloadWords[k], c.received, c.receivedWords)) {
    throw new MismatchError("echo differs from the payload");
  }
}

/** Where the successful round trips of a measured phase go. */
interface Kept {
  histogram: ReturnType<typeof createHistogram>;
  record: Recorder;
  /** Successful round trips of this worker that ended at the kernel's receive time. */
  stamps: { kernelTimed: number };
}

/** The round trip that ended a loop by failing. */
interface Failure {
  seq: number;
  startPerf: number;
  error: unknown;
}

async function measure(
  job: LatencyJob,
  engine: SocketEngine,
  c: Prepared,
  deadlineEpochMs: number | undefined,
  kept: Kept,
  turns: TurnLock | undefined,
): Promise<void> {
  // Convert the shared-clock deadline to this thread's performance.now().
  const deadlinePerf = deadlineEpochMs === undefined ? Infinity : perfOfSharedMs(deadlineEpochMs);
  try {
    const failed = await pingPong(job, engine, c, job.count ?? Infinity, deadlinePerf, kept, turns);
    if (failed) {
      const code = errorCode(classifyError(failed.error));
      kept.record(c.id, failed.seq, sharedMsOfPerf(failed.startPerf), NaN, 0, code);
    }
  } finally {
    close(c.conn);
  }
}

/**
 * Round trips on one connection until `count`, the deadline, a stop or a
 * failure, which it returns unless Ctrl-C or the deadline cut it short (a
 * round trip cut short is neither a success nor a failure). Successes go
 * to `kept`; the warm-up keeps none.
 */
async function pingPong(
  job: LatencyJob,
  engine: SocketEngine,
  c: Prepared,
  count: number,
  deadlinePerf: number,
  kept: Kept | undefined,
  turns: TurnLock | undefined,
): Promise<Failure | undefined> {
  const stamped = job.kernelTimestamps;
  const pool = c.payloads;
  const held = new HeldSamples();
  // A blocking engine reads the clock through libc, at half the cost: twice per round trip.
  const now = engine.blocking ? nowPerf : performanceNow;
  let lastEndPerf = now();
  try {
    // Not an integer, so the warm-up's limit and the measured phase's (often Infinity) are both
    // heap numbers to V8: a small integer first had it discard the compiled loop ("not a Smi") as
    // the measured phase began and compile it twice more (14-17 ms each) while timing it.
    const limit = count - 0.5;
    for (let seq = 0; seq < limit && !lifecycle.stopping; seq++) {
      // A blocking engine lets the event loop in between round trips, never inside one's timing.
      if (engine.blocking) {
        // The clock read when the last round trip ended serves: a reading here costs 0.1 µs.
        const pending = yieldIfDue(lastEndPerf);
        if (pending) await pending;
        if (lifecycle.stopping) break;
      }
      const endTurn = turns ? await turns.take() : undefined;
      const t0 = now();
      if (t0 >= deadlinePerf) {
        endTurn?.();
        break;
      }
      let rttUs = NaN;
      try {
        const k = seq % pool.length;
        const pending = c.conn.roundTrip(pool[k], c.received, job.timeoutMs, deadlinePerf, t0);
        if (pending) await pending;
        // The clock stops when the echo is in; comparing it is not part of the round trip.
        lastEndPerf = now();
        let endPerf = lastEndPerf;
        if (stamped) {
          // When the echo reached this host; a stamp before the send is a step of the wall
          // clock between them, and the read time serves.
          const arrivalPerf = c.conn.arrivalPerf;
          if (arrivalPerf !== undefined && arrivalPerf >= t0) {
            endPerf = arrivalPerf;
            if (kept) kept.stamps.kernelTimed++;
          }
        }
        rttUs = (endPerf - t0) * 1000;
        verify(job, c, k);
      } catch (error) {
        endTurn?.();
        const cutShort = lifecycle.stopping || error instanceof PastDeadlineError;
        return cutShort ? undefined : { seq, startPerf: t0, error };
      }
      endTurn?.();
      if (held.add(seq, t0, rttUs)) held.recordTo(kept, c.id, job.sizeBytes);
    }
  } finally {
    held.recordTo(kept, c.id, job.sizeBytes);
  }
  return undefined;
}

/** `performance.now()`, one function for every call of {@linkcode pingPong}. */
const performanceNow = () => performance.now();

/**
 * Successful round trips not yet recorded: their start (performance.now())
 * and RTT. A class rather than closures made per call of
 * {@linkcode pingPong}: optimized code that calls a closure is thrown away
 * when the next call brings a new one ("wrong call target").
 */
class HeldSamples {
  readonly startsPerf = new Float64Array(RECORD_EVERY);
  readonly rttsUs = new Float64Array(RECORD_EVERY);
  count = 0;
  firstSeq = 0;

  /** Holds one; true when full. */
  add(seq: number, startPerf: number, rttUs: number): boolean {
    if (this.count === 0) this.firstSeq = seq;
    this.startsPerf[this.count] = startPerf;
    this.rttsUs[this.count++] = rttUs;
    return this.count === RECORD_EVERY;
  }

  /** Records what is held into the histogram and the rows (the warm-up keeps none). */
  recordTo(kept: Kept | undefined, connection: number, bytes: number): void {
    for (let i = 0; kept && i < this.count; i++) {
      const rttUs = this.rttsUs[i];
      recordUs(kept.histogram, rttUs);
      kept.record(
        connection,
        this.firstSeq + i,
        sharedMsOfPerf(this.startsPerf[i]),
        rttUs,
        bytes,
        0,
      );
    }
    this.count = 0;
  }
}

function close(conn: StreamConn): void {
  liveConns.delete(conn);
  conn.close();
}
