/**
 * The open-loop TCP Worker: sends messages on its connections at the times
 * the schedule sets, whether or not replies have come back, and matches
 * each reply to its message as the echo returns the stream in order.
 *
 * Each message is timed twice: from the moment it was meant to leave
 * (corrected, what a user waiting on it would see, as wrk2 and
 * HdrHistogram's coordinated-omission correction count) and from the moment
 * it actually left (uncorrected). A server stall that holds replies, or a
 * full socket buffer that holds sends, is charged to every message it
 * delayed, not just to the one in flight.
 *
 * Each connection runs two loops: a sender that waits for its next
 * appointment (see `lib/pacer.ts`) and writes everything due by then in one
 * write, and a reader that takes replies in big chunks and cuts them into
 * messages. Messages in flight are bounded per connection; a client that
 * cannot keep up falls behind the schedule, which the achieved rate
 * reports.
 *
 * Started by `lib/latency/open_loop_run.ts` from its module URL, so
 * `deno compile --include lib/latency/open_loop_worker.ts` can embed it.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { perfOfSharedMs, sharedMsOfLatest } from "../run_info.ts";
import { createHistogram, encodeHistogram, recordUs } from "../histogram.ts";
import {
  classifyError,
  connectTcp,
  MismatchError,
  PeerClosedError,
  readExactly,
  TimeoutError,
  writeAll,
} from "../net_io.ts";
import { nextTurn, waitUntil } from "../pacer.ts";
import { type ByteStream, connectFfiStream, type FfiStream } from "../engine/ffi_stream.ts";
import {
  errorCode,
  type FromOpenLoopWorker,
  type OpenLoopJob,
  type ToOpenLoopWorker,
} from "../worker_protocol.ts";
import { answerLifecycle } from "../worker_lifecycle.ts";
import { batchSender } from "../column_buffer.ts";

import { FRAME_HEADER_BYTES, MessageSplitter, readFrameHeader, writeFrameHeader } from "./frame.ts";
import { sameBytesFrom, tailComparisonFor } from "./echo_compare.ts";
import { keepTcpScheduleFfi } from "./open_loop_ffi.ts";
import { type OpenLoopSample, OpenLoopSampleBuffer } from "./open_loop_samples.ts";
import { intendedOffsetMs, lastDueSeq, type SendSchedule } from "./schedule.ts";

type GoMessage = Extract<ToOpenLoopWorker, { type: "go" }>;

/** Batches are flushed at least this often, so CSV rows and progress keep up. */
const FLUSH_EVERY_MS = 200;
/** Most messages in flight per connection (a power of two: the ring of send times). */
const MAX_IN_FLIGHT = 1 << 16;
/** Most bytes per write when a burst of messages is due. */
const MAX_WRITE_BYTES = 256 * 1024;
/** Bytes asked of each read. */
const READ_BYTES = 256 * 1024;
/** Most connections per Worker for which the pacer asks whether a reply is owed. */
const MAX_IDLE_CHECKED = 16;
/** Distinct random bodies per connection, so a stale echo cannot pass for a fresh one. */
const BODY_POOL = 8;

function post(message: FromOpenLoopWorker, transfer: ArrayBuffer[] = []): void {
  self.postMessage(message, transfer);
}

const liveConnections = new Set<Connection>();
const lifecycle = answerLifecycle<OpenLoopJob, GoMessage>(run, () => {
  // Replies still in flight are neither successes nor failures; stop waiting for them.
  for (const c of liveConnections) c.end(false);
});

/** One connection's schedule, its messages in flight and its end. */
class Connection {
  readonly id: number;
  readonly conn: ByteStream;
  /** Messages planned; lowered to what was sent when sending stops early. */
  limit: number;
  nextSend = 0;
  nextReply = 0;
  failed = false;
  /** Actual send times (performance.now()) of messages in flight, by seq mod MAX_IN_FLIGHT. */
  readonly sentAt = new Float64Array(MAX_IN_FLIGHT);
  readonly bodies: Uint8Array[];
  readonly splitter: MessageSplitter;
  /** Messages being written, filled ahead of their time. */
  readonly sendBuffer: Uint8Array;
  #closed = false;
  readonly #ended = Promise.withResolvers<void>();

