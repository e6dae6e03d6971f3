/**
 * `netspeed throughput --udp`: iperf3's UDP mode against a UDP echo.
 * Datagrams of `--length` bytes leave at the times the open-loop schedule
 * sets for the asked bitrate (spread over `--streams` sockets), carry a
 * sequence number (see `lib/latency/frame.ts`), and come back through the
 * echo; bytes are counted per interval as they leave and as they return,
 * and the echoes give loss, duplicates, reordering, jitter and round trips.
 *
 * Runs on the main thread: a UDP send is one system call, and a few
 * thousand a second leave it mostly idle.
 *
 * @module
 */
import { attachClock, clockCheckFor } from "../clock/clock_check.ts";
import { printSavedFiles, printSummary, writeSummaryJson } from "../saved_files.ts";
import { startInstant } from "../worker_group.ts";
import process from "node:process";
import { CsvWriter } from "../csv_writer.ts";
import { exitCodeOf, type ExitCodeValue, RunError } from "../errors.ts";
import { createHistogram, recordUs } from "../histogram.ts";
import { FRAME_HEADER_BYTES, readFrameHeader, writeFrameHeader } from "../latency/frame.ts";
import {
  intendedOffsetMs,
  lastDueSeq,
  messagesInWindow,
  sendCutoffMs,
  type SendSchedule,
} from "../latency/schedule.ts";
import { waitUntil } from "../pacer.ts";
import { ProgressBar } from "../progress.ts";
import { newRunInfo, perfOfSharedMs, sharedClockMs } from "../run_info.ts";
import { onInterrupt } from "../signals.ts";
import { formatHostPort } from "../units.ts";
import { ReceptionTracker } from "./reception.ts";
import { datagramsPerSec, type UdpThroughputOptions } from "./throughput_options.ts";
import {
  formatUdpThroughputSummary,
  summarizeUdpThroughput,
  UDP_THROUGHPUT_CSV_HEADER,
  type UdpInterval,
  udpIntervalRow,
  type UdpThroughputSummary,
} from "./throughput_summary.ts";

interface Sock {
  id: number;
  socket: Deno.DatagramConn;
  count: number;
  nextSend: number;
  settled: number;
  sentAt: Float64Array;
  tracker: ReceptionTracker;
  closed: boolean;
}

/** Runs the test, prints the summary, writes the files; resolves with the exit code. */
export async function throughputUdp(options: UdpThroughputOptions): Promise<ExitCodeValue> {
  return (await runThroughputUdp(options)).exitCode;
}

