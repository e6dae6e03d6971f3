/**
 * The UDP latency Worker: each of its sockets sends one datagram per
 * appointment of the open-loop schedule to a UDP echo and matches echoes to
 * datagrams by the sequence number in their header (see
 * `lib/latency/frame.ts`), so loss, duplicates and reordering are seen
 * rather than waited on. Every datagram becomes a sample: an echo in time
 * (corrected and uncorrected RTT, as in the TCP open loop) or, once
 * `timeoutMs` has passed without one, a loss (error `timeout`).
 *
 * Started by `lib/latency/open_loop_run.ts` from its module URL, so
 * `deno compile --include lib/udp/latency_worker.ts` can embed it. Needs
 * Deno's datagram API (`--unstable-net`, or `"unstable": ["net"]` in
 * deno.json).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { perfOfSharedMs, sharedMsOfLatest } from "../run_info.ts";
import { untilArrivalsStamped } from "../engine/stamping_probe.ts";
import { createHistogram, encodeHistogram, recordUs } from "../histogram.ts";
import { FRAME_HEADER_BYTES, readFrameHeader, writeFrameHeader } from "../latency/frame.ts";
import { tailComparisonFor } from "../latency/echo_compare.ts";
import { type OpenLoopSample, OpenLoopSampleBuffer } from "../latency/open_loop_samples.ts";
import { intendedOffsetMs, lastDueSeq, type SendSchedule } from "../latency/schedule.ts";
import { classifyError, TimeoutError } from "../net_io.ts";
import { waitUntil } from "../pacer.ts";
import {
  type DatagramSocket,
  denoDatagram,
  ffiDatagram,
  type PolledDatagramSocket,
} from "../engine/datagram.ts";
import {
  errorCode,
  type FromOpenLoopWorker,
  type OpenLoopJob,
  type ToOpenLoopWorker,
  type UdpSocketCounts,
} from "../worker_protocol.ts";
import { answerLifecycle } from "../worker_lifecycle.ts";
import { batchSender } from "../column_buffer.ts";

import { keepScheduleFfi } from "./ffi_schedule.ts";
import { ReceptionTracker } from "./reception.ts";

type GoMessage = Extract<ToOpenLoopWorker, { type: "go" }>;

/** How often the end of a run looks for the last echoes: a millisecond is not worth a busy loop. */
const END_POLL_MS = 1;
/** Batches are flushed at least this often, so CSV rows and progress keep up. */
const FLUSH_EVERY_MS = 200;
/** Most sockets per Worker for which the pacer asks whether an echo is due (see the TCP worker). */
const MAX_IDLE_CHECKED = 16;
/** Distinct random bodies per socket. */
const BODY_POOL = 8;
/** Send times kept per socket at most (a power of two); older echoes count as late. */
const MAX_SEND_TIMES = 1 << 18;
/** Warm-up datagrams carry sequence numbers from here down, out of the measured range. */
const WARMUP_SEQ_BASE = 0xffff_ffff;

function post(message: FromOpenLoopWorker, transfer: ArrayBuffer[] = []): void {
  self.postMessage(message, transfer);
}

const liveSockets = new Set<DatagramSocket>();
const lifecycle = answerLifecycle<OpenLoopJob, GoMessage>(run, () => {
  for (const socket of liveSockets) closeQuietly(socket);
});

function closeQuietly(socket: DatagramSocket): void {
  liveSockets.delete(socket);
  try {
    socket.close();
  } catch { /* already closed */ }
}

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)));
  }
  return bytes;
}

/** One socket's schedule, send times and echoes. */
interface Sock {
  id: number;
  socket: DatagramSocket;
  count: number;
  nextSend: number;
  /** Datagrams below this one have been settled: echoed in time, or recorded as lost. */
  settled: number;
  sentAt: Float64Array;
  bodies: Uint8Array[];
  /** The next datagram, filled ahead of its time. */
  datagram: Uint8Array;
  tracker: ReceptionTracker;
  /** Datagrams whose echo did not match what was sent. */
  mismatches: number;
  /** Echoes timed by the kernel's receive timestamp. */
  kernelTimed: number;
}