  constructor(id: number, conn: ByteStream, count: number, sizeBytes: number) {
    this.id = id;
    this.conn = conn;
    this.limit = count;
    this.bodies = Array.from({ length: BODY_POOL }, () => randomBytes(sizeBytes));
    this.splitter = new MessageSplitter(sizeBytes);
    this.sendBuffer = new Uint8Array(
      Math.max(1, Math.floor(MAX_WRITE_BYTES / sizeBytes)) * sizeBytes,
    );
  }

  get ended(): Promise<void> {
    return this.#ended.promise;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sending is over and every message sent has its reply (or never will). */
  get complete(): boolean {
    return this.nextReply >= this.limit;
  }

  /** Stops sending; closes at once, or once the replies in flight are in when `drain`. */
  end(drain: boolean): void {
    this.limit = Math.min(this.limit, this.nextSend);
    if (!drain || this.complete) this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    liveConnections.delete(this);
    try {
      this.conn.close();
    } catch { /* already closed */ }
    this.#ended.resolve();
  }
}

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  // getRandomValues fills at most 64 KiB per call.
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)));
  }
  return bytes;
}

async function run(job: OpenLoopJob): Promise<void> {
  const schedule: SendSchedule = {
    ratePerSec: job.ratePerSec,
    totalConnections: job.totalConnections,
  };
  const corrected = createHistogram();
  const uncorrected = createHistogram();
  const sendLateness = createHistogram();
  const sameTail = tailComparisonFor(job.engine);
  const samples = new OpenLoopSampleBuffer(job.workerId);
  const flush = batchSender(samples, (batch, transfer) => post({ type: "batch", batch }, transfer));
  const flushTimer = setInterval(flush, FLUSH_EVERY_MS);
  const runStartPerf = perfOfSharedMs(job.runStartEpochMs);
  const usSinceRunStart = (perfMs: number) => (perfMs - runStartPerf) * 1000;

  // Phase 1: connect and warm up every connection, then wait for the go.
  const record = (sample: OpenLoopSample) => {
    if (samples.push(sample)) flush();
  };
  const prepared = await Promise.all(
    job.connectionIds.map((id, i) => prepare(job, id, job.counts[i], record, usSinceRunStart)),
  );
  const connections = prepared.filter((c): c is Connection => c !== undefined);
  post({ type: "ready", workerId: job.workerId, liveConnections: connections.length });
  const startEpochMs = (await lifecycle.go)?.startEpochMs ?? null;
  if (startEpochMs === null) {
    for (const c of connections) c.end(false);
    finish(0, null, null);
    return;
  }
  const startPerf = perfOfSharedMs(startEpochMs);
  const startUs = usSinceRunStart(startPerf);
  let sent = 0;
  let lastSendPerf = -Infinity;
  let lastReplyPerf = -Infinity;

  const fail = (c: Connection, error: unknown) => {
    if (c.failed || lifecycle.stopping) {
      c.close();
      return;
    }
    c.failed = true;
    const kind = errorCode(classifyError(error));
    // Every message in flight was sent and will never be answered: each is a failed attempt.
    const first = c.nextReply;
    const last = Math.max(c.nextSend, first + 1);
    for (let seq = first; seq < last; seq++) {
      const inFlight = seq < c.nextSend;
      const sentAt = inFlight ? c.sentAt[seq % MAX_IN_FLIGHT] : performance.now();
      record({
        connection: c.id,
        seq,
        startUs: usSinceRunStart(sentAt),
        intendedUs: startUs + intendedOffsetMs(schedule, c.id, seq) * 1000,
        rttUs: NaN,
        rttUncorrectedUs: NaN,
        bytes: 0,
        error: kind,
      });
    }
    c.nextReply = c.nextSend;
    c.end(false);
  };

  const onReply = (c: Connection, message: Uint8Array, nowPerf: number) => {
    const seq = c.nextReply;
    const intendedMs = intendedOffsetMs(schedule, c.id, seq);
    const intendedUs = startUs + intendedMs * 1000;
    if (job.verify) {
      const header = readFrameHeader(message);
      if (
        header.connection !== c.id || header.seq !== seq || header.intendedUs !== intendedUs ||
        !sameTail(message, c.bodies[seq % BODY_POOL], FRAME_HEADER_BYTES)
      ) {
        throw new MismatchError(`reply ${seq} differs from the message sent`);
      }
    }
    const sentAt = c.sentAt[seq % MAX_IN_FLIGHT];
    const rttUs = (nowPerf - (startPerf + intendedMs)) * 1000;
    const rttUncorrectedUs = (nowPerf - sentAt) * 1000;
    recordUs(corrected, rttUs);
    recordUs(uncorrected, rttUncorrectedUs);
    c.nextReply++;
    lastReplyPerf = nowPerf;
    record({
      connection: c.id,
      seq,
      startUs: usSinceRunStart(sentAt),
      intendedUs,
      rttUs,
      rttUncorrectedUs,
      bytes: job.sizeBytes,
      error: 0,
    });
  };

  const receive = async (c: Connection) => {
    const buffer = new Uint8Array(READ_BYTES);
    try {
      while (!c.complete) {
        const n = await c.conn.read(buffer);
        if (n === null) throw new PeerClosedError("connection closed by the peer");
        const now = performance.now();
        if (n > (c.nextSend - c.nextReply) * job.sizeBytes - c.splitter.pendingBytes) {
          throw new MismatchError("the server sent more bytes than it was sent");
        }
        c.splitter.feed(buffer.subarray(0, n), (message) => onReply(c, message, now));
      }
      c.close();
    } catch (error) {
      if (c.complete || lifecycle.stopping) c.close();
      else fail(c, error);
    }
  };

  const perWrite = Math.max(1, Math.floor(MAX_WRITE_BYTES / job.sizeBytes));
  /**
   * No reply is owed on any connection: the pacer may block the thread.
   * Asked only of a few connections: with many, the gaps are short anyway
   * and the question would cost more than it saves.
   */
  const idle = connections.length <= MAX_IDLE_CHECKED
    ? () => connections.every((c) => c.nextReply >= c.nextSend)
    : undefined;

  /** Fills message `i` of `c`'s send buffer with `seq`, ahead of its send. */
  const prepareMessage = (c: Connection, i: number, seq: number) => {
    const message = c.sendBuffer.subarray(i * job.sizeBytes, (i + 1) * job.sizeBytes);
    message.set(c.bodies[seq % BODY_POOL]);
    writeFrameHeader(message, {
      connection: c.id,
      seq,
      intendedUs: startUs + intendedOffsetMs(schedule, c.id, seq) * 1000,
    });
  };
  /** Counts `c`'s `n` prepared messages from `c.nextSend` on as sent now, just before their write. */
  const markSentOn = (c: Connection, n: number) => {
    const sentPerf = performance.now();
    for (let i = 0; i < n; i++) {
      const seq = c.nextSend + i;
      c.sentAt[seq % MAX_IN_FLIGHT] = sentPerf;
      recordUs(sendLateness, (sentPerf - startPerf - intendedOffsetMs(schedule, c.id, seq)) * 1000);
    }
    c.nextSend += n;
    sent += n;
    lastSendPerf = Math.max(lastSendPerf, sentPerf);
  };
  /** How many messages of `c` are due at `elapsedMs`, in one write and within its window. */
  const dueCount = (c: Connection, elapsedMs: number) =>
    Math.min(
      lastDueSeq(schedule, c.id, elapsedMs),
      c.limit - 1,
      c.nextReply + MAX_IN_FLIGHT - 1,
      c.nextSend + perWrite - 1,
    ) - c.nextSend + 1;

  /**
   * The default engine keeps one connection's appointments: waits for its next message to
   * come due, then writes everything due by then in one write. A write
   * held up by a full socket buffer holds the loop, and what came due
   * meanwhile leaves in the next write, charged from its intended time.
   */
  const sendLoop = async (c: Connection) => {
    try {
      while (!c.failed && !lifecycle.stopping && c.nextSend < c.limit) {
        if (c.nextSend - c.nextReply >= MAX_IN_FLIGHT) {
          // The window of messages in flight is full: wait for replies, not for the clock.
          await nextTurn();
          continue;
        }
        const first = c.nextSend;
        // Filled ahead of its time, so no copy waits between the wait and the write.
        prepareMessage(c, 0, first);
        await waitUntil(
          startPerf + intendedOffsetMs(schedule, c.id, first),
          () => lifecycle.stopping,
          idle,
        );
        const now = performance.now();
        const elapsedMs = now - startPerf;
        if (c.failed || lifecycle.stopping) break;
        if (elapsedMs > job.sendCutoffMs) {
          c.end(true);
          break;
        }
        const n = dueCount(c, elapsedMs);
        if (n <= 0) continue;
        for (let i = 1; i < n; i++) prepareMessage(c, i, first + i);
        markSentOn(c, n);
        await writeAll(c.conn, c.sendBuffer.subarray(0, n * job.sizeBytes));
      }
      // Sending is over: the connection ends once its last reply is in.
      if (!c.failed) c.end(!lifecycle.stopping);
    } catch (error) {
      fail(c, error);
    }
  };

  // Phase 2: the schedule. The FFI engine keeps it in one synchronous loop (no promise per
  // message, see open_loop_ffi.ts); the default engine with a receive and a send loop per
  // connection.
  const stopWatchdog = watchdog(job, connections, fail);
  if (job.engine === "deno") {
    await Promise.all(connections.flatMap((c) => [receive(c), sendLoop(c), c.ended]));
  } else {
    await keepTcpScheduleFfi(connections.map((c) => c.conn as FfiStream), {
      nextDue: (busy) => {
        let index = -1;
        let duePerf = Infinity;
        for (let i = 0; i < connections.length; i++) {
          const c = connections[i];
          if (c.closed || c.failed || c.nextSend >= c.limit || busy(i)) continue;
          if (c.nextSend - c.nextReply >= MAX_IN_FLIGHT) continue;
          const perf = startPerf + intendedOffsetMs(schedule, c.id, c.nextSend);
          if (perf < duePerf) [index, duePerf] = [i, perf];
        }
        if (index < 0) return undefined;
        // Filled ahead of its time, so no copy waits between wake-up and write.
        prepareMessage(connections[index], 0, connections[index].nextSend);
        return { index, duePerf };
      },
      takeDue: (i, nowPerf) => {
        const c = connections[i];
        const elapsedMs = nowPerf - startPerf;
        if (elapsedMs > job.sendCutoffMs) {
          c.end(true);
          return undefined;
        }
        const n = dueCount(c, elapsedMs);
        if (n <= 0) return undefined;
        for (let k = 1; k < n; k++) prepareMessage(c, k, c.nextSend + k);
        markSentOn(c, n);
        return c.sendBuffer.subarray(0, n * job.sizeBytes);
      },
      onBytes: (i, bytes, readPerf) => {
        const c = connections[i];
        if (bytes === null) throw new PeerClosedError("connection closed by the peer");
        if (bytes.length > (c.nextSend - c.nextReply) * job.sizeBytes - c.splitter.pendingBytes) {
          throw new MismatchError("the server sent more bytes than it was sent");
        }
        c.splitter.feed(bytes, (message) => onReply(c, message, readPerf));
        if (c.complete) c.close();
      },
      onError: (i, error) => {
        const c = connections[i];
        if (c.complete || lifecycle.stopping) c.close();
        else fail(c, error);
      },
      isOpen: (i) => !connections[i].closed,
      sendingOver: () => {
        let over = true;
        for (const c of connections) {
          if (c.closed || c.failed) continue;
          // Everything sent: the connection closes once its last reply is in.
          if (c.nextSend >= c.limit) c.end(true);
          else over = false;
        }
        return over;
      },
      stopping: () => lifecycle.stopping,
    }, READ_BYTES);
    for (const c of connections) c.end(false);
  }
  stopWatchdog();
  finish(
    sent,
    Number.isFinite(lastSendPerf) ? lastSendPerf - startPerf : null,
    sharedMsOfLatest(lastSendPerf, lastReplyPerf),
  );

  function finish(
    sentCount: number,
    lastSendMs: number | null,
    measuredUntilEpochMs: number | null,
  ): void {
    clearInterval(flushTimer);
    flush();
    post({
      type: "done",
      workerId: job.workerId,
      histogram: encodeHistogram(corrected),
      histogramUncorrected: encodeHistogram(uncorrected),
      sent: sentCount,
      unsent: job.counts.reduce((a, b) => a + b, 0) - sentCount,
      lastSendMs,
      measuredUntilEpochMs,
      udp: null,
      sendLateness: encodeHistogram(sendLateness),
    });
  }
}