/** Like {@linkcode throughputUdp}, also returning the summary. */
export async function runThroughputUdp(
  options: UdpThroughputOptions,
): Promise<{ summary: UdpThroughputSummary; exitCode: ExitCodeValue }> {
  // Before anything else loads the path, so the round trips are short.
  const clock = await clockCheckFor(options.host, options.timePort, options.timeoutMs);
  const run = newRunInfo();
  const target: Deno.NetAddr = { transport: "udp", hostname: options.host, port: options.port };
  const schedule: SendSchedule = {
    ratePerSec: datagramsPerSec(options),
    totalConnections: options.sockets,
  };
  const csv = options.csvPath
    ? await CsvWriter.create(options.csvPath, UDP_THROUGHPUT_CSV_HEADER)
    : undefined;
  const socks: Sock[] = [];
  let stopping = false;
  let interrupted = false;
  const removeSignalListeners = onInterrupt(() => {
    interrupted = true;
    stopping = true;
  });
  try {
    for (let id = 0; id < options.sockets; id++) {
      const count = messagesInWindow(schedule, id, options.durationMs);
      socks.push({
        id,
        socket: Deno.listenDatagram({
          hostname: options.host.includes(":") ? "::" : "0.0.0.0",
          port: 0,
          transport: "udp",
        }),
        count,
        nextSend: 0,
        settled: 0,
        sentAt: new Float64Array(Math.max(1, count)),
        tracker: new ReceptionTracker(count),
        closed: false,
      });
    }
    await probe(socks[0].socket, target, options);
  } catch (error) {
    for (const s of socks) closeQuietly(s);
    removeSignalListeners();
    csv?.close();
    throw new RunError(
      `No echo from the UDP echo at "${formatHostPort(options)}": ${(error as Error).message}`,
    );
  }

  const intervalCount = Math.max(1, Math.ceil(options.durationMs / options.intervalMs));
  const intervals: UdpInterval[] = Array.from({ length: intervalCount }, (_, index) => ({
    index,
    startMs: index * options.intervalMs,
    endMs: Math.min((index + 1) * options.intervalMs, options.durationMs),
    sentDatagrams: 0,
    sentBytes: 0,
    echoedDatagrams: 0,
    echoedBytes: 0,
  }));
  const intervalAt = (elapsedMs: number) =>
    Math.max(0, Math.min(intervalCount - 1, Math.floor(elapsedMs / options.intervalMs)));
  let written = 0;
  // The last interval also takes the echoes that come back after the end (intervalAt clamps), so
  // only the final write, after the last echo, closes it: written from the tick, an echo landing
  // later was in the summary but in no CSV row.
  const writeFinished = (elapsedMs: number, all: boolean, final = false) => {
    const closable = final ? intervalCount : intervalCount - 1;
    while (written < closable && (all || intervals[written].endMs <= elapsedMs)) {
      csv?.writeRows([udpIntervalRow(intervals[written])]);
      written++;
    }
  };

  const rtt = createHistogram();
  let sent = 0;
  let echoedBytes = 0;
  let lastSendPerf = -Infinity;
  const startEpochMs = startInstant(sharedClockMs(), 10, options.startAtEpochMs);
  const startPerf = perfOfSharedMs(startEpochMs);
  const cutoffMs = sendCutoffMs(options.durationMs);
  const cpuStart = process.cpuUsage();

  const receive = async (s: Sock) => {
    const buffer = new Uint8Array(options.lengthBytes + 1);
    while (true) {
      let data: Uint8Array;
      try {
        [data] = await s.socket.receive(buffer);
      } catch {
        // Closed at the end; anything else (a stray ICMP error) must not end the run.
        if (s.closed) return;
        continue;
      }
      const now = performance.now();
      if (data.length < FRAME_HEADER_BYTES) continue;
      const { connection, seq } = readFrameHeader(data);
      if (connection !== s.id || seq >= s.nextSend) continue;
      const sentAt = s.sentAt[seq];
      const verdict = s.tracker.onEcho(
        seq,
        sentAt * 1000,
        now * 1000,
        now - sentAt > options.timeoutMs,
      );
      if (verdict !== "echo") continue;
      recordUs(rtt, (now - sentAt) * 1000);
      echoedBytes += data.length;
      const interval = intervals[intervalAt(now - startPerf)];
      interval.echoedDatagrams++;
      interval.echoedBytes += data.length;
    }
  };

  const sendLoop = async (s: Sock) => {
    const datagram = crypto.getRandomValues(new Uint8Array(options.lengthBytes));
    while (!stopping && s.nextSend < s.count) {
      await waitUntil(startPerf + intendedOffsetMs(schedule, s.id, s.nextSend), () => stopping);
      const now = performance.now();
      const elapsedMs = now - startPerf;
      if (stopping || elapsedMs > cutoffMs) break;
      const due = Math.min(lastDueSeq(schedule, s.id, elapsedMs), s.count - 1);
      const interval = intervals[intervalAt(elapsedMs)];
      while (s.nextSend <= due && !stopping) {
        const seq = s.nextSend;
        writeFrameHeader(datagram, {
          connection: s.id,
          seq,
          intendedUs: intendedOffsetMs(schedule, s.id, seq) * 1000,
        });
        s.sentAt[seq] = performance.now();
        s.nextSend++;
        sent++;
        interval.sentDatagrams++;
        interval.sentBytes += options.lengthBytes;
        try {
          await s.socket.send(datagram, target);
        } catch { /* refused by the kernel: lost like any other */ }
      }
      lastSendPerf = Math.max(lastSendPerf, now);
    }
  };

  /** Settles datagrams whose echo came, or whose time is up. */
  const settle = (now: number, all: boolean) => {
    for (const s of socks) {
      while (s.settled < s.nextSend) {
        if (!s.tracker.echoedInTime(s.settled)) {
          if (!all && now - s.sentAt[s.settled] <= options.timeoutMs) break;
        }
        s.settled++;
      }
    }
  };

  const progress = options.progress === "auto" && ProgressBar.wanted()
    ? new ProgressBar(() => ({ done: sent, plannedMs: options.durationMs, unit: "datagrams" }))
      .start()
    : undefined;
  const tick = setInterval(() => {
    const now = performance.now();
    settle(now, false);
    writeFinished(now - startPerf, false);
  }, 50);
  const receivers = socks.map((s) => receive(s));
  await Promise.all(socks.map((s) => sendLoop(s)));
  // The last echoes: until every datagram is echoed or out of time.
  while (!stopping && socks.some((s) => s.settled < s.nextSend)) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  clearInterval(tick);
  settle(performance.now(), true);
  for (const s of socks) closeQuietly(s);
  await Promise.all(receivers);
  const cpu = process.cpuUsage(cpuStart);
  progress?.stop();
  removeSignalListeners();
  writeFinished(Infinity, !interrupted, true);
  csv?.close();

  const summary = summarizeUdpThroughput({
    options,
    run,
    interrupted,
    timing: {
      askedStartEpochMs: options.startAtEpochMs ?? null,
      startEpochMs,
      endEpochMs: sharedClockMs(),
    },
    sent,
    lastSendMs: Number.isFinite(lastSendPerf) ? lastSendPerf - startPerf : null,
    sockets: socks.map((s) => ({ ...s.tracker.counts(s.id, s.nextSend), mismatched: 0 })),
    echoedBytes,
    rtt,
    intervals: intervals.slice(0, interrupted ? written : intervalCount),
    cpu: {
      userSeconds: cpu.user / 1e6,
      systemSeconds: cpu.system / 1e6,
      cores: navigator.hardwareConcurrency,
    },
    csv: csv ? { path: csv.path, rows: csv.rowCount } : null,
  });
  attachClock(summary, clock);
  if (options.jsonPath) await writeSummaryJson(options.jsonPath, summary);
  printSummary(formatUdpThroughputSummary(summary), options.jsonPath);
  printSavedFiles(summary.csv, options.jsonPath);
  return { summary, exitCode: exitCodeOf(interrupted, false) };
}

/** One datagram, closed loop, so an absent echo fails at once instead of as 100% loss. */
async function probe(
  socket: Deno.DatagramConn,
  target: Deno.NetAddr,
  options: UdpThroughputOptions,
): Promise<void> {
  const datagram = new Uint8Array(Math.max(FRAME_HEADER_BYTES, options.lengthBytes));
  writeFrameHeader(datagram, { connection: 0xffff_ffff, seq: 0xffff_ffff, intendedUs: -1 });
  await socket.send(datagram, target);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), options.timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        while (true) {
          const [data] = await socket.receive();
          if (data.length >= FRAME_HEADER_BYTES && readFrameHeader(data).seq === 0xffff_ffff) {
            return;
          }
        }
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function closeQuietly(s: Sock): void {
  s.closed = true;
  try {
    s.socket.close();
  } catch { /* already closed */ }
}