async function run(job: OpenLoopJob): Promise<void> {
  const schedule: SendSchedule = {
    ratePerSec: job.ratePerSec,
    totalConnections: job.totalConnections,
  };
  const corrected = createHistogram();
  const uncorrected = createHistogram();
  // How late each datagram left after its appointment: part of an open-loop result's validity.
  const sendLateness = createHistogram();
  const samples = new OpenLoopSampleBuffer(job.workerId);
  const flush = batchSender(samples, (batch, transfer) => post({ type: "batch", batch }, transfer));
  const record = (sample: OpenLoopSample) => {
    if (samples.push(sample)) flush();
  };
  const flushTimer = setInterval(flush, FLUSH_EVERY_MS);
  const runStartPerf = perfOfSharedMs(job.runStartEpochMs);
  const usSinceRunStart = (perfMs: number) => (perfMs - runStartPerf) * 1000;

  // Phase 1: open the sockets and check, closed loop, that the echo answers.
  const opened = await Promise.all(job.connectionIds.map(async (id, i) => {
    const startPerf = performance.now();
    try {
      return await open(job, id, job.counts[i]);
    } catch (error) {
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
    }
  }));
  const socks = opened.filter((s): s is Sock => s !== undefined);
  // The kernel may not stamp arrivals yet when these were the host's first sockets to ask.
  if (job.kernelTimestamps && socks.length > 0) await untilArrivalsStamped();
  post({ type: "ready", workerId: job.workerId, liveConnections: socks.length });
  const startEpochMs = (await lifecycle.go)?.startEpochMs ?? null;
  let sent = 0;
  let lastSendPerf = -Infinity;
  let lastEchoPerf = -Infinity;
  if (startEpochMs !== null) {
    const startPerf = perfOfSharedMs(startEpochMs);
    const startUs = usSinceRunStart(startPerf);
    const intendedUsOf = (s: Sock, seq: number) =>
      startUs + intendedOffsetMs(schedule, s.id, seq) * 1000;
    const sameTail = tailComparisonFor(job.engine);

    /** Records the datagrams whose time is up and that have no echo as lost. */
    const settle = (s: Sock, nowPerf: number, all: boolean) => {
      while (s.settled < s.nextSend) {
        const seq = s.settled;
        const sentAt = s.sentAt[seq % s.sentAt.length];
        if (!s.tracker.echoedInTime(seq)) {
          if (!all && nowPerf - sentAt <= job.timeoutMs) break;
          record({
            connection: s.id,
            seq,
            startUs: usSinceRunStart(sentAt),
            intendedUs: intendedUsOf(s, seq),
            rttUs: NaN,
            rttUncorrectedUs: NaN,
            bytes: 0,
            error: errorCode("timeout"),
          });
        }
        s.settled++;
      }
    };

    /** One datagram read from `s`: an echo is checked, timed and recorded; anything else is skipped. */
    const onDatagram = (s: Sock, data: Uint8Array, readPerf: number, stampPerf?: number) => {
      if (data.length < FRAME_HEADER_BYTES) return;
      const header = readFrameHeader(data);
      if (header.connection !== s.id || header.seq >= s.nextSend) return;
      const seq = header.seq;
      if (seq + s.sentAt.length <= s.nextSend) {
        // Its send time was overwritten long ago: far past any time limit.
        s.tracker.onEcho(seq, 0, 0, true);
        return;
      }
      const sentAt = s.sentAt[seq % s.sentAt.length];
      const intendedUs = intendedUsOf(s, seq);
      if (
        job.verify &&
        (data.length !== job.sizeBytes || header.intendedUs !== intendedUs ||
          !sameTail(data, s.bodies[seq % BODY_POOL], FRAME_HEADER_BYTES))
      ) {
        s.mismatches++;
        return;
      }
      // When the reply reached this host: the kernel's stamp when asked for (and not before
      // the send: a wall-clock step can move a stamp), else when it was read.
      const kernelTimed = stampPerf !== undefined && stampPerf >= sentAt;
      const now = kernelTimed ? stampPerf : readPerf;
      const late = now - sentAt > job.timeoutMs;
      const verdict = s.tracker.onEcho(seq, sentAt * 1000, now * 1000, late);
      if (verdict !== "echo") return;
      if (kernelTimed) s.kernelTimed++;
      lastEchoPerf = Math.max(lastEchoPerf, now);
      const rttUs = (now - (startPerf + intendedOffsetMs(schedule, s.id, seq))) * 1000;
      const rttUncorrectedUs = (now - sentAt) * 1000;
      recordUs(corrected, rttUs);
      recordUs(uncorrected, rttUncorrectedUs);
      record({
        connection: s.id,
        seq,
        startUs: usSinceRunStart(sentAt),
        intendedUs,
        rttUs,
        rttUncorrectedUs,
        bytes: data.length,
        error: 0,
      });
    };

    const pastCutoff = (nowPerf: number) => nowPerf - startPerf > job.sendCutoffMs;
    /** Fills `s`'s datagram for `seq` ahead of its time, so no copy waits between wake-up and send. */
    const prepare = (s: Sock, seq: number) => {
      s.datagram.set(s.bodies[seq % BODY_POOL]);
      writeFrameHeader(s.datagram, { connection: s.id, seq, intendedUs: intendedUsOf(s, seq) });
    };
    /** Sends `s`'s prepared datagram, `seq`, now; a promise when the engine's send is one. */
    const send = (s: Sock, seq: number): void | Promise<unknown> => {
      const sentPerf = performance.now();
      s.sentAt[seq % s.sentAt.length] = sentPerf;
      recordUs(sendLateness, (sentPerf - startPerf - intendedOffsetMs(schedule, s.id, seq)) * 1000);
      s.nextSend++;
      sent++;
      lastSendPerf = Math.max(lastSendPerf, sentPerf);
      try {
        // A datagram the kernel refused is lost like any other; keep the schedule.
        return s.socket.send(s.datagram)?.catch(() => {});
      } catch { /* as above */ }
    };
    /** Whether every datagram sent is settled (echoed, or recorded as lost), settling what is due. */
    const allSettled = () => {
      const now = performance.now();
      for (const s of socks) settle(s, now, false);
      return socks.every((s) => s.settled === s.nextSend);
    };

    // Phase 2: the schedule, then the wait for the last echoes (settled as they come, not only
    // by the sweep: with every echo in, the run ends then, not up to a sweep period later).
    const sweep = setInterval(() => {
      const now = performance.now();
      for (const s of socks) settle(s, now, false);
    }, Math.max(5, Math.min(100, job.timeoutMs / 10)));
    if (job.engine === "ffi") {
      await keepScheduleFfi(socks.map((s) => s.socket as PolledDatagramSocket), {
        nextDue: () => {
          let index = -1;
          let duePerf = Infinity;
          for (let i = 0; i < socks.length; i++) {
            const s = socks[i];
            if (s.nextSend >= s.count) continue;
            const perf = startPerf + intendedOffsetMs(schedule, s.id, s.nextSend);
            if (perf < duePerf) [index, duePerf] = [i, perf];
          }
          if (index < 0) return undefined;
          prepare(socks[index], socks[index].nextSend);
          return { index, duePerf };
        },
        sendDue: (i, nowPerf) => {
          if (pastCutoff(nowPerf)) return false;
          send(socks[i], socks[i].nextSend);
          return true;
        },
        onDatagram: (i, data, readPerf, stampPerf) =>
          onDatagram(socks[i], data, readPerf, stampPerf),
        allSettled,
        stopping: () => lifecycle.stopping,
      }, job.sizeBytes);
    } else {
      const receivers = socks.map((s) => receiveLoop(s, job.sizeBytes, onDatagram));
      /** Every socket's latest datagram is echoed: no echo is due now, the pacer may block. */
      const idle = socks.length <= MAX_IDLE_CHECKED
        ? () => socks.every((s) => s.nextSend === 0 || s.tracker.echoedInTime(s.nextSend - 1))
        : undefined;
      // Turns the event loop while an echo is due (see lib/pacer.ts).
      const sendLoop = async (s: Sock) => {
        while (!lifecycle.stopping && s.nextSend < s.count) {
          const first = s.nextSend;
          prepare(s, first);
          await waitUntil(
            startPerf + intendedOffsetMs(schedule, s.id, first),
            () => lifecycle.stopping,
            idle,
          );
          if (lifecycle.stopping) break;
          const now = performance.now();
          if (pastCutoff(now)) break;
          // Behind the schedule, everything due by now leaves at once.
          const due = Math.min(lastDueSeq(schedule, s.id, now - startPerf), s.count - 1);
          while (s.nextSend <= due && !lifecycle.stopping) {
            if (s.nextSend !== first) prepare(s, s.nextSend);
            const pending = send(s, s.nextSend);
            if (pending) await pending;
          }
        }
      };
      await Promise.all(socks.map((s) => sendLoop(s)));
      while (!lifecycle.stopping && !allSettled()) {
        await new Promise<void>((resolve) => setTimeout(resolve, END_POLL_MS));
      }
      for (const s of socks) closeQuietly(s.socket);
      await Promise.all(receivers);
    }
    clearInterval(sweep);
    if (!lifecycle.stopping) { for (const s of socks) settle(s, performance.now(), true); }
    for (const s of socks) closeQuietly(s.socket);
  } else {
    for (const s of socks) closeQuietly(s.socket);
  }
  clearInterval(flushTimer);
  flush();
  const counts: UdpSocketCounts[] = socks.map((s) => {
    // Stopped early: datagrams still out were neither echoed nor lost; leave them out.
    let unsettled = 0;
    for (let seq = s.settled; seq < s.nextSend; seq++) {
      if (!s.tracker.echoedInTime(seq)) unsettled++;
    }
    return {
      ...s.tracker.counts(s.id, s.nextSend - (lifecycle.stopping ? unsettled : 0)),
      mismatched: s.mismatches,
      ...(job.kernelTimestamps ? { kernelTimed: s.kernelTimed } : {}),
    };
  });
  post({
    type: "done",
    workerId: job.workerId,
    histogram: encodeHistogram(corrected),
    histogramUncorrected: encodeHistogram(uncorrected),
    sendLateness: encodeHistogram(sendLateness),
    sent,
    unsent: job.counts.reduce((a, b) => a + b, 0) - sent,
    lastSendMs: Number.isFinite(lastSendPerf) ? lastSendPerf - perfOfSharedMs(startEpochMs!) : null,
    // Waiting out the time limit of lost datagrams measures nothing.
    measuredUntilEpochMs: sharedMsOfLatest(lastSendPerf, lastEchoPerf),
    udp: counts,
  });
}