/** Connects and runs the closed-loop warm-up; a failure is recorded as a sample. */
async function prepare(
  job: OpenLoopJob,
  id: number,
  count: number,
  record: (sample: OpenLoopSample) => void,
  usSinceRunStart: (perfMs: number) => number,
): Promise<Connection | undefined> {
  const startPerf = performance.now();
  const failed = (error: unknown) => {
    record({
      connection: id,
      seq: 0,
      startUs: usSinceRunStart(startPerf),
      intendedUs: NaN,
      rttUs: NaN,
      rttUncorrectedUs: NaN,
      bytes: 0,
      error: errorCode(classifyError(error)),
    });
    return undefined;
  };
  let conn: ByteStream;
  try {
    conn = job.engine === "deno"
      ? await connectTcp(job.host, job.port, job.timeoutMs)
      : await connectFfiStream(job.host, job.port, job.timeoutMs, () => lifecycle.stopping);
  } catch (error) {
    return failed(error);
  }
  const c = new Connection(id, conn, count, job.sizeBytes);
  liveConnections.add(c);
  const message = new Uint8Array(job.sizeBytes);
  const echo = new Uint8Array(job.sizeBytes);
  // One time limit for the whole warm-up: closing makes the pending read fail.
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    c.close();
  }, job.timeoutMs * Math.max(1, job.warmup));
  try {
    for (let i = 0; i < job.warmup && !lifecycle.stopping; i++) {
      message.set(c.bodies[i % BODY_POOL]);
      writeFrameHeader(message, { connection: id, seq: i, intendedUs: -1 });
      await writeAll(conn, message);
      await readExactly(conn, echo);
      if (job.verify && !sameBytesFrom(message, echo, 0)) {
        throw new MismatchError("warm-up echo differs from the message sent");
      }
    }
  } catch (error) {
    c.close();
    if (lifecycle.stopping) return undefined;
    return failed(timedOut ? new TimeoutError(`no echo within ${job.timeoutMs} ms`) : error);
  } finally {
    clearTimeout(timer);
  }
  return c;
}

/**
 * Fails connections whose oldest message in flight has waited longer than
 * the time limit; checked ten times per limit, so a timeout fires between
 * 1 and 1.1 times `timeoutMs` after that message left.
 */
function watchdog(
  job: OpenLoopJob,
  connections: Connection[],
  fail: (c: Connection, error: unknown) => void,
): () => void {
  const timer = setInterval(() => {
    const now = performance.now();
    for (const c of connections) {
      if (c.failed || c.nextReply >= c.nextSend) continue;
      const oldest = c.sentAt[c.nextReply % MAX_IN_FLIGHT];
      if (now - oldest > job.timeoutMs) {
        fail(c, new TimeoutError(`no echo within ${job.timeoutMs} ms`));
      }
    }
  }, Math.max(1, job.timeoutMs / 10));
  return () => clearInterval(timer);
}