/**
 * The default engine's receive loop for one socket: hands each datagram to
 * `onDatagram` with the time it was read, until the socket is closed.
 */
async function receiveLoop(
  s: Sock,
  sizeBytes: number,
  onDatagram: (s: Sock, data: Uint8Array, readPerf: number) => void,
): Promise<void> {
  const buffer = new Uint8Array(sizeBytes + 1);
  while (!lifecycle.stopping) {
    let data: Uint8Array;
    try {
      data = await s.socket.receive(buffer);
    } catch {
      // Closed at the end or on stop; a stray ICMP error must not end the run.
      if (lifecycle.stopping || !liveSockets.has(s.socket)) return;
      continue;
    }
    onDatagram(s, data, performance.now());
  }
}

/**
 * Opens a socket and runs the warm-up: `warmup` datagrams, one at a time,
 * each of which must be echoed within `timeoutMs`. With no warm-up nothing
 * is checked, and an absent server shows as 100% loss.
 */
async function open(
  job: OpenLoopJob,
  id: number,
  count: number,
): Promise<Sock> {
  const socket = job.engine !== "ffi"
    ? denoDatagram(job.host, job.port)
    : ffiDatagram(job.host, job.port, { kernelTimestamps: job.kernelTimestamps });
  liveSockets.add(socket);
  const s: Sock = {
    id,
    socket,
    count,
    nextSend: 0,
    settled: 0,
    // A ring of send times: as long as the run when it is short, else MAX_SEND_TIMES.
    sentAt: new Float64Array(Math.min(MAX_SEND_TIMES, Math.max(1, count))),
    bodies: Array.from({ length: BODY_POOL }, () => randomBytes(job.sizeBytes)),
    tracker: new ReceptionTracker(count),
    datagram: new Uint8Array(job.sizeBytes),
    mismatches: 0,
    kernelTimed: 0,
  };
  const datagram = s.datagram;
  const buffer = new Uint8Array(job.sizeBytes + 1);
  try {
    for (let i = 0; i < job.warmup && !lifecycle.stopping; i++) {
      datagram.set(s.bodies[i % BODY_POOL]);
      writeFrameHeader(datagram, { connection: id, seq: WARMUP_SEQ_BASE - i, intendedUs: -1 });
      await socket.send(datagram);
      const timer = setTimeout(() => closeQuietly(socket), job.timeoutMs);
      try {
        // Skip echoes of earlier warm-up datagrams that came back late.
        while (true) {
          const data = await socket.receive(buffer);
          if (
            data.length >= FRAME_HEADER_BYTES && readFrameHeader(data).seq === WARMUP_SEQ_BASE - i
          ) {
            break;
          }
        }
      } catch (error) {
        if (!liveSockets.has(socket)) throw new TimeoutError(`no echo within ${job.timeoutMs} ms`);
        throw error;
      } finally {
        clearTimeout(timer);
      }
    }
  } catch (error) {
    closeQuietly(socket);
    throw error;
  }
  return s;
}
